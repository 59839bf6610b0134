"""Pyramid geometry and 2x downsampling shared by the writers.

Every level halves the previous one, rounding up: a level of ``n`` pixels
becomes ``ceil(n / 2)``. Images average each 2x2 block (edge pixels are
repeated for odd sizes); labels keep every second pixel (nearest neighbour,
so no new label values appear).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["downsample", "level_shapes", "n_levels_for"]


def n_levels_for(shape_yx: tuple[int, int], tile: int) -> int:
    """Number of pyramid levels: halve until the smaller side is at most ``tile``.

    Parameters
    ----------
    shape_yx
        Full-resolution ``(rows, cols)``.
    tile
        Tile size in pixels.

    Returns
    -------
    int
        At least 1 (the full-resolution level itself).
    """
    y, x = (int(s) for s in shape_yx)
    n = 1
    while min(y, x) > tile:
        y, x = math.ceil(y / 2), math.ceil(x / 2)
        n += 1
    return n


def level_shapes(shape_yx: tuple[int, int], n_levels: int) -> list[tuple[int, int]]:
    """``(rows, cols)`` of each level, level 0 first."""
    y, x = (int(s) for s in shape_yx)
    out = [(y, x)]
    for _ in range(n_levels - 1):
        y, x = math.ceil(y / 2), math.ceil(x / 2)
        out.append((y, x))
    return out


def downsample(block: np.ndarray, labels: bool = False) -> np.ndarray:
    """Halve the last two axes of ``block`` (rounding up).

    Parameters
    ----------
    block
        Array ``(..., Y, X)``.
    labels
        ``True``: nearest neighbour (every second pixel), dtype kept exactly.
        ``False``: mean of each 2x2 block; integers are rounded back to the
        input dtype.

    Returns
    -------
    numpy.ndarray
        ``(..., ceil(Y/2), ceil(X/2))`` with the dtype of ``block``.
    """
    block = np.asarray(block)
    if labels:
        return np.ascontiguousarray(block[..., ::2, ::2])
    y, x = block.shape[-2:]
    pad = [(0, 0)] * (block.ndim - 2) + [(0, y % 2), (0, x % 2)]
    if y % 2 or x % 2:
        block = np.pad(block, pad, mode="edge")
    lead = block.shape[:-2]
    yy, xx = block.shape[-2] // 2, block.shape[-1] // 2
    acc_dtype = np.float64 if block.dtype.itemsize >= 4 else np.float32
    acc = block.reshape(*lead, yy, 2, xx, 2).astype(acc_dtype).mean(axis=(-3, -1))
    if np.issubdtype(block.dtype, np.integer):
        info = np.iinfo(block.dtype)
        acc = np.clip(np.rint(acc), info.min, info.max)
    return acc.astype(block.dtype)
