"""Render any window of the synthetic slide: labels and five stained channels.

Every pixel is a pure function of its global coordinates and the spec, so a
tile is bit-for-bit the crop of the whole image. Steps for a window:

1. cells that can reach the window (:func:`._cells.cells_near`);
2. each cell's outline ``rho < 1`` (rotated ellipse, for macrophages with
   2nd/3rd harmonics) stamped over its bounding box; where outlines overlap,
   the cell with the smaller normalised distance ``rho`` wins (a weighted
   Voronoi partition, ties broken by cell id); keratinocytes are clipped to
   the epidermis, dermal cells to the dermis;
3. stains: nucleus (DAPI, nuclear pSTAT1, chromatin texture), cytoplasm
   (panCK, CD163, pSTAT1, granular texture) and membrane rings (CD8, CD163,
   panCK), plus collagen autofluorescence in the dermis, fluid in the
   blister and keratin in the stratum corneum;
4. Gaussian blur (the optics), uneven illumination (smooth slide-scale field
   and vignetting of each microscope field of view), camera offset, and
   Poisson-like plus Gaussian noise hashed per pixel.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage as ndi

from ._cells import CHANNELS, EPI, Cells, cells_near
from ._hash import hash2, normal16, quarters, stream_key
from ._layout import SampleSpec, layout_of

SIGMA_PSF = 1.2  #: optical blur, px (0.6 µm)
_BUCKETS = np.array([8.0, 12.0, 16.0, 20.0, 24.0, 28.0, 34.0])  #: stamping box half-sizes
_BATCH = 400  #: cells stamped at once
MARGIN = 6  #: >= the blur kernel radius int(4 * SIGMA_PSF + 0.5)
FOV = 1536  #: microscope field of view (px) whose vignetting repeats across the slide
OFFSET = 100.0  #: camera offset (ADU)
GAIN = 5.0  #: variance per ADU of signal (shot noise)
READ_NOISE = 18.0  #: ADU
_COLLAGEN = np.array([170.0, 200.0, 70.0, 150.0, 110.0], np.float32)
_FLUID = np.array([140.0, 260.0, 90.0, 330.0, 260.0], np.float32)
_KERATIN = np.array([450.0, 3000.0, 250.0, 500.0, 350.0], np.float32)


def _stamp(cells: Cells, wr0: int, wc0: int, wh: int, ww: int,
           curves: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Owner cell (local index, -1 none), rho and nucleus rho of every window pixel."""
    idx_l, key_l, rho_l, rhon_l, own_l = [], [], [], [], []
    # stamp cells in groups of similar size, each over a box just big enough for its outline
    reach = np.maximum(cells.a, cells.b) * (1.0 + cells.h2 + cells.h3)
    bucket = np.searchsorted(_BUCKETS, reach)
    if len(cells) and bucket.max() >= len(_BUCKETS):
        raise AssertionError("a cell outline is larger than the biggest stamping box")
    batches = [(g, part) for g in range(len(_BUCKETS))
               for part in np.array_split(np.flatnonzero(bucket == g),
                                          max(1, -(-np.count_nonzero(bucket == g) // _BATCH)))]
    for g, sel in batches:  # batches keep the temporaries small (~40 MB)
        if sel.size == 0:
            continue
        r = int(_BUCKETS[g]) + 1
        off = np.arange(-r, r + 1)
        cy, cx = cells.cy[sel], cells.cx[sel]
        py = np.rint(cy).astype(np.int64)[:, None] + off  # (n, B)
        px = np.rint(cx).astype(np.int64)[:, None] + off
        dy = (py - cy[:, None]).astype(np.float32)[:, :, None]
        dx = (px - cx[:, None]).astype(np.float32)[:, None, :]
        ct = np.cos(cells.theta[sel]).astype(np.float32)[:, None, None]
        st = np.sin(cells.theta[sel]).astype(np.float32)[:, None, None]
        u = dx * ct + dy * st
        v = dy * ct - dx * st

        def col(x: np.ndarray, s=sel) -> np.ndarray:
            return x[s].astype(np.float32)[:, None, None]

        ua, vb = u / col(cells.a), v / col(cells.b)
        rho = np.sqrt(ua * ua + vb * vb)
        inwin = ((py >= wr0) & (py < wr0 + wh))[:, :, None] & (
            (px >= wc0) & (px < wc0 + ww))[:, None, :]
        # the outline reaches at most rho = 1 + h2 + h3; the harmonics only where it may matter
        flat = np.flatnonzero((rho < 1.0 + col(cells.h2) + col(cells.h3)) & inwin)
        n_i, rest = np.divmod(flat, off.size * off.size)
        y_i, x_i = np.divmod(rest, off.size)
        rr = rho.ravel()[flat]
        h2, h3 = cells.h2[sel][n_i].astype(np.float32), cells.h3[sel][n_i].astype(np.float32)
        psi = np.arctan2(vb.ravel()[flat], ua.ravel()[flat])
        rr = rr / (1.0 + h2 * np.cos(2 * psi + cells.p2[sel][n_i].astype(np.float32))
                   + h3 * np.cos(3 * psi + cells.p3[sel][n_i].astype(np.float32)))
        keep = rr < 1.0
        n_i, y_i, x_i, rr, flat = n_i[keep], y_i[keep], x_i[keep], rr[keep], flat[keep]
        rows = py[n_i, y_i]
        cols = px[n_i, x_i] - wc0
        reg = cells.region[sel][n_i]
        clip = np.where(
            reg == EPI,
            (rows >= curves["surface"][cols]) & (rows < curves["junction"][cols]),
            rows >= curves["floor"][cols],
        )
        n_i, y_i, x_i, rows, cols = n_i[clip], y_i[clip], x_i[clip], rows[clip], cols[clip]
        rr = rr[clip]
        flat = flat[clip]
        nu, nv = u.ravel()[flat] - cells.nu[sel][n_i], v.ravel()[flat] - cells.nv[sel][n_i]
        nu /= cells.na[sel][n_i]
        nv /= cells.nb[sel][n_i]
        idx_l.append((rows - wr0) * ww + cols)
        key_l.append(((rr.astype(np.float64) * 2.0**31).astype(np.uint64) << np.uint64(32))
                     | cells.cell_id[sel][n_i].astype(np.uint64))
        rho_l.append(rr)
        rhon_l.append(np.sqrt(nu * nu + nv * nv).astype(np.float32))
        own_l.append(sel[n_i].astype(np.int32))
    owner = np.full(wh * ww, -1, np.int32)
    rho = np.ones(wh * ww, np.float32)
    rhon = np.full(wh * ww, 9.0, np.float32)
    if idx_l:
        idx, key = np.concatenate(idx_l), np.concatenate(key_l)
        best = np.full(wh * ww, np.iinfo(np.uint64).max, np.uint64)
        np.minimum.at(best, idx, key)
        win = best[idx] == key
        w_idx = idx[win]
        owner[w_idx] = np.concatenate(own_l)[win]
        rho[w_idx] = np.concatenate(rho_l)[win]
        rhon[w_idx] = np.concatenate(rhon_l)[win]
    return owner.reshape(wh, ww), rho.reshape(wh, ww), rhon.reshape(wh, ww)


def render_labels(spec: SampleSpec, row0: int, col0: int, height: int, width: int) -> np.ndarray:
    """Ground-truth cell ids (uint32, 0 = background) of one window of the slide."""
    cells = cells_near(spec, row0, col0, height, width)
    curves = layout_of(spec).curves(np.arange(col0, col0 + width, dtype=np.float64))
    owner, _, _ = _stamp(cells, row0, col0, height, width, curves)
    return _ids(cells, owner)


def _ids(cells: Cells, owner: np.ndarray) -> np.ndarray:
    lut = np.concatenate([cells.cell_id, np.zeros(1, np.uint32)])
    return lut[owner]  # owner -1 -> the trailing 0


@functools.lru_cache(maxsize=64)
def _waves(seed: int, stream: int, n: int, lam: tuple[float, float], angle: float | None,
           spread: float) -> np.ndarray:
    """``(4, n)`` wave parameters ky, kx, phase, amplitude for a smooth random field."""
    rng = np.random.default_rng([int(seed), 0xF1E1D, stream])
    k = 2 * np.pi / rng.uniform(lam[0], lam[1], n)
    ang = rng.uniform(0, np.pi, n) if angle is None else angle + spread * rng.normal(size=n)
    amp = rng.uniform(0.5, 1.0, n)
    amp /= np.sqrt((amp**2).sum() / 2)  # unit variance
    return np.stack([k * np.sin(ang), k * np.cos(ang), rng.uniform(0, 2 * np.pi, n), amp])


def _field(waves: np.ndarray, r0: int, c0: int, h: int, w: int, step: int) -> np.ndarray:
    """Smooth field (float32, ~N(0,1)) evaluated on a global lattice, bilinear in between."""
    i0, j0 = r0 // step, c0 // step
    i1, j1 = (r0 + h - 1) // step + 2, (c0 + w - 1) // step + 2
    ys = (np.arange(i0, i1) * step).astype(np.float64)
    xs = (np.arange(j0, j1) * step).astype(np.float64)
    ky, kx, ph, amp = (x[:, None, None] for x in waves)
    nodes = (amp * np.cos(ky * ys[None, :, None] + kx * xs[None, None, :] + ph)).sum(axis=0)
    r = np.arange(r0, r0 + h)
    ri, rf = r // step - i0, ((r % step) / step)[:, None]
    rows = nodes[ri] * (1.0 - rf) + nodes[ri + 1] * rf
    c = np.arange(c0, c0 + w)
    ci, cf = c // step - j0, (c % step) / step
    return (rows[:, ci] * (1.0 - cf) + rows[:, ci + 1] * cf).astype(np.float32)


def render_tile(spec: SampleSpec, row0: int, col0: int, height: int,
                width: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one window of the synthetic slide.

    Parameters
    ----------
    spec
        The sample (size, seed, layout).
    row0, col0
        Top-left pixel of the window in full-resolution coordinates.
    height, width
        Window size in pixels (the window may extend past the image; pixels
        outside the image are rendered as if the tissue went on).

    Returns
    -------
    image : numpy.ndarray
        ``(5, height, width)`` uint16, channels :data:`CHANNELS`.
    labels : numpy.ndarray
        ``(height, width)`` uint32 ground-truth cell ids, 0 = background.
    """
    m = MARGIN
    wr0, wc0, wh, ww = row0 - m, col0 - m, height + 2 * m, width + 2 * m
    cells = cells_near(spec, wr0, wc0, wh, ww)
    curves = layout_of(spec).curves(np.arange(wc0, wc0 + ww, dtype=np.float64))
    owner, rho, rhon = _stamp(cells, wr0, wc0, wh, ww, curves)
    labels = _ids(cells, owner[m:-m, m:-m])

    has = owner >= 0
    oo = np.where(has, owner, 0)
    in_nuc = has & (rhon < 1.0)
    tex = quarters(hash2(stream_key(spec.seed, 2), np.arange(wr0, wr0 + wh)[:, None],
                         np.arange(wc0, wc0 + ww)[None, :]))
    nprof = (0.65 + 0.7 * tex[0]) * (1.0 - 0.3 * rhon * rhon)
    cprof = (0.7 + 0.6 * tex[1]) * (0.85 + 0.15 * rho)
    ring = np.exp(-(((rho - 0.9) / 0.09) ** 2)).astype(np.float32)
    nprof = np.where(in_nuc, nprof, 0.0).astype(np.float32)
    cprof = np.where(has & ~in_nuc, cprof, 0.0).astype(np.float32)
    ring = np.where(has & ~in_nuc, ring, 0.0).astype(np.float32)
    img = np.empty((len(CHANNELS), wh, ww), np.float32)
    for ch in range(len(CHANNELS)):
        img[ch] = cells.nuc[:, ch][oo] * nprof if len(cells) else 0.0
        if len(cells):
            img[ch] += cells.cyt[:, ch][oo] * cprof
            img[ch] += cells.mem[:, ch][oo] * ring

    # tissue background: collagen in the dermis, fluid in the blister, keratin on top
    rows = np.arange(wr0, wr0 + wh, dtype=np.float64)[:, None]
    fib = _field(_waves(spec.seed, 1, 12, (14.0, 48.0), np.pi / 2, 0.45), wr0, wc0, wh, ww, 4)
    fib = np.maximum(fib, 0.0) ** 1.4
    dermis = (rows >= curves["floor"]) & ~has
    blister = (rows >= curves["junction"]) & (rows < curves["floor"])
    keratin = (rows >= curves["sc_top"]) & (rows < curves["surface"])
    haze = 0.8 + 0.15 * _field(_waves(spec.seed, 2, 6, (80.0, 300.0), None, 0.0),
                               wr0, wc0, wh, ww, 16)
    lamellae = 0.55 + 0.45 * np.abs(_field(_waves(spec.seed, 3, 4, (12.0, 30.0), np.pi / 2,
                                                  0.2), wr0, wc0, wh, ww, 4))
    for ch in range(len(CHANNELS)):
        img[ch] += np.where(dermis, _COLLAGEN[ch] * (0.25 + fib), 0.0)
        img[ch] += np.where(blister, _FLUID[ch] * haze, 0.0)
        img[ch] += np.where(keratin, _KERATIN[ch] * lamellae, 0.0)

    img = ndi.gaussian_filter(img, sigma=(0, SIGMA_PSF, SIGMA_PSF), truncate=4.0,
                              mode="nearest")[:, m:-m, m:-m]

    # optics and camera, on the crop only
    h, w = height, width
    big = max(spec.height, spec.width)
    illum = 1.0 + 0.08 * _field(_waves(spec.seed, 4, 5, (0.6 * big, 1.5 * big), None, 0.0),
                                row0, col0, h, w, 64)
    vy = ((np.arange(row0, row0 + h) % FOV) / FOV - 0.5) * 2.0
    vx = ((np.arange(col0, col0 + w) % FOV) / FOV - 0.5) * 2.0
    illum *= (1.0 - 0.05 * vy * vy)[:, None].astype(np.float32)
    illum *= (1.0 - 0.05 * vx * vx)[None, :].astype(np.float32)
    img *= illum
    img += OFFSET + 25.0 * _field(_waves(spec.seed, 5, 5, (0.3 * big, big), None, 0.0),
                                  row0, col0, h, w, 64)
    yy = np.arange(row0, row0 + h)[:, None]
    xx = np.arange(col0, col0 + w)[None, :]
    for ch in range(len(CHANNELS)):
        noise = normal16(hash2(stream_key(spec.seed, 10 + ch), yy, xx))
        img[ch] += np.sqrt(GAIN * np.maximum(img[ch], 0.0) + READ_NOISE**2) * noise
    image = np.clip(np.rint(img), 0, 65535).astype(np.uint16)
    return image, labels


def label_moments(spec: SampleSpec, row0: int, col0: int, height: int,
                  width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pixel count and row/column sums of every ground-truth cell inside one window.

    Returns
    -------
    cell_id, count, sum_row, sum_col : numpy.ndarray
        One entry per cell with at least one pixel in the window.
    """
    cells = cells_near(spec, row0, col0, height, width)
    curves = layout_of(spec).curves(np.arange(col0, col0 + width, dtype=np.float64))
    owner, _, _ = _stamp(cells, row0, col0, height, width, curves)
    n = len(cells) + 1
    flat = np.where(owner >= 0, owner, len(cells)).ravel()
    rows = np.repeat(np.arange(row0, row0 + height, dtype=np.float64), width)
    cols = np.tile(np.arange(col0, col0 + width, dtype=np.float64), height)
    count = np.bincount(flat, minlength=n)[:-1]
    srow = np.bincount(flat, weights=rows, minlength=n)[:-1]
    scol = np.bincount(flat, weights=cols, minlength=n)[:-1]
    hit = count > 0
    return cells.cell_id[hit], count[hit], srow[hit], scol[hit]
