"""Cut order within a well: nearest neighbour, then 2-opt.

The stage travels from shape to shape; a short path saves time and keeps the
focus. Distances are between shape centres (any consistent unit). The path is
open (it does not return to the start).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def path_length(points: np.ndarray, order: np.ndarray | None = None) -> float:
    """Total length of the open path visiting ``points`` in ``order``."""
    p = np.asarray(points, dtype=float)
    if order is not None:
        p = p[np.asarray(order)]
    if len(p) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())


def nearest_neighbour(points: np.ndarray, start: int = 0) -> np.ndarray:
    """Greedy nearest-neighbour tour (open), starting at ``start``.

    Uses a KD-tree with growing ``k`` so each step is a small vectorised query.
    """
    p = np.asarray(points, dtype=float)
    n = len(p)
    if n <= 2:
        return np.arange(n)
    tree = cKDTree(p)
    visited = np.zeros(n, dtype=bool)
    order = np.empty(n, dtype=np.int64)
    cur = int(start)
    for i in range(n):
        order[i] = cur
        visited[cur] = True
        if i == n - 1:
            break
        k = 8
        while True:
            kk = min(k, n)
            _, idx = tree.query(p[cur], k=kk)
            idx = np.atleast_1d(idx)
            free = idx[~visited[idx]]
            if free.size:
                cur = int(free[0])
                break
            if kk == n:  # pragma: no cover - cannot happen while unvisited points remain
                cur = int(np.flatnonzero(~visited)[0])
                break
            k *= 4
    return order


def two_opt(points: np.ndarray, order: np.ndarray, max_rounds: int = 50) -> np.ndarray:
    """Improve an open tour with 2-opt moves (segment reversals).

    Each round evaluates, for every first edge ``i``, the gain of all second
    edges ``j > i`` at once (vectorised over ``j``) and applies the best move.
    """
    p = np.asarray(points, dtype=float)
    tour = np.asarray(order, dtype=np.int64).copy()
    n = len(tour)
    if n < 4:
        return tour
    for _ in range(max_rounds):
        improved = False
        for i in range(n - 2):
            q = p[tour]
            a, b = q[i], q[i + 1]
            c = q[i + 2:n]
            # closing edge j -> j+1; for the last point j+1 does not exist (open path)
            d = np.vstack([q[i + 3:n], q[-1:]])  # placeholder for j == n-1
            d_ab = np.linalg.norm(a - b)
            d_cd = np.linalg.norm(c - d, axis=1)
            d_ac = np.linalg.norm(a - c, axis=1)
            d_bd = np.linalg.norm(b - d, axis=1)
            gain = d_ab + d_cd - d_ac - d_bd
            gain[-1] = d_ab - d_ac[-1]  # reversing the tail: edge (i, i+1) -> (i, n-1)
            k = int(np.argmax(gain))
            if gain[k] > 1e-9:
                j = i + 2 + k
                tour[i + 1:j + 1] = tour[i + 1:j + 1][::-1]
                improved = True
        if not improved:
            break
    return tour


def optimise_order(points: np.ndarray, two_opt_max_points: int = 1500) -> np.ndarray:
    """Nearest neighbour from the top-left-most shape, then 2-opt (for up to
    ``two_opt_max_points`` shapes; larger wells keep the nearest-neighbour tour).

    Returns
    -------
    numpy.ndarray
        The visiting order (indices into ``points``); never longer than the
        input order.
    """
    p = np.asarray(points, dtype=float)
    n = len(p)
    if n <= 2:
        return np.arange(n)
    start = int(np.argmin(p[:, 0] - p[:, 1]))  # LMD frame: small X, large Y = top-left
    order = nearest_neighbour(p, start)
    if n <= two_opt_max_points:
        order = two_opt(p, order)
    if path_length(p, order) > path_length(p):
        return np.arange(n)
    return order
