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


def nearest_neighbour(points: np.ndarray, start: int = 0, k: int = 10) -> np.ndarray:
    """Greedy nearest-neighbour tour (open), starting at ``start``.

    The ``k`` nearest neighbours of every point come from one vectorised
    KD-tree query; the tree is asked again only when all of them are visited.
    """
    p = np.asarray(points, dtype=float)
    n = len(p)
    if n <= 2:
        return np.arange(n)
    tree = cKDTree(p)
    kk = min(k + 1, n)
    knn = tree.query(p, k=kk)[1][:, 1:].tolist()
    visited = np.zeros(n, dtype=bool)
    order = np.empty(n, dtype=np.int64)
    cur = int(start)
    for i in range(n):
        order[i] = cur
        visited[cur] = True
        if i == n - 1:
            break
        nxt = next((c for c in knn[cur] if not visited[c]), -1)
        if nxt < 0:
            q = 4 * kk
            while nxt < 0:
                q = min(q, n)
                idx = np.atleast_1d(tree.query(p[cur], k=q)[1])
                free = idx[~visited[idx]]
                if free.size:
                    nxt = int(free[0])
                q *= 4
        cur = nxt
    return order


def two_opt(points: np.ndarray, order: np.ndarray, window: int = 40,
            max_rounds: int = 40) -> np.ndarray:
    """Improve an open tour with 2-opt moves (segment reversals) within a window.

    Each round computes the gain of every move ``(i, j)`` with
    ``i + 2 <= j < i + window`` at once (one ``(n, window)`` array), then applies
    the best non-overlapping improving moves. Rounds repeat until no move
    shortens the path.
    """
    p = np.asarray(points, dtype=float)
    tour = np.asarray(order, dtype=np.int64).copy()
    n = len(tour)
    if n < 4:
        return tour
    w = int(min(window, n))
    offs = np.arange(2, w)
    for _ in range(max_rounds):
        q = p[tour]
        i = np.arange(n - 2)[:, None]
        j = i + offs[None, :]
        valid = j < n
        j = np.minimum(j, n - 1)
        x, y = q[:, 0], q[:, 1]
        ii = i[:, 0]
        jn = np.minimum(j + 1, n - 1)
        ax, ay = x[ii][:, None], y[ii][:, None]
        bx, by = x[ii + 1][:, None], y[ii + 1][:, None]
        d_ab = np.hypot(ax - bx, ay - by)
        d_ac = np.hypot(ax - x[j], ay - y[j])
        tail = j == n - 1  # reversing the tail: only edge (i, i+1) changes
        gain = np.where(tail, d_ab - d_ac,
                        d_ab + np.hypot(x[j] - x[jn], y[j] - y[jn]) - d_ac
                        - np.hypot(bx - x[jn], by - y[jn]))
        gain = np.where(valid, gain, 0.0)
        best = gain.argmax(axis=1)
        g = gain[np.arange(n - 2), best]
        cand = np.flatnonzero(g > 1e-9)
        if cand.size == 0:
            break
        cand = cand[np.argsort(-g[cand], kind="stable")]
        busy = np.zeros(n + 1, dtype=bool)
        for ii in cand.tolist():
            jj = ii + 2 + int(best[ii])
            if busy[ii:jj + 2].any():
                continue
            busy[ii:jj + 2] = True
            tour[ii + 1:jj + 1] = tour[ii + 1:jj + 1][::-1]
    return tour


def optimise_order(points: np.ndarray, two_opt_max_points: int = 20_000) -> np.ndarray:
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
