"""Per-cell measurements over all cells at once (no Python loop per cell).

:func:`measure_cells` turns a labels image (one integer per cell) and the
matching multi-channel image into the cell table (see :mod:`.cell_table`):

========================  =====================================================
``cell_id``               the label value
``centroid_row/col``      mean pixel position (full-resolution pixels)
``centroid_y/x_um``       the same in micrometres
``area_um2``              pixel count × pixel area
``mean_<ch>``             mean intensity of each channel
``median_<ch>``           median intensity of each channel
``eccentricity``          of the ellipse with the same second moments
``solidity``              area / area of the convex hull
``perimeter_um``          boundary length (scikit-image's estimator)
``touches_border``        the cell reaches the first/last row or column
========================  =====================================================

How each feature is computed
----------------------------
* **Area, centroid, mean, second moments**: ``np.bincount`` of the label
  values weighted by the row, column, row², column², row×column and each
  channel. The sums of every block of a big image are added, so these are
  exact for any image size. Eccentricity is ``sqrt(1 - l2 / l1)`` of the
  eigenvalues of the covariance matrix, as :func:`skimage.measure.regionprops`.
* **Median**: the pixels of a block are sorted once per channel by
  ``(label, value)`` (a single ``np.sort`` of packed 64-bit keys for integer
  images, ``np.lexsort`` otherwise); each label's median is read from the
  middle of its run. Identical to ``np.median`` per cell.
  On images processed in blocks (dask/zarr or numpy larger than
  ``block_size``) a cell lying in one block is finished there; the pixels of
  cells cut by a block edge are kept and their median is computed at the end,
  so the median stays **exact** (memory: only the cells along block seams).
* **Perimeter**: the estimator of :func:`skimage.measure.perimeter` (4-connected
  border pixels, each weighted 1, √2 or (1+√2)/2 by the configuration of its
  border neighbours, Benkrid & Crookes) evaluated for all cells at once with
  array shifts; other cells count as background. It equals regionprops'
  ``perimeter`` (floating point rounding aside).
* **Solidity**: area / convex area, the convex area being the number of pixel
  centres inside the convex hull of the pixels' edge midpoints (the definition
  of :func:`skimage.morphology.convex_hull_image`, so equal to regionprops'
  ``solidity``). Pure numpy for all cells at once: the hull's right and left
  sides are the concave majorant / convex minorant of each row's last / first
  column (pruned for all cells together until only hull vertices remain), the
  hull is widened by the half-pixel diamond analytically and the integer
  columns inside it are counted row by row (see :func:`_convex_pixel_area`).
* **Big label values**: the tables are indexed by label value, so labels
  above :data:`MAX_LABEL` are refused (relabel them 1..n first).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from math import sqrt

import numpy as np
import pandas as pd

from . import cell_table as ct
from .errors import DvpInputError

try:
    import dask.array as da
except ImportError:  # pragma: no cover
    da = None

__all__ = ["MEASURE_COLUMNS", "measure_cells", "measure_cells_in_box", "measure_cells_iter"]

#: Shape and position columns (the intensity columns depend on the channels).
MEASURE_COLUMNS = (
    ct.CELL_ID, ct.ROW, ct.COL, ct.Y_UM, ct.X_UM, ct.AREA_UM2,
    "eccentricity", "solidity", "perimeter_um", "touches_border",
)

#: Largest label value accepted (tables are indexed by label value).
MAX_LABEL = 200_000_000

#: Default block edge (pixels) for images processed block-wise.
BLOCK_SIZE = 1024

_PERIM_W = np.zeros(50, dtype=np.float64)
_PERIM_W[[5, 7, 15, 17, 25, 27]] = 1
_PERIM_W[[21, 33]] = sqrt(2)
_PERIM_W[[13, 23]] = (1 + sqrt(2)) / 2

# 8 neighbour offsets with the weight skimage's perimeter kernel gives them
_NEIGHBOURS = ((-1, 0, 2), (1, 0, 2), (0, -1, 2), (0, 1, 2),
               (-1, -1, 10), (-1, 1, 10), (1, -1, 10), (1, 1, 10))


# --------------------------------------------------------------------- inputs
def _check_inputs(labels, image, channel_names):
    if labels.ndim != 2:
        raise DvpInputError(
            f"labels must be a 2-D image (rows, columns), got shape {tuple(labels.shape)}; "
            "give one plane of cell ids"
        )
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise DvpInputError(
            f"labels must hold integer cell ids, got {labels.dtype}; "
            "use the labels image written by segmentation, not an intensity image"
        )
    if image is None:
        return None, []
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3:
        raise DvpInputError(
            f"image must be (channels, rows, columns), got shape {tuple(image.shape)}"
        )
    if tuple(image.shape[1:]) != tuple(labels.shape):
        raise DvpInputError(
            f"labels shape {tuple(labels.shape)} differs from image shape "
            f"{tuple(image.shape[1:])} (rows, columns); use the labels made from this image"
        )
    names = list(channel_names) if channel_names is not None else []
    if not names:
        names = [f"ch{i}" for i in range(image.shape[0])]
    if len(names) != image.shape[0]:
        raise DvpInputError(
            f"{len(names)} channel names for an image with {image.shape[0]} channels; "
            "give one name per channel"
        )
    if len(set(names)) != len(names):
        raise DvpInputError(f"channel names must be unique, got {names}")
    return image, [str(n) for n in names]


# ---------------------------------------------------------------- block stats
@dataclass
class _Acc:
    """Sums over blocks, indexed by label value (grown as labels appear)."""

    nch: int
    sums: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    nblocks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    median: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    border: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # cells cut by block edges: their pixels (labels, values) and runs (for the hull)
    cut_labels: list = field(default_factory=list)
    cut_values: list = field(default_factory=list)
    ncut: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    hull_runs: list = field(default_factory=list)
    hull_area: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def grow(self, n: int) -> None:
        old = self.nblocks.shape[0]
        if n <= old:
            return
        pad = n - old
        width = 7 + self.nch
        self.sums = (np.vstack([self.sums.reshape(old, -1), np.zeros((pad, width))])
                     if old else np.zeros((n, width)))
        self.nblocks = np.concatenate([self.nblocks, np.zeros(pad, np.int32)])
        self.ncut = np.concatenate([self.ncut, np.zeros(pad, np.int32)])
        self.border = np.concatenate([self.border, np.zeros(pad, bool)])
        self.hull_area = np.concatenate([self.hull_area, np.zeros(pad)])
        self.median = (np.vstack([self.median, np.full((pad, self.nch), np.nan)])
                       if old else np.full((n, self.nch), np.nan))


def _perimeter_and_runs(lab_pad: np.ndarray, m: int):
    """Perimeter contributions and horizontal run ends of the inner block.

    ``lab_pad`` is the block with a margin of ``m`` (>= 2) pixels (0 outside
    the image). A pixel is a *border* pixel when one of its 4 neighbours has
    another label; each border pixel gets the weight of skimage's perimeter
    kernel from the border neighbours of the same cell. Returns
    ``(inner, border_labels, border_weights, runs)``, the horizontal runs as
    ``(row, first col, last col, label)`` local to the inner block.
    """
    h, w = lab_pad.shape
    core1 = lab_pad[1:h - 1, 1:w - 1]
    border = np.zeros((h, w), bool)
    border[1:h - 1, 1:w - 1] = (core1 != 0) & (
        (lab_pad[0:h - 2, 1:w - 1] != core1) | (lab_pad[2:h, 1:w - 1] != core1)
        | (lab_pad[1:h - 1, 0:w - 2] != core1) | (lab_pad[1:h - 1, 2:w] != core1))
    inner = lab_pad[m:h - m, m:w - m]
    br, bc = np.nonzero(border[m:h - m, m:w - m])
    pidx = (br + m) * w + (bc + m)
    lf, bf = lab_pad.ravel(), border.ravel()
    me = lf[pidx]
    code = np.ones(pidx.size, np.uint8)
    for dr, dc, wk in _NEIGHBOURS:
        q = pidx + (dr * w + dc)
        code += ((lf[q] == me) & bf[q]).view(np.uint8) * np.uint8(wk)
    weight = _PERIM_W[code]
    starts = lf[pidx - 1] != me
    stops = lf[pidx + 1] != me
    # horizontal runs: in row-major order the k-th run start pairs with the k-th stop;
    # runs going on into the margin start/stop at the block's first/last column
    s_r, s_c, s_l = br[starts], bc[starts], me[starts]
    e_r, e_c = br[stops], bc[stops]
    bw = w - 2 * m
    first, before = inner[:, 0], lab_pad[m:h - m, m - 1]
    extra = np.flatnonzero((first != 0) & (before == first))
    if extra.size:
        s_r, s_c, s_l = _merge_rowmajor(bw, (s_r, s_c, s_l),
                                        (extra, np.zeros_like(extra), first[extra]))
    last, after = inner[:, -1], lab_pad[m:h - m, w - m]
    extra = np.flatnonzero((last != 0) & (after == last))
    if extra.size:
        e_r, e_c = _merge_rowmajor(bw, (e_r, e_c), (extra, np.full_like(extra, bw - 1)))
    return inner, me, weight, (s_r, s_c, e_c, s_l)


def _merge_rowmajor(bw: int, a: tuple, b: tuple) -> tuple:
    """Concatenate two ``(rows, cols, …)`` point lists and sort them in row-major order."""
    cat = [np.concatenate([x, y.astype(x.dtype)]) for x, y in zip(a, b, strict=True)]
    order = np.argsort(cat[0] * bw + cat[1], kind="stable")
    return tuple(x[order] for x in cat)


def _medians(comp: np.ndarray, vals: np.ndarray, counts: np.ndarray, cache: dict
             ) -> tuple[np.ndarray, np.ndarray]:
    """Median and sum of ``vals`` per compact label ``comp`` (``counts`` pixels each).

    Integer values are packed with the label into one 32/64-bit key and sorted
    once; the sums come from the same sorted keys (``reduceat`` minus the
    label part, exact integers). Other values use ``np.lexsort``. ``cache``
    keeps the shifted labels between channels.
    """
    if np.issubdtype(vals.dtype, np.integer) and vals.size:
        if np.issubdtype(vals.dtype, np.unsignedinteger) and vals.dtype.itemsize <= 2:
            vmin, bits = 0, 8 * vals.dtype.itemsize
        else:
            vmin = int(vals.min())
            bits = max((int(vals.max()) - vmin).bit_length(), 1)
        need = int(counts.size).bit_length() + bits
        if need <= 63:
            kt = np.uint32 if need <= 32 else np.uint64
            if (bits, kt) not in cache:
                cache[bits, kt] = comp.astype(kt) << kt(bits)
            v = vals.astype(kt) if vmin == 0 else (vals.astype(np.int64) - vmin).astype(kt)
            key = cache[bits, kt] | v
            key.sort()
            lo, hi = _middles(counts)
            mask = kt((1 << bits) - 1)
            med = ((key[lo] & mask).astype(np.float64)
                   + (key[hi] & mask).astype(np.float64)) / 2 + vmin
            starts = lo - (counts - 1) // 2
            total = np.add.reduceat(key, starts, dtype=np.uint64) - (
                counts.astype(np.uint64) * (np.arange(counts.size, dtype=np.uint64)
                                            << np.uint64(bits)))
            return med, total.astype(np.float64) + vmin * counts
    order = np.lexsort((vals, comp))
    srt = vals[order]
    sums = np.add.reduceat(srt.astype(np.float64), np.cumsum(counts) - counts) if srt.size \
        else np.zeros(0)
    return _run_medians(srt, counts), sums


def _middles(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.cumsum(counts) - counts
    return starts + (counts - 1) // 2, starts + counts // 2


def _run_medians(sorted_vals: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each consecutive run of ``counts`` values (counts > 0)."""
    lo, hi = _middles(counts)
    return (sorted_vals[lo].astype(np.float64) + sorted_vals[hi].astype(np.float64)) / 2


