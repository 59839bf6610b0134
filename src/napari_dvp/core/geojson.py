"""QuPath-compatible GeoJSON: read and write annotations (regions) and detections (cells).

Format (QuPath 0.2-0.5 "Export objects as GeoJSON"): a FeatureCollection (or,
from older versions, a bare list of Features) in full-resolution pixel
coordinates, x = column, y = row. ``properties.objectType`` is ``annotation``,
``detection`` or ``cell``; ``properties.classification`` is ``{"name": …,
"color": [r, g, b]}`` (QuPath 0.2 wrote ``colorRGB``, a packed integer);
``properties.name`` is optional. Geometries: Polygon (with holes),
MultiPolygon, Point/MultiPoint, LineString; ellipses arrive as polygons.

Invalid polygons (self-intersecting, bow ties) are repaired with
:func:`shapely.make_valid` and a :class:`GeoJsonWarning`. Shapes beyond the
image are clipped to it (with a warning) or refused, as the caller chooses.
Everything else a QuPath object carries (``id``, ``measurements``,
``isLocked`` …) is kept and written back unchanged.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from .atomic import write_text_atomic
from .errors import DvpInputError, one_line
from .regions import Region, color_for

OBJECT_TYPES = ("annotation", "detection", "cell", "tile", "tma_core", "root")


class GeoJsonWarning(UserWarning):
    """A GeoJSON file was read with repairs (invalid polygons, clipped shapes)."""


@dataclass
class GeoFeature:
    """One QuPath object.

    Parameters
    ----------
    geometry
        Shapely geometry in pixel coordinates (x = column, y = row).
    object_type
        ``annotation``, ``detection`` or ``cell``.
    class_name
        ``classification.name`` ("" when unclassified).
    color
        ``classification.color`` as RGB 0-255, or None.
    name
        ``properties.name`` ("" when absent).
    id
        The feature id (QuPath writes a UUID), kept through a round trip.
    properties
        All other properties, written back unchanged.
    nucleus
        ``nucleusGeometry`` of a QuPath cell, if any.
    """

    geometry: shapely.Geometry
    object_type: str = "annotation"
    class_name: str = ""
    color: tuple[int, int, int] | None = None
    name: str = ""
    id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    nucleus: shapely.Geometry | None = None


# --------------------------------------------------------------------------- reading


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
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except FileNotFoundError:
        raise DvpInputError(f"GeoJSON file {path} not found") from None
    except UnicodeDecodeError:
        raise DvpInputError(f"{path} is not GeoJSON: not UTF-8 text (UTF-16, another encoding "
                            "or binary); export it again from QuPath") from None
    except json.JSONDecodeError as exc:
        raise DvpInputError(f"{path} is not GeoJSON (not valid JSON: {exc.__class__.__name__} "
                            f"at {getattr(exc, 'pos', '?')}); export it again from QuPath"
                            ) from None
    return parse_geojson(obj, image_shape=image_shape, outside=outside, source=str(path))


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
    """Features from parsed GeoJSON (see :func:`read_geojson`)."""
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
    return GeoFeature(geometry=geom, object_type=otype.lower(), class_name=cname, color=color,
                      name="" if name is None else str(name), id=fid, properties=props,
                      nucleus=nucleus)


# --------------------------------------------------------------------------- writing


def feature_to_dict(f: GeoFeature) -> dict:
    """One GeoJSON Feature as QuPath 0.5 writes it."""
    props: dict[str, Any] = {"objectType": f.object_type}
    if f.name:
        props["name"] = f.name
    if f.class_name:
        color = f.color or color_for(f.class_name)
        props["classification"] = {"name": f.class_name, "color": [int(c) for c in color]}
    props.update(f.properties)
    if f.nucleus is not None:
        props["nucleusGeometry"] = shapely.geometry.mapping(f.nucleus)
    return {
        "type": "Feature",
        "id": f.id or str(uuid.uuid4()),
        "geometry": shapely.geometry.mapping(f.geometry),
        "properties": props,
    }


def to_geojson(features: Sequence[GeoFeature]) -> dict:
    """A FeatureCollection dict."""
    return {"type": "FeatureCollection", "features": [feature_to_dict(f) for f in features]}


def write_geojson(path: str | os.PathLike[str], features: Sequence[GeoFeature]) -> None:
    """Write a FeatureCollection (atomically) that QuPath imports by drag and drop."""
    write_text_atomic(path, json.dumps(to_geojson(features), default=_jsonable))


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot write {type(o).__name__} to GeoJSON")


# --------------------------------------------------------------------------- regions & cells


def features_to_regions(features: Sequence[GeoFeature]) -> list[Region]:
    """Annotations with an area become regions; their class (or name) is the region class."""
    out = []
    for f in features:
        if f.object_type != "annotation" or shapely.get_dimensions(f.geometry) != 2:
            continue
        rc = f.class_name or f.name or "region"
        out.append(Region(geometry=f.geometry, region_class=rc, name=f.name,
                          color=f.color, properties={**f.properties, "_id": f.id}))
    return out


def regions_to_features(regions: Sequence[Region]) -> list[GeoFeature]:
    """Regions as QuPath annotations (class = region class, colour kept)."""
    out = []
    for r in regions:
        props = dict(r.properties)
        fid = props.pop("_id", None)
        out.append(GeoFeature(geometry=r.geometry, object_type="annotation",
                              class_name=r.region_class, color=r.color or color_for(r.region_class),
                              name=r.name, id=fid, properties=props))
    return out


def cell_polygons(labels: np.ndarray, cell_ids: Sequence[int] | None = None) -> dict[int, Any]:
    """Outline polygon of each cell (pixel-edge coordinates, x = column, y = row).

    Each cell's contour is traced in its own bounding box only.
    """
    from scipy import ndimage
    from skimage.measure import find_contours

    labels = np.asarray(labels)
    slices = ndimage.find_objects(labels)
    ids = range(1, len(slices) + 1) if cell_ids is None else cell_ids
    out: dict[int, Any] = {}
    for cid in ids:
        cid = int(cid)
        if cid < 1 or cid > len(slices) or slices[cid - 1] is None:
            continue
        sl = slices[cid - 1]
        mask = np.pad(labels[sl] == cid, 1)
        contours = find_contours(mask.astype(np.uint8), 0.5)
        ring = max(contours, key=len)
        r0, c0 = sl[0].start - 1 + 0.5, sl[1].start - 1 + 0.5
        poly = shapely.Polygon(np.column_stack([ring[:, 1] + c0, ring[:, 0] + r0]))
        if not poly.is_valid:
            poly = _make_valid(poly)
        out[cid] = poly
    return out


def cells_to_features(
    table: pd.DataFrame,
    labels: np.ndarray | None = None,
    class_colors: Mapping[str, tuple[int, int, int]] | None = None,
    object_type: str = "detection",
    measurements: Sequence[str] = (),
) -> list[GeoFeature]:
    """Cells as QuPath detections: outlines from ``labels`` (or centroid points without).

    The class is the ``class`` column, the name ``cell <id>``; ``cell_id`` and
    ``region`` go into ``properties``, the listed columns into ``measurements``.
    """
    ids = table["cell_id"].to_numpy()
    classes = (table["class"].astype(str).to_numpy() if "class" in table.columns
               else np.full(len(table), "", dtype=object))
    regions = table["region"].astype(str).to_numpy() if "region" in table.columns else None
    if labels is not None:
        polys = cell_polygons(labels, ids)
        geoms = [polys.get(int(i)) for i in ids]
    else:
        geoms = list(shapely.points(table["centroid_col"].to_numpy(float),
                                    table["centroid_row"].to_numpy(float)))
    meas = table[list(measurements)].to_numpy(float) if measurements else None
    colors = dict(class_colors or {})
    out = []
    for k, (cid, g) in enumerate(zip(ids, geoms, strict=True)):
        if g is None:
            continue
        props: dict[str, Any] = {"cell_id": int(cid)}
        if regions is not None:
            props["region"] = regions[k]
        if meas is not None:
            props["measurements"] = {m: float(v) for m, v in zip(measurements, meas[k],
                                                                 strict=True)}
        c = classes[k]
        out.append(GeoFeature(geometry=g, object_type=object_type, class_name=c,
                              color=colors.get(c) or (color_for(c) if c else None),
                              name=f"cell {int(cid)}", properties=props))
    return out


def match_detections(features: Sequence[GeoFeature], labels: np.ndarray) -> pd.DataFrame:
    """Match imported detections/cells to our labels by a point inside each one.

    Returns
    -------
    pandas.DataFrame
        ``cell_id, class, name`` for detections that land on a cell (vectorised:
        one ``point_on_surface`` per detection, one label look-up for all).
    """
    dets = [f for f in features if f.object_type in ("detection", "cell")]
    if not dets:
        return pd.DataFrame({"cell_id": pd.Series(dtype=np.int64), "class": [], "name": []})
    pts = shapely.point_on_surface(np.array([f.geometry for f in dets], dtype=object))
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    labels = np.asarray(labels)
    r = np.clip(np.floor(y).astype(np.int64), 0, labels.shape[0] - 1)
    c = np.clip(np.floor(x).astype(np.int64), 0, labels.shape[1] - 1)
    inside = (y >= 0) & (x >= 0) & (y < labels.shape[0]) & (x < labels.shape[1])
    ids = np.where(inside, labels[r, c], 0).astype(np.int64)
    df = pd.DataFrame({"cell_id": ids, "class": [f.class_name for f in dets],
                       "name": [f.name for f in dets]})
    return df[df["cell_id"] > 0].drop_duplicates("cell_id", keep="last").reset_index(drop=True)


# --------------------------------------------------------------------------- napari shapes
# napari Shapes/Points hold (row, col) vertices; GeoJSON holds (x = col, y = row).
# A MultiPolygon or a polygon with holes becomes several napari shapes sharing a
# ``group`` number, holes flagged in ``hole``, so a round trip keeps them.

SHAPE_COLUMNS = ("region", "name", "object_type", "group", "hole", "color", "id")


def _hex(c: Sequence[int] | None) -> str:
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
                "group": g, "color": _hex(f.color), "id": f.id or ""}
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
                         "color": _hex(f.color), "id": f.id or ""})
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
