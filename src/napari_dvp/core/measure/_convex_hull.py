"""Convex-hull pixel area of every cell at once (for ``solidity``), pure numpy."""

from __future__ import annotations

import numpy as np


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
