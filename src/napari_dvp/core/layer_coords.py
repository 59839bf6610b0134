"""Pixel <-> world coordinates of a napari layer's data, from its scale and translate (numpy only).

A layer shows its data at ``world = data * scale + translate`` (last two axes,
row and column). Widgets use these to move points between layers drawn on
different grids (calibration marks, split lines, camera centre).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def data_to_world(points, scale: Sequence[float], translate: Sequence[float]) -> np.ndarray:
    """``(…, 2)`` (row, col) data coordinates -> world coordinates."""
    return (np.asarray(points, dtype=float)[..., -2:] * np.asarray(scale[-2:])
            + np.asarray(translate[-2:]))


def world_to_data(world, scale: Sequence[float], translate: Sequence[float]) -> np.ndarray:
    """``(…, 2)`` world coordinates -> (row, col) data coordinates of a layer."""
    return (np.asarray(world, dtype=float) - np.asarray(translate[-2:])) / np.asarray(scale[-2:])
