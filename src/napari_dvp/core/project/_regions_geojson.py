"""The ``regions`` slot: drawn regions <-> a QuPath-shaped GeoJSON FeatureCollection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import shapely
import shapely.geometry

from ..errors import DvpInputError
from ..regions import Region


def as_region_list(regions: Any) -> list[Region]:
    if regions is None:
        return []
    if isinstance(regions, Mapping):
        return [Region(geometry=g, region_class=str(k)) for k, g in regions.items()]
    out = []
    for r in regions:
        if isinstance(r, Region):
            out.append(r)
        elif isinstance(r, tuple | list) and len(r) == 4:
            name, cls, color, geom = r
            out.append(Region(geometry=geom, region_class=str(cls), name=str(name or ""),
                              color=None if color is None else tuple(int(c) for c in color)))
        else:
            raise DvpInputError(f"cannot store region {r!r}; give Region objects, "
                                "(name, class, colour, geometry) or {class: geometry}")
    for r in out:
        if not isinstance(r.geometry, shapely.Geometry):
            raise DvpInputError(f"region '{r.region_class}' has no shapely geometry")
    return out


def regions_to_geojson(regions: Any) -> dict:
    """Regions as a QuPath-shaped FeatureCollection (annotations; x = column, y = row)."""
    feats = []
    for r in as_region_list(regions):
        props: dict[str, Any] = {"objectType": "annotation"}
        if r.name:
            props["name"] = r.name
        cls: dict[str, Any] = {"name": r.region_class}
        if r.color is not None:
            cls["color"] = [int(c) for c in r.color]
        props["classification"] = cls
        extra = dict(r.properties)
        fid = extra.pop("_id", None)
        props.update(extra)
        feat = {"type": "Feature", "geometry": shapely.geometry.mapping(r.geometry),
                "properties": props}
        if fid is not None:
            feat["id"] = fid
        feats.append(feat)
    return {"type": "FeatureCollection", "features": feats}


def regions_from_geojson(obj: Any, where: str = "regions") -> list[Region]:
    """Inverse of :func:`regions_to_geojson`."""
    try:
        out = []
        for f in obj["features"]:
            props = dict(f.get("properties") or {})
            props.pop("objectType", None)
            cls = props.pop("classification", {}) or {}
            name = props.pop("name", "")
            if "id" in f:
                props["_id"] = f["id"]
            color = cls.get("color")
            out.append(Region(geometry=shapely.geometry.shape(f["geometry"]),
                              region_class=str(cls.get("name", "")), name=str(name),
                              color=None if color is None else tuple(int(c) for c in color),
                              properties=props))
        return out
    except Exception as exc:
        raise DvpInputError(f"{where} is not a valid regions GeoJSON "
                            f"({type(exc).__name__}: {exc}); restore it from a backup") from None

