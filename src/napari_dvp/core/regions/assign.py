"""Tissue regions: named polygons drawn by the pathologist, and which cell lies in which.

A region is a shapely geometry in full-resolution pixel coordinates (x = column,
y = row, as QuPath GeoJSON) with a *region class* (``epidermis``, ``dermis``,
``blister`` …). Every cell gets the class of the region its centroid falls in
(:func:`assign_regions`, vectorised with a shapely 2 ``STRtree`` query over all
centroids at once). Regions of an *exclude* class (``exclude``, ``artefact``,
QuPath's ``Ignore*``) win over any other region and remove their cells from
selection for microdissection (:func:`excluded_mask`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from ..cells.columns import AREA_UM2, CELL_ID, COL, REGION, ROW, validate
from ..errors import DvpInputError

#: Region class of the exclusion areas (folds, tears, pen marks, out-of-focus tissue).
EXCLUDE = "exclude"
#: Names that also mean "exclude" (QuPath uses "Ignore*").
EXCLUDE_ALIASES = frozenset({"exclude", "artefact", "artifact", "ignore", "ignore*",
                             "exclude/artefact"})


@dataclass(frozen=True)
class RegionClass:
    """A kind of region, with the colour it is drawn in.

    Parameters
    ----------
    name
        Region class name as it appears in the cell table's ``region`` column.
    color
        RGB, integers 0-255 (QuPath's convention).
    """

    name: str
    color: tuple[int, int, int]

    @property
    def is_exclude(self) -> bool:
        """True if cells in this region are removed from selection."""
        return is_exclude_name(self.name)


#: The editable default list shown in the Regions widget.
DEFAULT_REGION_CLASSES: tuple[RegionClass, ...] = (
    RegionClass("epidermis", (214, 96, 77)),
    RegionClass("dermis", (67, 147, 195)),
    RegionClass("blister", (254, 224, 139)),
    RegionClass("lesion border", (153, 112, 171)),
    RegionClass(EXCLUDE, (90, 90, 90)),
)

_PALETTE = (
    (27, 158, 119), (217, 95, 2), (117, 112, 179), (231, 41, 138), (102, 166, 30),
    (230, 171, 2), (166, 118, 29), (31, 120, 180), (251, 154, 153), (178, 223, 138),
)


def is_exclude_name(name: str) -> bool:
    """True if a region class name means "exclude these cells"."""
    n = str(name).strip().lower()
    return n in EXCLUDE_ALIASES or n.startswith("exclude")


def color_for(name: str, known: Iterable[RegionClass] = DEFAULT_REGION_CLASSES,
              ) -> tuple[int, int, int]:
    """Colour of a region class: from ``known`` if listed, else a stable palette colour."""
    for rc in known:
        if rc.name.lower() == str(name).lower():
            return rc.color
    if is_exclude_name(name):
        return (90, 90, 90)
    h = sum((i + 1) * ord(c) for i, c in enumerate(str(name)))
    return _PALETTE[h % len(_PALETTE)]


@dataclass
class Region:
    """One drawn region.

    Parameters
    ----------
    geometry
        Polygon or MultiPolygon in pixel coordinates, x = column, y = row.
    region_class
        Its class name (``epidermis`` …); this is what cells get.
    name
        Optional free-text name (QuPath's ``properties.name``).
    color
        Optional RGB colour; defaults to the class colour.
    properties
        Other properties to keep through a GeoJSON round trip.
    """

    geometry: shapely.Geometry
    region_class: str
    name: str = ""
    color: tuple[int, int, int] | None = None
    properties: dict = field(default_factory=dict)


RegionsLike = Mapping[str, shapely.Geometry] | Sequence[Region]


def as_regions(regions: RegionsLike) -> list[Region]:
    """Accept ``{class name: geometry}`` or a list of :class:`Region` and return the list."""
    if isinstance(regions, Mapping):
        out = [Region(geometry=g, region_class=str(k)) for k, g in regions.items()]
    else:
        out = list(regions)
    for r in out:
        if not isinstance(r, Region):
            raise DvpInputError(f"not a region: {r!r}; pass Region objects or {{name: polygon}}")
        if not isinstance(r.geometry, shapely.Geometry) or r.geometry.is_empty:
            raise DvpInputError(f"region '{r.region_class}' has no geometry; draw it again")
        if not str(r.region_class).strip():
            raise DvpInputError("a region has no class name; pick a region class for it")
    return out


def assign_regions(
    table: pd.DataFrame, regions: RegionsLike, unassigned: str = ""
) -> pd.Series:
    """Region class of every cell's centroid.

    Parameters
    ----------
    table
        Cell table with ``centroid_row`` and ``centroid_col`` (pixels).
    regions
        ``{class name: geometry}`` or a list of :class:`Region`.
    unassigned
        Value for cells outside every region.

    Returns
    -------
    pandas.Series
        Region class per row of ``table`` (same index), named ``region``.
        Where regions overlap, an exclude region wins, otherwise the one drawn
        last (topmost, as in the napari layer). Centroids exactly on a border
        count as inside.
    """
    validate(table, (CELL_ID, ROW, COL))
    regs = as_regions(regions)
    n = len(table)
    out = np.full(n, unassigned, dtype=object)
    if n == 0 or not regs:
        return pd.Series(out, index=table.index, name=REGION)
    x = table[COL].to_numpy(dtype=float)
    y = table[ROW].to_numpy(dtype=float)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DvpInputError("cell table has missing centroids; measure the cells again")
    geoms = np.array([shapely.make_valid(r.geometry) if not r.geometry.is_valid
                      else r.geometry for r in regs], dtype=object)
    tree = shapely.STRtree(geoms)
    pts = shapely.points(x, y)
    cell_idx, reg_idx = tree.query(pts, predicate="intersects")
    if cell_idx.size:
        # priority: exclude regions above all, then drawing order
        excl = np.array([is_exclude_name(r.region_class) for r in regs])
        prio = np.arange(len(regs)) + excl * len(regs)
        best = np.full(n, -1, dtype=np.int64)
        np.maximum.at(best, cell_idx, prio[reg_idx])
        hit = best >= 0
        reg_of = best[hit] % len(regs)
        names = np.array([r.region_class for r in regs], dtype=object)
        out[hit] = names[reg_of]
    return pd.Series(out, index=table.index, name=REGION)


def excluded_mask(table: pd.DataFrame) -> np.ndarray:
    """Boolean array: cells whose ``region`` is an exclude class (never cut)."""
    if REGION not in table.columns:
        return np.zeros(len(table), dtype=bool)
    names = table[REGION].astype(str)
    uniq = names.unique()
    bad = {u for u in uniq if is_exclude_name(u)}
    return names.isin(bad).to_numpy()


def region_counts(
    table: pd.DataFrame, regions: RegionsLike | None = None, pixel_size_um: float | None = None
) -> pd.DataFrame:
    """Cells and areas per region class.

    Parameters
    ----------
    table
        Cell table with a ``region`` column (see :func:`assign_regions`).
    regions
        The regions, to report their drawn area too (optional).
    pixel_size_um
        Pixel size to convert the drawn area to µm² (else it is in pixels²).

    Returns
    -------
    pandas.DataFrame
        Columns ``region, n_cells, cell_area_um2`` and, with ``regions``,
        ``region_area`` (µm² with ``pixel_size_um``, else px²). One row per
        region class, "" (outside every region) last if present.
    """
    if REGION not in table.columns:
        raise DvpInputError("cell table has no 'region' column; assign cells to regions first")
    g = table.groupby(table[REGION].astype(str), sort=False)
    res = pd.DataFrame({"n_cells": g.size()})
    if AREA_UM2 in table.columns:
        res["cell_area_um2"] = g[AREA_UM2].sum()
    else:
        res["cell_area_um2"] = np.nan
    order = []
    if regions is not None:
        regs = as_regions(regions)
        areas: dict[str, float] = {}
        for r in regs:
            areas[r.region_class] = areas.get(r.region_class, 0.0) + float(r.geometry.area)
            if r.region_class not in order:
                order.append(r.region_class)
        scale = pixel_size_um**2 if pixel_size_um else 1.0
        res = res.reindex(res.index.union(pd.Index(order), sort=False))
        res["n_cells"] = res["n_cells"].fillna(0).astype(int)
        res["cell_area_um2"] = res["cell_area_um2"].fillna(0.0)
        res["region_area"] = [areas.get(k, np.nan) * scale for k in res.index]
    rest = sorted(k for k in res.index if k not in order and k != "")
    idx = order + rest + ([""] if "" in res.index else [])
    res = res.loc[idx]
    res.index.name = REGION
    return res.reset_index()
