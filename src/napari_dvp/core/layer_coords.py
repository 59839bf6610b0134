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


def visible_box(center, zoom: float, canvas_hw: Sequence[float], scale: Sequence[float],
                translate: Sequence[float], shape_yx: Sequence[int]) -> tuple[int, int, int, int]:
    """The pixels of a layer that a 2-D canvas shows: ``(row0, row1, col0, col1)``, end-exclusive.

    Parameters
    ----------
    center, zoom
        The camera's centre (world coordinates, last two used) and zoom (screen
        pixels per world unit).
    canvas_hw
        Canvas height and width in screen pixels.
    scale, translate
        The layer's scale and translate.
    shape_yx
        The layer's full-resolution size in pixels: the box is clipped to it.
    """
    half = np.asarray(canvas_hw, dtype=float)[-2:] / 2 / float(zoom)
    centre = np.asarray(center, dtype=float)[-2:]
    lo = world_to_data(centre - half, scale, translate)
    hi = world_to_data(centre + half, scale, translate)
    rows, cols = int(shape_yx[0]), int(shape_yx[1])
    r0, c0 = (max(int(np.floor(v)), 0) for v in np.minimum(lo, hi))
    r1, c1 = (int(np.ceil(v)) for v in np.maximum(lo, hi))
    return r0, min(r1, rows), c0, min(c1, cols)


def vertices_to_pixels(vertices, src_scale: Sequence[float], src_translate: Sequence[float],
                       scale: Sequence[float], translate: Sequence[float]) -> np.ndarray:
    """``(n, 2)`` (row, col) vertices of a shape in one layer -> pixels of another layer.

    E.g. a polygon drawn in a Shapes layer, in the pixel grid of the image it
    was drawn on (both layers show the same world).
    """
    world = data_to_world(np.asarray(vertices, dtype=float)[:, -2:], src_scale, src_translate)
    return world_to_data(world, scale, translate)


def world_to_data(world, scale: Sequence[float], translate: Sequence[float]) -> np.ndarray:
    """``(…, 2)`` world coordinates -> (row, col) data coordinates of a layer."""
    return (np.asarray(world, dtype=float) - np.asarray(translate[-2:])) / np.asarray(scale[-2:])


def data_to_data(points, src_scale: Sequence[float], src_translate: Sequence[float],
                 dst_scale: Sequence[float], dst_translate: Sequence[float]) -> np.ndarray:
    """``(…, 2)`` (row, col) data coordinates of one layer -> those of another layer.

    Both layers show the same world; e.g. the vertices of a regions Shapes layer
    in the pixel grid of the cells' labels, or pixels of the slide in a new
    layer's data.
    """
    return world_to_data(data_to_world(points, src_scale, src_translate),
                         dst_scale, dst_translate)


def bounds_rc(arrays) -> tuple[float, float, float, float] | None:
    """``(row_min, col_min, row_max, col_max)`` of several ``(n, 2)`` vertex arrays.

    ``None`` when there is no vertex at all.
    """
    parts = [np.asarray(a, dtype=float).reshape(-1, np.shape(a)[-1])[:, -2:]
             for a in arrays if np.size(a)]
    if not parts:
        return None
    allv = np.concatenate(parts)
    lo, hi = allv.min(axis=0), allv.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def fits_within(bounds: tuple[float, float, float, float], shape_yx: Sequence[int],
                margin: float = 1.0) -> bool:
    """Whether a ``bounds_rc`` box lies on an image of ``shape_yx`` pixels (± ``margin``)."""
    r0, c0, r1, c1 = bounds
    h, w = float(shape_yx[0]), float(shape_yx[1])
    return r0 >= -0.5 - margin and c0 >= -0.5 - margin and r1 <= h - 0.5 + margin \
        and c1 <= w - 0.5 + margin
