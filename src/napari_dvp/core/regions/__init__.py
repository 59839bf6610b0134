"""Tissue regions: named polygons and which cell lies in which (see :mod:`.assign`)."""

from .assign import (
    DEFAULT_REGION_CLASSES,
    EXCLUDE,
    EXCLUDE_ALIASES,
    Region,
    RegionClass,
    RegionsLike,
    as_regions,
    assign_regions,
    color_for,
    excluded_mask,
    is_exclude_name,
    region_counts,
)

__all__ = [
    "DEFAULT_REGION_CLASSES",
    "EXCLUDE",
    "EXCLUDE_ALIASES",
    "Region",
    "RegionClass",
    "RegionsLike",
    "as_regions",
    "assign_regions",
    "color_for",
    "excluded_mask",
    "is_exclude_name",
    "region_counts",
]
