"""The cells of the synthetic biopsy: a deterministic point process on a slot grid.

The image is divided into square slots of ``SLOT`` pixels. Slot ``(gi, gj)``
holds at most one cell, whose every property (jittered centre, class, size,
shape, stain intensities) is hashed from ``(seed, gi, gj)``. Its id is
``gi * n_slot_cols + gj + 1``, so ids do not depend on how the image is tiled.
Whether a slot holds a cell, and of which class, depends on where its centre
falls in the tissue (:mod:`._layout`): keratinocytes fill the epidermis; CD8 T
cells and CD163 macrophages crowd under the junction (and T cells enter the
epidermis) mostly in the lesional part; fibroblasts are sparse everywhere in
the dermis; the blister and the stratum corneum hold no cells.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ._hash import derive, hash2, normal16, stream_key, uniform
from ._layout import SampleSpec, layout_of

CHANNELS = ("DAPI", "panCK", "CD8", "CD163", "pSTAT1")
CLASSES = ("keratinocyte", "CD8 T cell", "macrophage", "fibroblast")
REGIONS = ("epidermis", "dermis", "blister")
KER, TC, MAC, FIB = 0, 1, 2, 3
EPI, DER, BLI = 0, 1, 2

SLOT = 20  #: slot size in pixels (10 µm)
JITTER = 0.3  #: centre jitter, +- fraction of a slot: centres are >= 8 px apart
JITTER_EPI = 0.18  #: the same in the epidermis
REACH = 34  #: no cell outline reaches farther than this from its centre (px)
_UM = 2.0  # pixels per micrometre


@dataclass
class Cells:
    """Struct of arrays, one entry per cell (all float64 unless noted)."""

    cell_id: np.ndarray  #: uint32
    cy: np.ndarray  #: centre row (px)
    cx: np.ndarray  #: centre column (px)
    cls: np.ndarray  #: int8 index into CLASSES
    region: np.ndarray  #: int8 index into REGIONS
    lesion: np.ndarray  #: 0..1, how lesional the column is
    a: np.ndarray  #: semi-axis along theta (px)
    b: np.ndarray  #: semi-axis across theta (px)
    theta: np.ndarray  #: orientation (rad)
    h2: np.ndarray  #: 2nd harmonic amplitude of the outline
    p2: np.ndarray
    h3: np.ndarray  #: 3rd harmonic amplitude of the outline
    p3: np.ndarray
    na: np.ndarray  #: nucleus semi-axis along theta (px)
    nb: np.ndarray
    nu: np.ndarray  #: nucleus offset along theta (px)
    nv: np.ndarray
    nuc: np.ndarray  #: (N, 5) float32 stain in the nucleus
    cyt: np.ndarray  #: (N, 5) float32 stain in the cytoplasm
    mem: np.ndarray  #: (N, 5) float32 extra stain at the membrane

    def take(self, index: np.ndarray) -> Cells:
        """The subset of cells at ``index`` (boolean mask or integer indices)."""
        return Cells(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def __len__(self) -> int:
        return len(self.cell_id)


def slot_grid(spec: SampleSpec) -> tuple[int, int]:
    """Number of slot rows and columns of ``spec``."""
    return -(-spec.height // SLOT), -(-spec.width // SLOT)


def cells_in_slots(spec: SampleSpec, gi0: int, gi1: int, gj0: int, gj1: int) -> Cells:
    """Every cell of the slots ``gi0 <= gi < gi1``, ``gj0 <= gj < gj1`` (clipped to the image)."""
    ngi, ngj = slot_grid(spec)
    gi = np.arange(max(gi0, 0), min(gi1, ngi), dtype=np.int64)
    gj = np.arange(max(gj0, 0), min(gj1, ngj), dtype=np.int64)
    gi, gj = (g.ravel() for g in np.meshgrid(gi, gj, indexing="ij"))
    h = hash2(stream_key(spec.seed, 1), gi, gj)

    def u(k: int) -> np.ndarray:
        return uniform(derive(h, k))

    # hexagonal packing (odd slot rows shifted by half a slot); less jitter in
    # the epidermis, whose keratinocytes tile the space like a honeycomb
    y0, x0 = (gi + 0.5) * SLOT, (gj + 0.5 + 0.5 * (gi % 2)) * SLOT
    c0 = layout_of(spec).curves(x0)
    epi0 = (y0 >= c0["surface"]) & (y0 < c0["junction"])
    jit = 2 * SLOT * np.where(epi0, JITTER_EPI, JITTER)
    cy = y0 + jit * (u(0) - 0.5)
    cx = x0 + jit * (u(1) - 0.5)
    inside = (cy <= spec.height - 1) & (cx <= spec.width - 1)
    keep = np.flatnonzero(inside)
    gi, gj, h, cy, cx = gi[keep], gj[keep], h[keep], cy[keep], cx[keep]

    c = layout_of(spec).curves(cx)
    t = c["lesion"]
    region = np.full(len(cy), -1, np.int8)
    region[(cy >= c["surface"]) & (cy < c["junction"])] = EPI
    region[(cy >= c["junction"]) & (cy < c["floor"])] = BLI
    region[cy >= c["floor"]] = DER

    # class by thinning: one uniform against cumulative class probabilities
    above_j = (c["junction"] - cy) / _UM  # µm above the junction
    below_s = (cy - c["surface"]) / _UM  # µm below the tissue surface
    depth = (cy - c["floor"]) / _UM  # µm below the dermis surface
    p = np.zeros((len(cy), 4))
    epi, der = region == EPI, region == DER
    near_j = np.exp(-np.clip(above_j, 0.0, None) / 15.0)
    near_f = np.clip(depth, 0.0, None)
    p[epi, TC] = (0.12 * t * near_j + 0.003)[epi]
    p[epi, KER] = (0.97 - 0.08 * t)[epi]
    p[der, TC] = ((0.03 + 0.32 * t) * np.exp(-near_f / 45.0) + 0.004)[der]
    p[der, MAC] = ((0.035 + 0.17 * t) * np.exp(-near_f / 70.0) + 0.008)[der]
    p[der, FIB] = 0.055
    order = np.array([TC, MAC, FIB, KER])  # rare classes first
    cum = np.cumsum(p[:, order], axis=1)
    pick = (u(2)[:, None] < cum).argmax(axis=1)
    has = (u(2) < cum[:, -1])
    sel = np.flatnonzero(has)
    cls = order[pick[sel]].astype(np.int8)
    gi, gj, h, cy, cx, t = gi[sel], gj[sel], h[sel], cy[sel], cx[sel], t[sel]
    region, above_j, below_s = region[sel], above_j[sel], below_s[sel]
    n = len(sel)

    def u2(k: int) -> np.ndarray:
        return uniform(derive(h, k))

    def lognorm(k: int, sigma: float) -> np.ndarray:
        return np.exp(sigma * normal16(derive(h, k)).astype(np.float64))

    a, b, theta = np.zeros(n), np.zeros(n), 2 * np.pi * u2(3)
    na, nb = np.zeros(n), np.zeros(n)
    h2, h3 = np.zeros(n), np.zeros(n)
    nuc, cyt, mem = (np.zeros((n, len(CHANNELS)), np.float32) for _ in range(3))
    s1, s2, s3, s4 = u2(4), u2(5), u2(6), u2(7)

    k = cls == KER
    basal = k & (above_j < 9.0)
    gran = k & ~basal & (below_s < 18.0)
    spin = k & ~basal & ~gran
    a[spin] = (8.0 * (0.9 + 0.2 * s1))[spin]
    b[spin] = (a * (0.85 + 0.15 * s2))[spin]
    na[spin] = (3.4 * (0.9 + 0.2 * s3))[spin]
    nb[spin] = (na * (0.8 + 0.2 * s4))[spin]
    a[basal], b[basal] = (8.0 * (0.92 + 0.16 * s1))[basal], (5.2 * (0.9 + 0.2 * s2))[basal]
    na[basal], nb[basal] = (3.9 * (0.9 + 0.2 * s3))[basal], (2.6 * (0.9 + 0.2 * s4))[basal]
    theta[basal] = (np.pi / 2 + 0.5 * (u2(3) - 0.5))[basal]
    a[gran], b[gran] = (9.5 * (0.92 + 0.16 * s1))[gran], (4.4 * (0.9 + 0.2 * s2))[gran]
    na[gran], nb[gran] = (4.2 * (0.9 + 0.2 * s3))[gran], (1.9 * (0.9 + 0.2 * s4))[gran]
    theta[gran] = (0.4 * (u2(3) - 0.5))[gran]
    h2[k] = (0.04 + 0.06 * t * u2(12))[k]  # polygonal, more ragged when necrotic
    h3[k] = (0.03 + 0.06 * t * u2(13))[k]
    pyk = k & (u2(8) < 0.3 * t)  # necrotic keratinocytes: shrunken, dense nuclei
    na[pyk] *= 0.55
    nb[pyk] *= 0.6
    ps = 450.0 + 5200.0 * t**1.3 * lognorm(9, 0.3)  # pSTAT1 rises with the lesion
    nuc[k, 0] = (9000.0 * lognorm(10, 0.25) * np.where(pyk, 1.7, 1.0))[k]
    ck = 6000.0 * lognorm(11, 0.3) * np.where(basal, 0.75, 1.0) * np.where(pyk, 1.25, 1.0)
    cyt[k, 1] = ck[k]
    mem[k, 1] = 0.35 * ck[k]
    nuc[k, 1] = 0.15 * ck[k]
    nuc[k, 4] = ps[k]
    cyt[k, 4] = 0.4 * ps[k]

    tc = cls == TC
    a[tc] = (3.9 * (0.9 + 0.2 * s1))[tc]
    b[tc] = (a * (0.85 + 0.15 * s2))[tc]
    na[tc] = (3.0 * (0.9 + 0.15 * s3))[tc]
    nb[tc] = (na * (0.85 + 0.15 * s4))[tc]
    h2[tc] = 0.05 * u2(12)[tc]
    nuc[tc, 0] = (12000.0 * lognorm(10, 0.25))[tc]
    cd8 = 8500.0 * lognorm(11, 0.35)
    mem[tc, 2] = cd8[tc]
    cyt[tc, 2] = 0.18 * cd8[tc]
    pst = (2200.0 + 3000.0 * t) * lognorm(9, 0.3)
    nuc[tc, 4] = pst[tc]
    cyt[tc, 4] = 0.45 * pst[tc]

    mc = cls == MAC
    a[mc] = (8.3 * (0.85 + 0.3 * s1))[mc]
    b[mc] = (a * (0.65 + 0.25 * s2))[mc]
    na[mc] = (4.0 * (0.9 + 0.2 * s3))[mc]
    nb[mc] = (2.8 * (0.85 + 0.3 * s4))[mc]
    h2[mc] = (0.14 * u2(12))[mc]
    h3[mc] = (0.14 * u2(13))[mc]
    nuc[mc, 0] = (7500.0 * lognorm(10, 0.25))[mc]
    cd163 = 5200.0 * lognorm(11, 0.35)
    cyt[mc, 3] = cd163[mc]
    mem[mc, 3] = 0.3 * cd163[mc]
    pst = (1100.0 + 2600.0 * t) * lognorm(9, 0.3)
    nuc[mc, 4] = pst[mc]
    cyt[mc, 4] = 0.5 * pst[mc]

    fb = cls == FIB
    a[fb] = (11.0 * (0.8 + 0.4 * s1))[fb]
    b[fb] = (2.6 * (0.85 + 0.3 * s2))[fb]
    na[fb] = (5.3 * (0.85 + 0.3 * s3))[fb]
    nb[fb] = (1.6 * (0.85 + 0.3 * s4))[fb]
    theta[fb] = (0.7 * (u2(3) - 0.5))[fb]
    nuc[fb, 0] = (9500.0 * lognorm(10, 0.25))[fb]
    cyt[fb, :] = 160.0
    pst = (350.0 + 500.0 * t) * lognorm(9, 0.3)
    nuc[fb, 4] = pst[fb]

    off = np.where(mc, 1.4, 0.5) * _UM * u2(14)
    ang = 2 * np.pi * u2(15)
    return Cells(
        cell_id=(gi * ngj + gj + 1).astype(np.uint32),
        cy=cy,
        cx=cx,
        cls=cls,
        region=region,
        lesion=t,
        a=a * _UM,
        b=b * _UM,
        theta=theta,
        h2=h2,
        p2=2 * np.pi * u2(16),
        h3=h3,
        p3=2 * np.pi * u2(17),
        na=na * _UM,
        nb=nb * _UM,
        nu=off * np.cos(ang),
        nv=off * np.sin(ang),
        nuc=nuc,
        cyt=cyt,
        mem=mem,
    )


def cells_near(spec: SampleSpec, row0: int, col0: int, height: int, width: int) -> Cells:
    """Every cell whose outline may reach the window ``[row0, row0+height) x [col0, ...)``."""
    r = REACH + 2
    return cells_in_slots(
        spec,
        (row0 - r) // SLOT,
        (row0 + height + r) // SLOT + 1,
        (col0 - r) // SLOT - 1,
        (col0 + width + r) // SLOT + 1,
    )
