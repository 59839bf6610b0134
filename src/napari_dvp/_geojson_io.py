"""napari reader and writer for (QuPath) GeoJSON.

Reader: annotations with an area become a Shapes layer ``regions`` (features
``region`` = class name, ``name``, colour …; holes and multi-part polygons
kept through ``group``/``hole``), detections/cells a Shapes layer
``detections`` (centroid Points above :data:`MAX_DETECTION_SHAPES`), point
annotations a Points layer. Data are (row, col) pixels of the full-resolution
image (scale 1): give the layer the image's scale if the image has one.

Writer: Shapes (and Points) layers -> one FeatureCollection that QuPath 0.5
imports; every napari shape keeps its class, name and colour.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._reader import guarded_reader
from .core.errors import DvpError, DvpInputError, one_line
from .core.geojson import (
    GeoJsonWarning,
    _hex,
    features_to_points,
    features_to_shapes,
    looks_like_geojson,
    points_to_features,
    read_geojson,
    shapes_to_features,
    write_geojson,
)
from .core.limits import check_input_file, loads_json
from .core.regions import color_for

MAX_DETECTION_SHAPES = 5000
SUFFIXES = (".geojson", ".json")


@guarded_reader
def get_reader(path: str | list[str]):
    """npe2 reader hook: a callable for GeoJSON files, None for anything else."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(str(path))
    if p.suffix.lower() not in SUFFIXES or not p.is_file():
        return None
    if p.suffix.lower() == ".json":
        try:
            check_input_file(p, "JSON file")
            if not looks_like_geojson(loads_json(p.read_text(encoding="utf-8"), p.name)):
                return None
        except (OSError, ValueError):
            return None
    try:  # read now: a broken file is a notification, not a traceback
        layers = read_geojson_layers(str(p))
    except DvpError as exc:
        from napari.utils.notifications import show_warning

        show_warning(f"napari-dvp: {one_line(exc)}")
        return None

    def reader(_path=None):
        return layers

    return reader


def _face_colors(table: pd.DataFrame, alpha: float) -> np.ndarray:
    cols = []
    for c, region in zip(table["color"], table["region"], strict=True):
        rgb = _hex_to_rgb(c) if c else color_for(region or "region")
        cols.append([*(np.asarray(rgb) / 255.0), alpha])
    return np.asarray(cols, dtype=float).reshape(-1, 4)


def _hex_to_rgb(h: str) -> tuple[int, int, int]:
    return tuple(int(h[k:k + 2], 16) for k in (1, 3, 5))  # type: ignore[return-value]


def read_geojson_layers(path: str | list[str]) -> list[tuple[Any, dict, str]]:
    """Read a GeoJSON file into napari layer data tuples."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeoJsonWarning)
        feats = read_geojson(path)
    for w in caught:
        from napari.utils.notifications import show_warning

        show_warning(str(w.message))
    stem = Path(str(path)).stem
    out: list[tuple[Any, dict, str]] = []
    ann = [f for f in feats if f.object_type not in ("detection", "cell")]
    det = [f for f in feats if f.object_type in ("detection", "cell")]
    data, types, table = features_to_shapes(ann)
    if data:
        face = _face_colors(table, 0.35)
        face[table["hole"].to_numpy(), 3] = 0.0
        out.append((data, {"name": "regions", "shape_type": types, "features": table,
                           "face_color": face, "edge_color": _face_colors(table, 1.0),
                           "edge_width": 3, "metadata": {"source": str(path)}}, "shapes"))
    if det:
        ddata, dtypes, dtab = features_to_shapes(det)
        if 0 < len(ddata) <= MAX_DETECTION_SHAPES:
            out.append((ddata, {"name": f"{stem} detections", "shape_type": dtypes,
                                "features": dtab, "face_color": _face_colors(dtab, 0.5),
                                "edge_width": 1}, "shapes"))
        else:
            import shapely

            pts = shapely.point_on_surface(np.array([f.geometry for f in det], dtype=object))
            coords = np.column_stack([shapely.get_y(pts), shapely.get_x(pts)])
            dtab = pd.DataFrame({"region": [f.class_name for f in det],
                                 "name": [f.name for f in det],
                                 "object_type": [f.object_type for f in det],
                                 "color": [_hex(f.color) for f in det]})
            out.append((coords, {"name": f"{stem} detections", "features": dtab, "size": 6,
                                 "face_color": _face_colors(dtab, 1.0)}, "points"))
    coords, ptab = features_to_points(feats)
    if len(coords):
        out.append((coords, {"name": f"{stem} points", "features": ptab, "size": 12,
                             "face_color": _face_colors(ptab, 1.0)}, "points"))
    if not out:
        raise DvpInputError(f"{path} holds no shapes or points")
    return out


def _layer_features(data, meta: dict, layer_type: str):
    table = meta.get("features")
    table = pd.DataFrame(table) if table is not None else pd.DataFrame(index=range(len(data)))
    if "color" not in table.columns and len(table) == len(data):
        fc = np.asarray(meta.get("face_color", np.zeros((0, 4))))
        if fc.ndim == 2 and len(fc) == len(data):
            table["color"] = [_hex(np.round(c[:3] * 255)) for c in fc]
    if layer_type == "points":
        return points_to_features(np.asarray(data), table)
    types = meta.get("shape_type", ["polygon"] * len(data))
    if isinstance(types, str):
        types = [types] * len(data)
    return shapes_to_features(list(data), list(types), table)


def write_geojson_shapes(path: str, data: Any, meta: dict) -> list[str]:
    """npe2 single-layer writer: one Shapes layer -> GeoJSON."""
    return write_geojson_layers(path, [(data, meta, "shapes")])


def write_geojson_layers(path: str, layer_data: list[tuple[Any, dict, str]]) -> list[str]:
    """npe2 multi-layer writer: Shapes and Points layers -> one FeatureCollection."""
    feats = []
    for data, meta, layer_type in layer_data:
        if layer_type not in ("shapes", "points"):
            continue
        feats.extend(_layer_features(data, meta, layer_type))
    if not feats:
        return []
    if not str(path).lower().endswith(SUFFIXES):
        path = f"{os.fspath(path)}.geojson"
    write_geojson(path, feats)
    return [str(path)]
