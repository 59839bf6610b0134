"""What a QuPath GeoJSON export holds, sorted the way napari-dvp shows it, and said in one line.

A QuPath export mixes regions (annotations with an area), lines, detections or
cells, and point annotations. Point annotations named ``calib1`` … ``calib3``
(or ``cal 1``, ``calibration_2`` …), or of a class whose name contains
``calib``, are the three laser-microdissection calibration marks (the
Qupath_to_LMD convention); other points are grouped by class. Nothing is
dropped without saying so: :func:`describe` gives the one line the user sees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import shapely

from ..geojson import GeoFeature

__all__ = ["SortedAnnotations", "describe", "is_calibration", "sort_features"]

_CALIB_NAME = re.compile(r"^\s*cal(?:ib(?:ration)?)?[\s_\-#]*(\d+)\s*$", re.IGNORECASE)
_CALIB_CLASS = re.compile(r"calib", re.IGNORECASE)
DETECTION_TYPES = ("detection", "cell")


def calibration_number(feature: GeoFeature) -> int | None:
    """The mark number of a calibration point named like ``calib2`` (else ``None``)."""
    m = _CALIB_NAME.match(feature.name or "")
    return int(m.group(1)) if m else None


def is_calibration(feature: GeoFeature) -> bool:
    """Whether a point annotation is an LMD calibration mark (by its name or class)."""
    if shapely.get_dimensions(feature.geometry) != 0:
        return False
    return calibration_number(feature) is not None or bool(
        _CALIB_CLASS.search(feature.class_name or ""))


@dataclass
class SortedAnnotations:
    """A GeoJSON file's objects, sorted for display.

    Attributes
    ----------
    shapes
        Annotations with an area or a line (the regions layer).
    detections
        Detections and cells.
    calibration
        Calibration marks, in mark order (numbered names first, by number).
    points
        Other point annotations by class name ("" for unclassified).
    """

    shapes: list[GeoFeature] = field(default_factory=list)
    detections: list[GeoFeature] = field(default_factory=list)
    calibration: list[GeoFeature] = field(default_factory=list)
    points: dict[str, list[GeoFeature]] = field(default_factory=dict)

    @property
    def n_regions(self) -> int:
        """Annotations that enclose an area (regions)."""
        return sum(shapely.get_dimensions(f.geometry) == 2 for f in self.shapes)

    @property
    def n_lines(self) -> int:
        """Line annotations (kept in the regions layer as paths; they are not regions)."""
        return sum(shapely.get_dimensions(f.geometry) == 1 for f in self.shapes)

    @property
    def region_classes(self) -> list[str]:
        """Region classes in file order (a region without class is named by its name)."""
        return list(dict.fromkeys(f.class_name or f.name or "region" for f in self.shapes
                                  if shapely.get_dimensions(f.geometry) == 2))

    @property
    def n_points(self) -> int:
        """Point objects (each point of a MultiPoint counts) other than calibration marks."""
        return sum(_n_points(f) for fs in self.points.values() for f in fs)

    @property
    def n_calibration(self) -> int:
        """Calibration marks."""
        return sum(_n_points(f) for f in self.calibration)


def _n_points(f: GeoFeature) -> int:
    return int(shapely.get_num_geometries(f.geometry))


def sort_features(features: Sequence[GeoFeature]) -> SortedAnnotations:
    """Sort a file's features into regions, detections, calibration marks and point classes."""
    out = SortedAnnotations()
    calib: list[GeoFeature] = []
    for f in features:
        if f.object_type in DETECTION_TYPES:
            out.detections.append(f)
        elif shapely.get_dimensions(f.geometry) == 0:
            if is_calibration(f):
                calib.append(f)
            else:
                out.points.setdefault(f.class_name or "", []).append(f)
        else:
            out.shapes.append(f)
    numbered = sorted((f for f in calib if calibration_number(f) is not None),
                      key=calibration_number)
    out.calibration = numbered + [f for f in calib if calibration_number(f) is None]
    return out


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "es" if word.endswith("s") else "s")


def describe(found: SortedAnnotations) -> str:
    """One line: what was found, e.g. ``12 regions (3 classes), 3 calibration points``."""
    parts = []
    if found.n_regions:
        k = len(found.region_classes)
        parts.append(f"{_plural(found.n_regions, 'region')} ({_plural(k, 'class')})")
    if found.n_lines:
        parts.append(_plural(found.n_lines, "line"))
    if found.detections:
        parts.append(_plural(len(found.detections), "detection"))
    if found.n_points:
        k = len(found.points)
        parts.append(f"{_plural(found.n_points, 'point')} ({_plural(k, 'class')})")
    if found.n_calibration:
        parts.append(_plural(found.n_calibration, "calibration point"))
    return ", ".join(parts) if parts else "nothing to show"
