"""Write features as the GeoJSON QuPath 0.5 exports (atomically)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
import shapely.geometry

from ..atomic import write_text_atomic
from ..regions import color_for
from ._model import GeoFeature
from ._pixels import to_qupath


def feature_to_dict(f: GeoFeature) -> dict:
    """One GeoJSON Feature as QuPath 0.5 writes it (coordinates +0.5: QuPath's frame)."""
    props: dict[str, Any] = {"objectType": f.object_type}
    if f.name:
        props["name"] = f.name
    if f.class_name:
        color = f.color or color_for(f.class_name)
        props["classification"] = {"name": f.class_name, "color": [int(c) for c in color]}
    props.update(f.properties)
    if f.nucleus is not None:
        props["nucleusGeometry"] = shapely.geometry.mapping(to_qupath(f.nucleus))
    return {
        "type": "Feature",
        "id": f.id or str(uuid.uuid4()),
        "geometry": shapely.geometry.mapping(to_qupath(f.geometry)),
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

