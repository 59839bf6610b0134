"""Read and validate QuPath GeoJSON: parse, repair invalid polygons, clip to the image."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
import shapely.geometry

from ..errors import DvpInputError, one_line
from ..limits import check_input_file, loads_json
from ..names import check_names
from ._model import GeoFeature, GeoJsonWarning
from ._pixels import from_qupath


def read_geojson(path: str | os.PathLike[str], image_shape: Sequence[int] | None = None,
                 outside: str = "clip") -> list[GeoFeature]:
    """Read a GeoJSON file (QuPath export or any GeoJSON FeatureCollection).

    Parameters
    ----------
    path
        ``.geojson`` / ``.json`` file.
    image_shape
        ``(height, width)`` of the image in pixels, to check the coordinates.
    outside
        What to do with shapes beyond the image: ``"clip"`` (clip to the image,
        drop what lies wholly outside, warn), ``"error"`` or ``"keep"``.
    """
    try:
        if os.path.exists(path):  # a regular file under the size cap (never a FIFO)
            check_input_file(path, "GeoJSON file")
        with open(path, encoding="utf-8") as fh:
            obj = loads_json(fh.read(), f"GeoJSON file {os.path.basename(path)}")
    except FileNotFoundError:
        raise DvpInputError(f"GeoJSON file {path} not found") from None
    except OSError as exc:
        raise DvpInputError(f"cannot read GeoJSON file {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DvpInputError(f"{path} is not GeoJSON: not UTF-8 text (UTF-16, another encoding "
                            "or binary); export it again from QuPath") from None
    except json.JSONDecodeError as exc:
        raise DvpInputError(f"{path} is not GeoJSON (not valid JSON: {exc.__class__.__name__} "
                            f"at {getattr(exc, 'pos', '?')}); export it again from QuPath"
                            ) from None
    feats = parse_geojson(obj, image_shape=image_shape, outside=outside, source=str(path))
    where = os.path.basename(path)
    check_names((f.class_name for f in feats), "class", where)
    check_names((f.name for f in feats), "name", where)
    return feats


def looks_like_geojson(obj: Any) -> bool:
    """True if ``obj`` (parsed JSON) is a FeatureCollection, a Feature or a list of Features."""
    if isinstance(obj, list):
        return bool(obj) and all(isinstance(f, dict) and f.get("type") == "Feature"
                                 for f in obj[:5])
    return isinstance(obj, dict) and obj.get("type") in (
        "FeatureCollection", "Feature", "Polygon", "MultiPolygon", "Point", "MultiPoint",
        "LineString", "MultiLineString", "GeometryCollection")


def parse_geojson(obj: Any, image_shape: Sequence[int] | None = None, outside: str = "clip",
                  source: str = "GeoJSON") -> list[GeoFeature]:
    """Features from parsed GeoJSON (see :func:`read_geojson`).

    The file's coordinates (QuPath: pixel corners at integers) are shifted by
    -0.5 into napari-dvp's frame (pixel centres at integers), see
    :mod:`~napari_dvp.core.geojson._pixels`; ``image_shape`` is checked in the
    file's frame (``0 <= x <= width``).
    """
    if outside not in ("clip", "error", "keep"):
        raise DvpInputError(f"outside='{outside}'; use 'clip', 'error' or 'keep'")
    if not looks_like_geojson(obj):
        if isinstance(obj, list) and not obj:
            return []
        raise DvpInputError(f"{source} is not GeoJSON: expected a FeatureCollection or a list "
                            "of Features; export objects from QuPath as GeoJSON")
    if isinstance(obj, list):
        raw = obj
    elif obj["type"] == "FeatureCollection":
        raw = obj.get("features")
        if not isinstance(raw, list):
            raise DvpInputError(f"{source}: FeatureCollection without a 'features' list")
    elif obj["type"] == "Feature":
        raw = [obj]
    else:
        raw = [{"type": "Feature", "geometry": obj, "properties": {}}]
    out: list[GeoFeature] = []
    repaired = clipped = dropped = 0
    box = None
    if image_shape is not None:
        h, w = int(image_shape[0]), int(image_shape[1])
        box = shapely.box(0, 0, w, h)
    for i, f in enumerate(raw):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise DvpInputError(f"{source}: item {i} is not a GeoJSON Feature")
        geom = _shape(f.get("geometry"), i, source)
        if geom is None:
            dropped += 1
            continue
        props = f.get("properties") or {}
        if not isinstance(props, Mapping):
            raise DvpInputError(f"{source}: object {i} has 'properties' that are not a mapping "
                                f"({type(props).__name__}); export it again from QuPath")
        props = dict(props)
        nucleus = props.pop("nucleusGeometry", None)
        nucleus = _shape(nucleus, i, source) if nucleus else None
        if not geom.is_valid:
            geom = _make_valid(geom)
            repaired += 1
        if box is not None and not box.covers(geom):
            if outside == "error":
                x0, y0, x1, y1 = geom.bounds
                raise DvpInputError(
                    f"{source}: object {i} lies outside the {w}×{h} image "
                    f"(x {x0:.0f}-{x1:.0f}, y {y0:.0f}-{y1:.0f}); was it exported from "
                    "another image or at another resolution?")
            if outside == "clip":
                geom = _keep_dim(geom.intersection(box), geom)
                if geom.is_empty:
                    dropped += 1
                    continue
                clipped += 1
        out.append(_feature_from(geom, props, f.get("id"), nucleus))
    if repaired:
        warnings.warn(f"{source}: repaired {repaired} invalid (self-intersecting) shape(s) with "
                      "make_valid; check them", GeoJsonWarning, stacklevel=2)
    if clipped:
        warnings.warn(f"{source}: clipped {clipped} shape(s) reaching beyond the image",
                      GeoJsonWarning, stacklevel=2)
    if dropped:
        warnings.warn(f"{source}: skipped {dropped} object(s) without geometry or wholly "
                      "outside the image", GeoJsonWarning, stacklevel=2)
    if box is not None and raw and not out:
        raise DvpInputError(f"{source}: every object lies outside the image; was it exported "
                            "from another image?")
    return out


def _shape(g: Any, i: int, source: str) -> shapely.Geometry | None:
    if g is None:
        return None
    try:
        with warnings.catch_warnings():  # NaN/inf coordinates: refused below, not warned
            warnings.simplefilter("ignore", RuntimeWarning)
            geom = shapely.geometry.shape(g)
    except Exception as exc:
        raise DvpInputError(f"{source}: object {i} has an unreadable geometry "
                            f"({type(exc).__name__}: {one_line(exc)[:100]})") from None
    if not (np.abs(shapely.get_coordinates(geom)) < 1e12).all():  # NaN, inf, 1e300
        raise DvpInputError(f"{source}: object {i} has NaN, infinite or absurdly large "
                            "coordinates; fix or delete that object and export again")
    return None if geom.is_empty else geom


def _make_valid(geom: shapely.Geometry) -> shapely.Geometry:
    fixed = shapely.make_valid(geom)
    return _keep_dim(fixed, geom)


def _keep_dim(new: shapely.Geometry, old: shapely.Geometry) -> shapely.Geometry:
    """Drop lower-dimensional debris (lines, points) a repair or clip left in a polygon."""
    dim = shapely.get_dimensions(old)
    if new.geom_type != "GeometryCollection" or new.is_empty:
        return new
    parts = [p for p in shapely.get_parts(new) if shapely.get_dimensions(p) == dim]
    if not parts:
        return shapely.GeometryCollection()
    return shapely.union_all(parts)


def _parse_color(c: Any) -> tuple[int, int, int] | None:
    if c is None:
        return None
    if isinstance(c, (int, np.integer)):  # QuPath 0.2 colorRGB: packed (A)RGB int
        v = int(c) & 0xFFFFFF
        return ((v >> 16) & 255, (v >> 8) & 255, v & 255)
    try:  # a colour QuPath cannot have (None, "", NaN, "#zzzzzz") is dropped, not an error
        if isinstance(c, (list, tuple)) and len(c) >= 3:
            return tuple(min(255, max(0, round(float(x)))) for x in c[:3])  # type: ignore[return-value]
        if isinstance(c, str) and c.startswith("#") and len(c) == 7:
            return tuple(int(c[k:k + 2], 16) for k in (1, 3, 5))  # type: ignore[return-value]
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def _feature_from(geom, props: dict, fid, nucleus) -> GeoFeature:
    otype = str(props.pop("objectType", props.pop("object_type", "annotation")) or "annotation")
    cls = props.pop("classification", None)
    cname, color = "", None
    if isinstance(cls, dict):
        if "names" in cls and isinstance(cls["names"], list):
            cname = ": ".join(map(str, cls["names"]))
        else:
            cname = str(cls.get("name", "") or "")
        color = _parse_color(cls.get("color", cls.get("colorRGB")))
    elif isinstance(cls, str):
        cname = cls
    name = props.pop("name", "")
    return GeoFeature(geometry=from_qupath(geom), object_type=otype.lower(), class_name=cname,
                      color=color, name="" if name is None else str(name), id=fid,
                      properties=props, nucleus=from_qupath(nucleus))

