"""Regions as a napari Shapes layer holds them: a table row per shape, turned into :class:`Region`.

The regions layer keeps one features row per shape with the columns of
:data:`napari_dvp.core.geojson.SHAPE_COLUMNS` (``region`` = region class,
``group`` ties the shells and holes of one region together, ``hole`` marks a
hole). This module is the Qt-free logic behind the Regions dock:

* :func:`stamp_drawn` — a shape drawn by hand takes the class chosen in the
  dock and a group of its own (never the class, group or id of the shape
  selected or imported last);
* :func:`drawn_regions` — the layer's finished shapes as regions (a polygon
  still being drawn, with fewer than three vertices, and lines are left out);
* :func:`append_shapes` — shapes imported from a file appended with their own groups;
* :func:`counts_for_display` / :func:`areas_for_display` — the dock's table,
  areas in µm² when the pixel size is known, else px².
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..geojson import SHAPE_COLUMNS, features_to_regions, shapes_to_features
from .assign import Region, as_regions

__all__ = [
    "AREA_POLYGON_TYPES",
    "append_shapes",
    "areas_for_display",
    "counts_for_display",
    "drawn_regions",
    "empty_shape_table",
    "finished_polygons",
    "new_shape_defaults",
    "stamp_drawn",
]

AREA_POLYGON_TYPES = ("polygon", "rectangle", "ellipse")
"""napari shape types that enclose an area (only these can be regions)."""

OUTSIDE = "(outside)"
"""How the dock shows cells outside every region."""


def new_shape_defaults(region_class: str) -> dict[str, object]:
    """Feature values of a shape drawn by hand in class ``region_class``."""
    return {"region": str(region_class), "name": "", "object_type": "annotation", "group": -1,
            "hole": False, "color": "", "id": ""}


def empty_shape_table() -> pd.DataFrame:
    """An empty features table with :data:`SHAPE_COLUMNS` and their types."""
    table = pd.DataFrame({c: pd.Series([], dtype=object) for c in SHAPE_COLUMNS})
    table["group"] = table["group"].astype(np.int64)
    table["hole"] = table["hole"].astype(bool)
    return table


def _conform(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """``table`` with every shape column, ``n`` rows (missing values filled), clean types."""
    out = table.reset_index(drop=True).reindex(range(n))
    defaults = new_shape_defaults("")
    for col in SHAPE_COLUMNS:
        if col not in out.columns:
            out[col] = defaults[col]
    out = out[list(SHAPE_COLUMNS) + [c for c in out.columns if c not in SHAPE_COLUMNS]]
    for col in ("region", "name", "object_type", "color", "id"):
        out[col] = out[col].where(out[col].notna(), defaults[col]).astype(str).astype(object)
    out["group"] = pd.to_numeric(out["group"], errors="coerce").fillna(-1).astype(np.int64)
    out["hole"] = out["hole"].where(out["hole"].notna(), False).astype(bool)
    return out


def _next_group(table: pd.DataFrame) -> int:
    groups = pd.to_numeric(table.get("group", pd.Series([], dtype=float)), errors="coerce")
    top = groups.max() if len(groups) else np.nan
    return int(top) + 1 if np.isfinite(top) and top >= 0 else 0


def stamp_drawn(table: pd.DataFrame, rows: Sequence[int], region_class: str,
                n_shapes: int | None = None) -> pd.DataFrame:
    """The layer's features with the shapes at ``rows`` marked as drawn by hand.

    Each such shape gets ``region_class``, a new group of its own (so it is one
    region, never part of an imported one), no name, id or colour of its own,
    and is not a hole — whatever napari copied from the shape selected last.

    Parameters
    ----------
    table
        The layer's features (one row per shape; shorter tables are padded).
    rows
        Positions of the new shapes.
    region_class
        Class chosen in the dock.
    n_shapes
        Number of shapes in the layer (default: ``len(table)``).
    """
    n = len(table) if n_shapes is None else int(n_shapes)
    out = _conform(table, n)
    rows = [int(r) for r in rows if 0 <= int(r) < n]
    if not rows:
        return out
    others = out.drop(index=rows)
    first = _next_group(others)
    stamp = new_shape_defaults(region_class)
    for col in ("region", "name", "object_type", "color", "id"):
        out.loc[rows, col] = stamp[col]
    out.loc[rows, "hole"] = False
    out.loc[rows, "group"] = np.arange(first, first + len(rows), dtype=np.int64)
    return out


def append_shapes(table: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``table`` followed by ``new`` (e.g. imported shapes), ``new``'s groups renumbered after."""
    old = _conform(table, len(table))
    add = _conform(new, len(new))
    grouped = add["group"] >= 0
    add.loc[grouped, "group"] += _next_group(old)
    return pd.concat([old, add], ignore_index=True)[list(SHAPE_COLUMNS)]


def finished_polygons(vertices: Sequence[np.ndarray], shape_types: Sequence[str]) -> np.ndarray:
    """Boolean mask: shapes that enclose an area and have at least three vertices.

    A polygon being drawn is a two-vertex path in napari until it is closed;
    lines and paths are annotations, not regions.
    """
    return np.array([t in AREA_POLYGON_TYPES and len(v) >= 3
                     for v, t in zip(vertices, shape_types, strict=True)], dtype=bool)


def drawn_regions(vertices_px: Sequence[np.ndarray], shape_types: Sequence[str],
                  table: pd.DataFrame | None, default_class: str = "region") -> list[Region]:
    """The finished regions of a Shapes layer, in the pixel grid of ``vertices_px``.

    Parameters
    ----------
    vertices_px
        Vertices ``(n, 2)`` (row, col) of every shape, already in the cells' pixels.
    shape_types
        napari shape type per shape.
    table
        The layer's features (``region``, ``group``, ``hole`` …), one row per shape.
    default_class
        Class of a shape without one.
    """
    n = len(vertices_px)
    tab = _conform(table if table is not None else pd.DataFrame(index=range(n)), n)
    keep = finished_polygons(vertices_px, shape_types) if n else np.zeros(0, bool)
    tab.loc[tab["region"].astype(str).str.strip() == "", "region"] = default_class
    if not keep.any():
        return []
    idx = np.flatnonzero(keep)
    feats = shapes_to_features([np.asarray(vertices_px[i]) for i in idx],
                               [shape_types[i] for i in idx], tab.iloc[idx],
                               default_class=default_class)
    return features_to_regions(feats)


def areas_for_display(regions: Sequence[Region], pixel_size_um: float | None) -> pd.DataFrame:
    """Drawn area per region class (no cells yet): ``region``, ``region area µm²`` (or px²)."""
    regs = as_regions(regions)
    areas: dict[str, float] = {}
    for r in regs:
        areas[r.region_class] = areas.get(r.region_class, 0.0) + float(r.geometry.area)
    scale = pixel_size_um ** 2 if pixel_size_um else 1.0
    return pd.DataFrame({"region": list(areas),
                         _area_header(pixel_size_um): [a * scale for a in areas.values()]})


def counts_for_display(counts: pd.DataFrame, pixel_size_um: float | None) -> pd.DataFrame:
    """:func:`~napari_dvp.core.regions.region_counts` with the dock's headers and units."""
    show = counts.rename(columns={"n_cells": "cells", "cell_area_um2": "cell area µm²",
                                  "region_area": _area_header(pixel_size_um)})
    show["region"] = show["region"].replace("", OUTSIDE)
    return show


def _area_header(pixel_size_um: float | None) -> str:
    return "region area " + ("µm²" if pixel_size_um else "px²")
