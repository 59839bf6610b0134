"""A QuPath object (:class:`GeoFeature`), its object types and the repair warning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
import shapely.geometry

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

