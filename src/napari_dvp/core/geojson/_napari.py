"""GeoJSON features <-> napari Shapes and Points data (row, col vertices)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from ._model import GeoFeature
from ._read import _make_valid, _parse_color

# napari Shapes/Points hold (row, col) vertices; GeoJSON holds (x = col, y = row).
# A MultiPolygon or a polygon with holes becomes several napari shapes sharing a
# ``group`` number, holes flagged in ``hole``, so a round trip keeps them.

SHAPE_COLUMNS = ("region", "name", "object_type", "group", "hole", "color", "id")


def hex_colour(c: Sequence[int] | None) -> str:
    return "" if c is None else "#{:02x}{:02x}{:02x}".format(*map(int, c[:3]))


def _unhex(h: Any) -> tuple[int, int, int] | None:
    return _parse_color(h) if isinstance(h, str) and h else None


def features_to_shapes(features: Sequence[GeoFeature]
                       ) -> tuple[list[np.ndarray], list[str], pd.DataFrame]:
    """Polygonal and line features as napari Shapes data.

    Returns
    -------
    tuple
        ``(data, shape_types, table)``: vertex arrays ``(n, 2)`` in (row, col),
        ``"polygon"`` / ``"path"`` per shape, and a features table with
        :data:`SHAPE_COLUMNS` (``region`` = class name).
    """
    data, types, rows = [], [], []
    for g, f in enumerate(features):
        dim = shapely.get_dimensions(f.geometry)
        if dim == 0:
            continue
        base = {"region": f.class_name, "name": f.name, "object_type": f.object_type,
                "group": g, "color": hex_colour(f.color), "id": f.id or ""}
        for part in shapely.get_parts(f.geometry):
            if part.geom_type == "Polygon":
                rings = [(part.exterior, False)] + [(r, True) for r in part.interiors]
                for ring, hole in rings:
                    xy = np.asarray(ring.coords)[:-1]
                    data.append(xy[:, ::-1].copy())
                    types.append("polygon")
                    rows.append({**base, "hole": hole})
            elif part.geom_type == "LineString":
                data.append(np.asarray(part.coords)[:, ::-1].copy())
                types.append("path")
                rows.append({**base, "hole": False})
    table = pd.DataFrame(rows, columns=list(SHAPE_COLUMNS))
    table["group"] = table["group"].astype(np.int64)
    table["hole"] = table["hole"].astype(bool)
    return data, types, table


def _ellipse(v: np.ndarray, n: int = 64) -> np.ndarray:
    c = v.mean(axis=0)
    a, b = (v[1] - v[0]) / 2, (v[3] - v[0]) / 2
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
    return c + np.cos(t) * a + np.sin(t) * b


def shapes_to_features(
    data: Sequence[np.ndarray],
    shape_types: Sequence[str],
    table: pd.DataFrame | None = None,
    default_class: str = "",
    default_object_type: str = "annotation",
) -> list[GeoFeature]:
    """Inverse of :func:`features_to_shapes` (works on any napari Shapes layer).

    Shapes without a ``group`` each become one feature; rectangles and
    ellipses become polygons; lines and paths LineStrings. Only the last two
    axes of each vertex array are used (row, col).
    """
    n = len(data)
    tab = (table.reset_index(drop=True) if table is not None else pd.DataFrame(index=range(n)))
    if len(tab) != n:
        tab = tab.reindex(range(n))

    def col(name, default):
        if name not in tab.columns:
            return [default] * n
        return [default if (v is None or (isinstance(v, float) and np.isnan(v))) else v
                for v in tab[name].tolist()]

    region, name, otype = col("region", default_class), col("name", ""), col(
        "object_type", default_object_type)
    group, hole, color, fid = col("group", -1), col("hole", False), col("color", ""), col("id", "")
    geoms: list[Any] = []
    for v, t in zip(data, shape_types, strict=True):
        xy = np.asarray(v, dtype=float)[:, -2:][:, ::-1]
        if t == "ellipse":
            xy = _ellipse(xy)
        if t in ("polygon", "rectangle", "ellipse") and len(xy) >= 3:
            geoms.append(shapely.Polygon(xy))
        elif len(xy) >= 2:
            geoms.append(shapely.LineString(xy))
        else:
            geoms.append(None)
    keys = [("g", int(g)) if int(g) >= 0 else ("s", i) for i, g in enumerate(group)]
    order = list(dict.fromkeys(keys))
    out = []
    for key in order:
        idx = [i for i, k in enumerate(keys) if k == key and geoms[i] is not None]
        if not idx:
            continue
        i0 = idx[0]
        shells = [geoms[i] for i in idx if not bool(hole[i])]
        holes = [geoms[i] for i in idx if bool(hole[i])]
        if shells and all(s.geom_type == "Polygon" for s in shells):
            polys = []
            for s in shells:
                inner = [h.exterior.coords for h in holes if s.contains(h)]
                polys.append(shapely.Polygon(s.exterior.coords, inner))
            geom = polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
            if not geom.is_valid:
                geom = _make_valid(geom)
        elif shells:
            geom = shells[0] if len(shells) == 1 else shapely.MultiLineString(
                [s.coords for s in shells])
        else:
            continue
        out.append(GeoFeature(geometry=geom, object_type=str(otype[i0]) or default_object_type,
                              class_name=str(region[i0]), color=_unhex(color[i0]),
                              name=str(name[i0]), id=str(fid[i0]) or None))
    return out


def features_to_points(features: Sequence[GeoFeature]) -> tuple[np.ndarray, pd.DataFrame]:
    """Point features as napari Points data ``(n, 2)`` (row, col) plus a features table."""
    coords, rows = [], []
    for f in features:
        if shapely.get_dimensions(f.geometry) != 0:
            continue
        for p in shapely.get_parts(f.geometry):
            coords.append((p.y, p.x))
            rows.append({"region": f.class_name, "name": f.name, "object_type": f.object_type,
                         "color": hex_colour(f.color), "id": f.id or ""})
    return (np.asarray(coords, dtype=float).reshape(-1, 2),
            pd.DataFrame(rows, columns=["region", "name", "object_type", "color", "id"]))


def points_to_features(coords: np.ndarray, table: pd.DataFrame | None = None,
                       default_object_type: str = "annotation") -> list[GeoFeature]:
    """napari Points (row, col) as Point features (name, class kept from ``table``)."""
    coords = np.asarray(coords, dtype=float).reshape(-1, coords.shape[-1] if len(coords) else 2)
    tab = table.reset_index(drop=True) if table is not None else pd.DataFrame(
        index=range(len(coords)))
    out = []
    for i, (r, c) in enumerate(coords[:, -2:]):
        row = tab.iloc[i] if i < len(tab) else {}

        def get(key, row=row):
            v = row.get(key, "")
            return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

        out.append(GeoFeature(
            geometry=shapely.Point(c, r), object_type=get("object_type") or default_object_type,
            class_name=get("region"), name=get("name"), color=_unhex(get("color")),
            id=get("id") or None))
    return out
