"""Drawn regions as samples of their own, tiled into pieces the LMD can drop."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import shapely

from ..cells.columns import CELL_ID, COL, ROW
from ..errors import DvpInputError
from .plan_common import PLAN_COLUMNS, eligible_mask, empty_plan


def tile_geometry(geom, max_piece_px2: float | None) -> np.ndarray:
    """Cut a polygon into pieces of at most ``max_piece_px2`` (square grid), vectorised."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    parts = parts[shapely.get_type_id(parts) == 3]
    if not max_piece_px2 or max_piece_px2 <= 0:
        return parts
    out = []
    for p in parts:
        if p.area <= max_piece_px2:
            out.append(np.array([p], dtype=object))
            continue
        side = float(np.sqrt(max_piece_px2))
        x0, y0, x1, y1 = p.bounds
        xs = np.arange(x0, x1, side)
        ys = np.arange(y0, y1, side)
        gx, gy = np.meshgrid(xs, ys)
        boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + side, gy.ravel() + side)
        pieces = shapely.intersection(boxes, p)
        pieces = shapely.get_parts(pieces)
        pieces = pieces[(shapely.get_type_id(pieces) == 3) & (shapely.area(pieces) > 0)]
        out.append(pieces)
    return np.concatenate(out) if out else np.empty(0, dtype=object)


def regions_by_name(regions: Iterable, image_shape: Sequence[int] | None = None
                    ) -> dict[str, object]:
    """Drawn regions by the name a person picks them by, ready for :func:`region_samples`.

    Parameters
    ----------
    regions
        :class:`~napari_dvp.core.regions.Region` objects (GeoJSON annotations,
        the regions Shapes layer), pixels x=col, y=row.
    image_shape
        ``(height, width)``: regions are clipped to the image (a region drawn a
        little past the edge is still cut inside it).

    Returns
    -------
    dict
        Region class -> union of its polygons (in order of first appearance),
        plus each named region (QuPath ``name``) under its own name where that
        is not also a class. ``exclude`` regions are left out: they are never cut.
    """
    from ..regions import is_exclude_name

    by_class: dict[str, list] = {}
    by_name: dict[str, list] = {}
    for r in regions:
        g = r.geometry
        if g is None or shapely.is_empty(g) or shapely.get_dimensions(g) != 2:
            continue
        if is_exclude_name(str(r.region_class)):
            continue
        by_class.setdefault(str(r.region_class), []).append(g)
        if r.name and str(r.name) != str(r.region_class):
            by_name.setdefault(str(r.name), []).append(g)
    frame = (shapely.box(-0.5, -0.5, image_shape[1] - 0.5, image_shape[0] - 0.5)
             if image_shape is not None else None)
    out: dict[str, object] = {}
    for name, geoms in [*by_class.items(), *by_name.items()]:
        if name in out:
            continue
        g = shapely.union_all(shapely.make_valid(np.asarray(geoms, dtype=object)))
        out[name] = shapely.intersection(g, frame) if frame is not None else g
    return out


def region_samples(
    regions: dict[str, object],
    names: Sequence[str],
    pixel_size_um: float,
    max_piece_um2: float | None = None,
    cells: pd.DataFrame | None = None,
    prefix: str = "R",
    start: int = 1,
) -> pd.DataFrame:
    """Make each named region a sample, cut as its own polygon(s).

    Parameters
    ----------
    regions
        Region name -> shapely geometry (pixels, x=col, y=row).
    names
        Regions to collect.
    max_piece_um2
        Tile regions into pieces of at most this area (the LMD drops big pieces badly).
    cells
        Cell table: the manifest then lists the cells whose centre lies inside.
    prefix, start
        Sample ids are ``f"{prefix}{n:03d}"`` for ``n`` from ``start``.
    """
    rows = []
    px2 = float(pixel_size_um) ** 2
    for n, name in enumerate(names, start=start):
        if name not in regions:
            raise DvpInputError(f"no region named {name!r}; known: {', '.join(map(str, regions))}")
        geom = regions[name]
        if geom is None or shapely.is_empty(geom) or shapely.area(geom) <= 0:
            raise DvpInputError(f"region {name!r} has no area; draw it as a polygon")
        pieces = tile_geometry(geom, max_piece_um2 / px2 if max_piece_um2 else None)
        ids: tuple[int, ...] = ()
        if cells is not None and len(cells):
            inside = shapely.contains_xy(shapely.union_all(pieces),
                                         cells[COL].to_numpy(float), cells[ROW].to_numpy(float))
            inside &= eligible_mask(cells, False)
            ids = tuple(np.sort(cells[CELL_ID].to_numpy()[inside]).tolist())
        rows.append({"sample_id": f"{prefix}{n:03d}", "class": "", "region": name,
                     "replicate": 1, "well": "", "n_cells": len(ids),
                     "area_um2": float(shapely.area(pieces).sum() * px2), "cell_ids": ids,
                     "kind": "region", "geometry": shapely.MultiPolygon(list(pieces))})
    plan = pd.DataFrame(rows)[PLAN_COLUMNS] if rows else empty_plan()
    plan.attrs["warnings"] = []
    return plan
