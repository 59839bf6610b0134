"""napari reader and writer for (QuPath) GeoJSON.

Reader (File › Open): annotations with an area become a Shapes layer
``regions`` (features ``region`` = class name, ``name``, colour …; holes and
multi-part polygons kept through ``group``/``hole``), detections/cells a
Shapes layer ``<file> detections`` (centroid Points above
:data:`MAX_DETECTION_SHAPES`), point annotations one Points layer per class
(named by the class), and LMD calibration marks (points named ``calib1`` …
``calib3`` or of a class named like "calibration") the ``calibration`` Points
layer the LMD dock reads (role ``calibration``). The layers are put on the
grid of the slide they belong to (:mod:`napari_dvp._onto_slide`) and one line
says what was opened. A file that cannot be read gives one error notification,
never a traceback.

Writer: Shapes (and Points) layers -> one FeatureCollection that QuPath 0.5
imports; every napari shape keeps its class, name and colour.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._reader import guarded_reader
from .core.errors import DvpError, DvpInputError, one_line
from .core.geojson import (
    GeoJsonWarning,
    features_to_points,
    features_to_shapes,
    hex_colour,
    looks_like_geojson,
    points_to_features,
    read_geojson,
    shapes_to_features,
    write_geojson,
)
from .core.limits import check_input_file, loads_json
from .core.regions import color_for
from .core.regions.annotations import SortedAnnotations, describe, sort_features

MAX_DETECTION_SHAPES = 5000
SUFFIXES = (".geojson", ".json")
CALIBRATION_LAYER = "calibration"
"""Name of the LMD dock's calibration marks layer (``napari_dvp._qt.lmd``'s ``CAL_LAYER``)."""
REGIONS_LAYER = "regions"
"""Name of the Regions dock's layer."""


@guarded_reader
def get_reader(path: str | list[str]):
    """npe2 reader hook: a reader for GeoJSON files, ``None`` for anything else.

    Never raises: a ``.geojson`` file that cannot be read gets a reader that
    reports one clear error and adds nothing.
    """
    try:
        if isinstance(path, (list, tuple)):
            if len(path) != 1:
                return None
            path = path[0]
        p = Path(str(path))
        if p.suffix.lower() not in SUFFIXES or not p.is_file():
            return None
        if p.suffix.lower() == ".json" and not _json_is_geojson(p):
            return None
    except Exception:  # an odd path object: not ours
        return None

    def reader(_path: Any = None, **_: Any) -> list:
        return read_onto_slide(p)

    return reader


def _json_is_geojson(p: Path) -> bool:
    try:
        check_input_file(p, "JSON file")
        return looks_like_geojson(loads_json(p.read_text(encoding="utf-8"), p.name))
    except (OSError, ValueError, DvpError):
        return False


def read_onto_slide(path: str | Path) -> list:
    """Read ``path`` and put its layers on their slide (see the module docstring)."""
    from napari.utils.notifications import show_warning

    from ._onto_slide import place_on_slide, report_error

    name = Path(str(path)).name
    try:
        got = geojson_layer_data(path)
    except DvpError as exc:
        return report_error(path, one_line(exc))
    except Exception as exc:  # a bug must not become a traceback dialog either
        return report_error(path, f"{type(exc).__name__}: {one_line(exc)}")
    for note in got.notes:
        show_warning(f"napari-dvp: {note}")
    return place_on_slide(got.layers, name, describe(got.found))


@dataclass
class GeoJsonLayers:
    """Layer data read from a GeoJSON file, what it holds, and the reader's remarks."""

    layers: list[tuple[Any, dict, str]]
    found: SortedAnnotations
    notes: list[str] = field(default_factory=list)


def _face_colors(table: pd.DataFrame, alpha: float) -> np.ndarray:
    cols = []
    for c, region in zip(table["color"], table["region"], strict=True):
        rgb = _hex_to_rgb(c) if c else color_for(region or "region")
        cols.append([*(np.asarray(rgb) / 255.0), alpha])
    return np.asarray(cols, dtype=float).reshape(-1, 4)


