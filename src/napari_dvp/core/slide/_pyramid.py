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
    a, b = block[..., 0::2, 0::2], block[..., 1::2, 0::2]
    c, d = block[..., 0::2, 1::2], block[..., 1::2, 1::2]
    if np.issubdtype(block.dtype, np.integer):
        wide = np.int64 if block.dtype.itemsize >= 4 else np.int32
        total = a.astype(wide)
        total += b
        total += c
        total += d
        total += 2  # round half up
        total //= 4
        return total.astype(block.dtype)
    acc_dtype = np.float64 if block.dtype == np.float64 else np.float32
    total = a.astype(acc_dtype)
    total += b
    total += c
    total += d
    total *= 0.25
    return total.astype(block.dtype)
