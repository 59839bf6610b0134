"""Per-block sums (area, moments, perimeter, intensities) accumulated by label value."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DvpInputError
from ._convex_hull import _convex_pixel_area
from ._medians import _medians
from ._perimeter import _perimeter_and_runs

#: Largest label value accepted (tables are indexed by label value).
MAX_LABEL = 200_000_000


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

