"""Perimeter (skimage's Benkrid & Crookes estimator) and horizontal runs of a block."""

from __future__ import annotations

from math import sqrt

import numpy as np

_PERIM_W = np.zeros(50, dtype=np.float64)
_PERIM_W[[5, 7, 15, 17, 25, 27]] = 1
_PERIM_W[[21, 33]] = sqrt(2)
_PERIM_W[[13, 23]] = (1 + sqrt(2)) / 2

# 8 neighbour offsets with the weight skimage's perimeter kernel gives them
_NEIGHBOURS = ((-1, 0, 2), (1, 0, 2), (0, -1, 2), (0, 1, 2),
               (-1, -1, 10), (-1, 1, 10), (1, -1, 10), (1, 1, 10))


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