def _upper_chain(cell: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Keep-mask of the vertices of each cell's concave majorant of ``x(y)``.

    Points are sorted by (cell, y) with one point per row. Points on or below
    the chord of their alive neighbours are removed, all at once, until none
    is (a vertex of the majorant is never on or below such a chord), so the
    loop only ever drops points that are not hull vertices.
    """
    alive = np.ones(x.size, bool)
    while True:
        idx = np.flatnonzero(alive)
        if idx.size < 3:
            return alive
        p, i, n = idx[:-2], idx[1:-1], idx[2:]
        inner = (cell[p] == cell[i]) & (cell[n] == cell[i])
        drop = inner & ((x[i] - x[p]) * (y[n] - y[p]) <= (x[n] - x[p]) * (y[i] - y[p]))
        if not drop.any():
            return alive
        alive[i[drop]] = False


def _convex_pixel_area(cell, row, a, b, n: int) -> np.ndarray:
    """Pixel area of each cell's convex hull, as regionprops counts it (pure numpy).

    Input: the horizontal runs of every cell (compact cell index, row, first and
    last column). regionprops takes the hull of the pixel "diamonds" (edge
    midpoints), i.e. ``P ⊕ D`` with ``P`` the hull of the pixel centres and
    ``D`` the diamond of radius 1/2, and counts the pixel centres inside or on
    it. ``P``'s right side ``R(y)`` is the concave majorant of each row's last
    column (its left side ``L`` the convex minorant of the first column): found
    for all cells at once by :func:`_upper_chain`. With vertices on integer rows,
    ``P ⊕ D`` spans ``[min(L(y) - 1/2, L(y ± 1/2)), max(R(y) + 1/2, R(y ± 1/2))]``
    at row ``y``; the integer columns in between are counted and summed per cell.
    """
    if cell.size == 0:
        return np.zeros(n)
    cell = cell.astype(np.int64)
    row = row.astype(np.int64)
    rmin = int(row.min())
    height = int(row.max()) - rmin + 1
    key, inv = np.unique(cell * height + (row - rmin), return_inverse=True)
    xl = np.full(key.size, np.iinfo(np.int64).max)
    xr = np.full(key.size, np.iinfo(np.int64).min)
    np.minimum.at(xl, inv, a.astype(np.int64))
    np.maximum.at(xr, inv, b.astype(np.int64))
    gc, gy = key // height, key % height
    keep_r = _upper_chain(gc, gy, xr)
    keep_l = _upper_chain(gc, gy, -xl)
    # dense grid of every row from each cell's first to last row
    first = np.flatnonzero(np.r_[True, gc[1:] != gc[:-1]])
    last = np.r_[first[1:] - 1, gc.size - 1]
    cells = gc[first]
    y0, y1 = gy[first], gy[last]
    span = y1 - y0 + 1
    off = np.cumsum(span) - span
    total = int(span.sum())
    dcell = np.repeat(np.arange(cells.size), span)
    dy = y0[dcell] + (np.arange(total) - off[dcell])
    ginv = np.repeat(np.arange(cells.size), last - first + 1)  # group of each point
    pos = off[ginv] + (gy - y0[ginv])  # dense position of each point

    def side(keep, xv):
        kp = np.full(total, -1)
        kp[pos[keep]] = pos[keep]
        prev = np.maximum.accumulate(kp)
        kn = np.full(total, total)
        kn[pos[keep]] = pos[keep]
        nxt = np.minimum.accumulate(kn[::-1])[::-1]
        val = np.zeros(total)
        val[pos[keep]] = xv[keep]
        yp, yn = dy[prev], dy[nxt]
        t = np.where(yn > yp, (dy - yp) / np.where(yn > yp, yn - yp, 1), 0.0)
        return val[prev] + t * (val[nxt] - val[prev])

    right = side(keep_r, xr.astype(np.float64))
    left = side(keep_l, xl.astype(np.float64))
    same_next = np.r_[dcell[1:] == dcell[:-1], False]
    same_prev = np.r_[False, dcell[1:] == dcell[:-1]]
    r_half_next = np.where(same_next, (right + np.r_[right[1:], 0]) / 2, -np.inf)
    r_half_prev = np.where(same_prev, (right + np.r_[0, right[:-1]]) / 2, -np.inf)
    l_half_next = np.where(same_next, (left + np.r_[left[1:], 0]) / 2, np.inf)
    l_half_prev = np.where(same_prev, (left + np.r_[0, left[:-1]]) / 2, np.inf)
    hi = np.maximum.reduce([right + 0.5, r_half_next, r_half_prev])
    lo = np.minimum.reduce([left - 0.5, l_half_next, l_half_prev])
    eps = 1e-9
    cnt = np.maximum(np.floor(hi + eps) - np.ceil(lo - eps) + 1, 0)
    out = np.zeros(n)
    out[cells] = np.bincount(dcell, cnt, cells.size)
    return out


def _block_stats(acc: _Acc, lab_pad, img_blk, m, r0, c0, shape, cut_edges):
    """Add the statistics of one block (inner part of ``lab_pad``) to ``acc``."""
    inner, b_lab, b_w, (run_r, run_a, run_b, run_lab) = _perimeter_and_runs(lab_pad, m)
    bh, bw = inner.shape
    if run_lab.size == 0:
        return
    top = int(run_lab.max())
    if np.issubdtype(run_lab.dtype, np.signedinteger) and int(run_lab.min()) < 0:
        raise DvpInputError("labels hold negative values; cell ids must be >= 0 (0 = background)")
    if top > MAX_LABEL:
        raise DvpInputError(
            f"label values go up to {top}; relabel the cells 1..n first "
            "(skimage.segmentation.relabel_sequential)"
        )
    acc.grow(top + 1)
    present_ids = np.unique(run_lab)
    k = present_ids.size
    compact = np.zeros(top + 1, np.int64)
    compact[present_ids] = np.arange(k)
    # area, centroid and second moments from the horizontal runs (closed forms
    # of sum c and sum c^2 over a run), in local coordinates
    rc = compact[run_lab]
    r = run_r.astype(np.float64)
    a = run_a.astype(np.float64)
    b = run_b.astype(np.float64)
    ln = b - a + 1
    sum_c = (a + b) * ln / 2
    sum_cc = (b * (b + 1) * (2 * b + 1) - (a - 1) * a * (2 * a - 1)) / 6
    s = np.empty((k, 7 + acc.nch))
    s[:, 0] = np.bincount(rc, ln, k)
    s[:, 1] = np.bincount(rc, r * ln, k)
    s[:, 2] = np.bincount(rc, sum_c, k)
    s[:, 3] = np.bincount(rc, r * r * ln, k)
    s[:, 4] = np.bincount(rc, sum_cc, k)
    s[:, 5] = np.bincount(rc, r * sum_c, k)
    s[:, 6] = np.bincount(compact[b_lab], b_w, k)
    counts = s[:, 0].astype(np.int64)
    # shift local sums to global coordinates
    n = counts.astype(np.float64)
    sr_, sc_ = s[:, 1].copy(), s[:, 2].copy()
    s[:, 3] += 2 * r0 * sr_ + r0 * r0 * n
    s[:, 4] += 2 * c0 * sc_ + c0 * c0 * n
    s[:, 5] += r0 * sc_ + c0 * sr_ + r0 * c0 * n
    s[:, 1] += r0 * n
    s[:, 2] += c0 * n
    # which cells are cut by an inner block edge (their median/hull finish later)
    edge_ids = []
    if cut_edges[0]:
        edge_ids.append(inner[0])
    if cut_edges[1]:
        edge_ids.append(inner[-1])
    if cut_edges[2]:
        edge_ids.append(inner[:, 0])
    if cut_edges[3]:
        edge_ids.append(inner[:, -1])
    cut = np.zeros(k, bool)
    if edge_ids:
        e = np.unique(np.concatenate(edge_ids))
        e = e[e != 0]
        cut = np.isin(present_ids, e)
    if img_blk is not None:
        rows, cols = np.nonzero(inner)
        fgi = rows * bw + cols
        lab = inner.ravel()[fgi]
        comp = compact[lab]
        cache: dict = {}
        sel = cut[comp] if cut.any() else None
        cut_vals = []
        for c in range(acc.nch):
            v = img_blk[c].ravel()[fgi]
            med, s[:, 7 + c] = _medians(comp, v, counts, cache)
            acc.median[present_ids[~cut], c] = med[~cut]
            if sel is not None:
                cut_vals.append(v[sel])
        del cache
        if sel is not None:
            acc.cut_labels.append(lab[sel])
            acc.cut_values.append(np.stack(cut_vals, axis=1))
            acc.ncut[present_ids[cut]] += 1
    acc.sums[present_ids] += s
    acc.nblocks[present_ids] += 1
    # border of the whole image
    H, W = shape
    bl = []
    if r0 == 0:
        bl.append(inner[0])
    if r0 + bh == H:
        bl.append(inner[-1])
    if c0 == 0:
        bl.append(inner[:, 0])
    if c0 + bw == W:
        bl.append(inner[:, -1])
    if bl:
        b = np.unique(np.concatenate(bl))
        acc.border[b[b != 0]] = True
    # convex area: cells wholly in this block now; the runs of the others are kept
    whole = ~cut[rc]
    acc.hull_area[present_ids[~cut]] = _convex_pixel_area(
        rc[whole], run_r[whole], run_a[whole], run_b[whole], k)[~cut]
    if cut.any():
        acc.hull_runs.append(np.column_stack([
            run_lab[~whole], run_r[~whole] + r0, run_a[~whole] + c0, run_b[~whole] + c0,
        ]).astype(np.int64))


def _finish_cut_cells(acc: _Acc, ids: np.ndarray) -> None:
    """Exact medians and hull areas of cells whose pixels span several blocks."""
    if acc.hull_runs:
        hr = np.concatenate(acc.hull_runs)
        uid, inv = np.unique(hr[:, 0], return_inverse=True)
        acc.hull_area[uid] = _convex_pixel_area(inv, hr[:, 1], hr[:, 2], hr[:, 3], uid.size)
    if acc.cut_labels:
        lab = np.concatenate(acc.cut_labels)
        vals = np.concatenate(acc.cut_values)
        uid, inv, counts = np.unique(lab, return_inverse=True, return_counts=True)
        cache: dict = {}
        for c in range(acc.nch):
            acc.median[uid, c] = _medians(inv, np.ascontiguousarray(vals[:, c]), counts, cache)[0]


def _blocks(shape, block_size, chunks=None):
    """Yield ``(r0, r1, c0, c1)`` blocks covering ``shape``."""
    if chunks is not None:  # dask: follow the labels' chunk grid, merged up to block_size
        def edges(ch):
            out, acc_, pos = [0], 0, 0
            for c in ch:
                pos += c
                acc_ += c
                if acc_ >= block_size:
                    out.append(pos)
                    acc_ = 0
            if out[-1] != pos:
                out.append(pos)
            return out
        re_, ce_ = edges(chunks[0]), edges(chunks[1])
    else:
        re_ = [*range(0, shape[0], block_size), shape[0]]
        ce_ = [*range(0, shape[1], block_size), shape[1]]
    for a, b in itertools.pairwise(re_):
        for c, d in itertools.pairwise(ce_):
            yield a, b, c, d


def _load(arr) -> np.ndarray:
    """A block as numpy (computes dask arrays)."""
    return np.asarray(arr.compute() if hasattr(arr, "compute") else arr)


def _read_padded(labels, r0, r1, c0, c1, m):
    H, W = labels.shape
    a, b = max(r0 - m, 0), min(r1 + m, H)
    c, d = max(c0 - m, 0), min(c1 + m, W)
    blk = _load(labels[a:b, c:d])
    if blk.dtype == bool:
        blk = blk.astype(np.uint8)
    out = np.zeros((r1 - r0 + 2 * m, c1 - c0 + 2 * m), dtype=blk.dtype)
    out[a - (r0 - m):a - (r0 - m) + blk.shape[0], c - (c0 - m):c - (c0 - m) + blk.shape[1]] = blk
    return out


# ------------------------------------------------------------------- public
def measure_cells_iter(
    labels,
    image=None,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = 1.0,
    *,
    border: bool = True,
    block_size: int = BLOCK_SIZE,
) -> Iterator[tuple[int, int]]:
    """Generator form of :func:`measure_cells`: yields ``(blocks done, total)``.

    Returns the cell table (``StopIteration.value``); see :func:`measure_cells`.
    """
    image, names = _check_inputs(labels, image, channel_names)
    px = float(pixel_size_um) if pixel_size_um else 1.0
    if px <= 0 or not np.isfinite(px):
        raise DvpInputError(f"pixel size must be a positive number of µm, got {pixel_size_um}")
    chunks = labels.chunks if (da is not None and isinstance(labels, da.Array)) else None
    shape = tuple(int(s) for s in labels.shape)
    blocks = list(_blocks(shape, block_size, chunks))
    acc = _Acc(nch=len(names))
    m = 2
    H, W = shape
    for i, (r0, r1, c0, c1) in enumerate(blocks):
        lab_pad = _read_padded(labels, r0, r1, c0, c1, m)
        img_blk = None
        if image is not None:
            img_blk = _load(image[:, r0:r1, c0:c1])
        cut_edges = (r0 > 0, r1 < H, c0 > 0, c1 < W)
        _block_stats(acc, lab_pad, img_blk, m, r0, c0, shape, cut_edges)
        yield i + 1, len(blocks)
    if acc.nblocks.size and ((acc.nblocks > 1) & (acc.ncut < acc.nblocks)).any():
        # a cell split into pieces that sit in different blocks without touching
        # a block edge: gather its pixels in a second, targeted pass (rare)
        _regather(acc, labels, image, blocks)
    _finish_cut_cells(acc, None)
    return _table(acc, names, px, border)


def _regather(acc: _Acc, labels, image, blocks) -> None:
    bad = np.flatnonzero((acc.nblocks > 1) & (acc.ncut < acc.nblocks))
    # drop the partial pieces of these cells and collect all their pixels/corners
    keep_l, keep_v, keep_runs = [], [], []
    for lab, val in zip(acc.cut_labels, acc.cut_values, strict=True):
        sel = ~np.isin(lab, bad)
        keep_l.append(lab[sel])
        keep_v.append(val[sel])
    for runs in acc.hull_runs:
        keep_runs.append(runs[~np.isin(runs[:, 0], bad)])
    for r0, r1, c0, c1 in blocks:
        blk = _load(labels[r0:r1, c0:c1])
        sel = np.isin(blk, bad)
        if not sel.any():
            continue
        rr, cc = np.nonzero(sel)
        lab = blk[rr, cc].astype(np.int64)
        if image is not None:
            ib = _load(image[:, r0:r1, c0:c1])
            keep_l.append(lab)
            keep_v.append(ib[:, rr, cc].T)
        keep_runs.append(np.column_stack([lab, rr + r0, cc + c0, cc + c0]).astype(np.int64))
    acc.cut_labels, acc.cut_values = keep_l, keep_v
    acc.hull_runs = keep_runs


def _table(acc: _Acc, names: list[str], px: float, border: bool) -> pd.DataFrame:
    ids = np.flatnonzero(acc.nblocks > 0) if acc.nblocks.size else np.zeros(0, np.int64)
    s = acc.sums[ids] if ids.size else np.zeros((0, 7 + len(names)))
    n = s[:, 0]
    mr, mc = s[:, 1] / np.maximum(n, 1), s[:, 2] / np.maximum(n, 1)
    vr = np.maximum(s[:, 3] / np.maximum(n, 1) - mr * mr, 0)
    vc = np.maximum(s[:, 4] / np.maximum(n, 1) - mc * mc, 0)
    cv = s[:, 5] / np.maximum(n, 1) - mr * mc
    half = (vr + vc) / 2
    rad = np.sqrt(((vr - vc) / 2) ** 2 + cv * cv)
    l1, l2 = half + rad, np.maximum(half - rad, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ecc = np.where(l1 > 0, np.sqrt(np.clip(1 - l2 / l1, 0, 1)), 0.0)
    hull = acc.hull_area[ids] if ids.size else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        solidity = np.where(hull > 0, np.minimum(n / hull, 1.0), 1.0)
    cols: dict[str, np.ndarray] = {
        ct.CELL_ID: ids.astype(np.int64),
        ct.ROW: mr,
        ct.COL: mc,
        ct.Y_UM: mr * px,
        ct.X_UM: mc * px,
        ct.AREA_UM2: n * px * px,
    }
    for c, name in enumerate(names):
        cols[ct.mean_column(name)] = s[:, 7 + c] / np.maximum(n, 1)
    for c, name in enumerate(names):
        cols[ct.median_column(name)] = acc.median[ids, c] if ids.size else np.zeros(0)
    cols["eccentricity"] = ecc
    cols["solidity"] = solidity
    cols["perimeter_um"] = s[:, 6] * px
    cols["touches_border"] = (acc.border[ids] if ids.size else np.zeros(0, bool)) if border \
        else np.zeros(ids.size, bool)
    return pd.DataFrame(cols)


def measure_cells(
    labels,
    image=None,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = 1.0,
    *,
    border: bool = True,
    block_size: int = BLOCK_SIZE,
) -> pd.DataFrame:
    """Measure every cell of ``labels`` (vectorised over all cells).

    Parameters
    ----------
    labels
        ``(Y, X)`` integer cell ids, 0 = background; numpy, dask or zarr.
    image
        ``(C, Y, X)`` (or ``(Y, X)``) intensities on the same grid, numpy or
        dask; ``None`` for shape features only.
    channel_names
        One name per channel (columns ``mean_<name>``/``median_<name>``);
        default ``ch0, ch1, …``.
    pixel_size_um
        Micrometres per pixel (``None`` = 1).
    border
        Compute ``touches_border`` (else all False).
    block_size
        Edge of the blocks an image is processed in; dask arrays follow their
        chunk grid (merged up to this size). Memory is bounded by one block.

    Returns
    -------
    pandas.DataFrame
        One row per label value present, sorted by ``cell_id``; columns as in
        the module docstring.

    Raises
    ------
    DvpInputError
        Non-integer labels, shape mismatch with the image, wrong channel names.
    """
    gen = measure_cells_iter(labels, image, channel_names, pixel_size_um,
                             border=border, block_size=block_size)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def measure_cells_in_box(
    labels: np.ndarray,
    image,
    channel_names: Sequence[str] | None,
    pixel_size_um: float | None,
    cell_ids: Sequence[int],
    box: tuple[int, int, int, int],
) -> pd.DataFrame:
    """Re-measure the cells ``cell_ids`` that lie inside ``box`` only.

    Used after an edit: reads ``labels``/``image`` within ``box`` = ``(r0, r1,
    c0, c1)`` grown by 2 pixels, so the cost is that of the edited cells.
    Cells listed but absent are omitted from the result.
    """
    H, W = labels.shape
    r0, r1, c0, c1 = box
    a, b, c, d = max(r0 - 2, 0), min(r1 + 2, H), max(c0 - 2, 0), min(c1 + 2, W)
    sub = np.asarray(labels[a:b, c:d])
    keep = np.isin(sub, np.asarray(cell_ids, dtype=sub.dtype))
    sub = np.where(keep, sub, 0)
    img = None if image is None else np.asarray(
        (image[None] if image.ndim == 2 else image)[:, a:b, c:d])
    tab = measure_cells(sub, img, channel_names, pixel_size_um, border=False,
                        block_size=max(sub.shape) + 1)
    pxs = float(pixel_size_um) if pixel_size_um else 1.0
    tab[ct.ROW] += a
    tab[ct.COL] += c
    tab[ct.Y_UM] = tab[ct.ROW] * pxs
    tab[ct.X_UM] = tab[ct.COL] * pxs
    edge = np.concatenate([
        np.asarray(labels[0, c:d]), np.asarray(labels[H - 1, c:d]),
        np.asarray(labels[a:b, 0]), np.asarray(labels[a:b, W - 1])])
    tab["touches_border"] = np.isin(tab[ct.CELL_ID].to_numpy(), edge[edge != 0])
    return tab