def _hex_to_rgb(h: str) -> tuple[int, int, int]:
    return tuple(int(h[k:k + 2], 16) for k in (1, 3, 5))  # type: ignore[return-value]


def geojson_layer_data(path: str | os.PathLike[str],
                       image_shape: tuple[int, int] | None = None) -> GeoJsonLayers:
    """Read a GeoJSON file into napari layer data tuples, in full-resolution pixels.

    Parameters
    ----------
    path
        The file.
    image_shape
        ``(rows, cols)`` of the image, to clip shapes reaching beyond it.

    Raises
    ------
    DvpInputError
        The file is not GeoJSON, or holds nothing to show.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeoJsonWarning)
        feats = read_geojson(path, image_shape=image_shape)
    notes = [str(w.message) for w in caught if issubclass(w.category, GeoJsonWarning)]
    stem = Path(str(path)).stem
    found = sort_features(feats)
    out: list[tuple[Any, dict, str]] = []
    data, types, table = features_to_shapes(found.shapes)
    if data:
        face = _face_colors(table, 0.3)
        face[table["hole"].to_numpy(), 3] = 0.0
        out.append((data, {"name": REGIONS_LAYER, "shape_type": types, "features": table,
                           "face_color": face, "edge_color": _face_colors(table, 1.0),
                           "edge_width": 3, "metadata": {"source": str(path)}}, "shapes"))
    if found.detections:
        out.append(_detections(found.detections, stem))
    for cls, group in found.points.items():
        coords, ptab = features_to_points(group)
        out.append((coords, {"name": cls or f"{stem} points", "features": ptab, "size": 12,
                             "face_color": _face_colors(ptab, 1.0),
                             "metadata": {"source": str(path)}}, "points"))
    if found.calibration:
        from ._qt._slide import ROLE

        coords, ptab = features_to_points(found.calibration)
        ptab["mark"] = np.arange(1, len(ptab) + 1)
        out.append((coords, {"name": CALIBRATION_LAYER, "features": ptab, "symbol": "cross",
                             "size": 40, "face_color": "red", "border_color": "red",
                             "text": {"string": "{mark}", "color": "red", "size": 14,
                                      "anchor": "upper_left"},
                             "metadata": {"source": str(path), ROLE: "calibration"}},
                    "points"))
    if not out:
        raise DvpInputError(f"{Path(str(path)).name} holds no regions, detections or points")
    return GeoJsonLayers(out, found, notes)


def _detections(det, stem: str) -> tuple[Any, dict, str]:
    ddata, dtypes, dtab = features_to_shapes(det)
    if 0 < len(ddata) <= MAX_DETECTION_SHAPES:
        return (ddata, {"name": f"{stem} detections", "shape_type": dtypes, "features": dtab,
                        "face_color": _face_colors(dtab, 0.5), "edge_width": 1}, "shapes")
    import shapely

    pts = shapely.point_on_surface(np.array([f.geometry for f in det], dtype=object))
    coords = np.column_stack([shapely.get_y(pts), shapely.get_x(pts)])
    dtab = pd.DataFrame({"region": [f.class_name for f in det],
                         "name": [f.name for f in det],
                         "object_type": [f.object_type for f in det],
                         "color": [hex_colour(f.color) for f in det]})
    return (coords, {"name": f"{stem} detections", "features": dtab, "size": 6,
                     "face_color": _face_colors(dtab, 1.0)}, "points")


def read_geojson_layers(path: str | list[str]) -> list[tuple[Any, dict, str]]:
    """Layer data of a GeoJSON file in pixels (no slide, no notifications)."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    return geojson_layer_data(path).layers


def _layer_features(data, meta: dict, layer_type: str):
    table = meta.get("features")
    table = pd.DataFrame(table) if table is not None else pd.DataFrame(index=range(len(data)))
    if "color" not in table.columns and len(table) == len(data):
        fc = np.asarray(meta.get("face_color", np.zeros((0, 4))))
        if fc.ndim == 2 and len(fc) == len(data):
            table["color"] = [hex_colour(np.round(c[:3] * 255)) for c in fc]
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
