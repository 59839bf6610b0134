"""Laser-microdissection (LMD) export: from selected cells to what the microscope cuts.

Sub-modules
-----------
plan
    Pool cells (class x region) into samples (re-exports the other plan modules).
plan_common
    Plan columns, which cells may be cut, combining plans.
plan_io
    Read a ``cell_id,sample[,well]`` table into a plan.
region_plan
    Drawn regions as samples, tiled into pieces.
shapes
    Cell contours -> dilation -> smoothing -> simplification -> per-sample merge,
    cross-sample conflicts resolved, small shapes removed (shapely 2, vectorised).
calibration
    Three calibration marks and the pixel -> LMD coordinate transform.
collectors
    Plates (384/96 wells), 8-tube strips and custom well lists.
cutpath
    Cut order within each well (nearest neighbour + 2-opt).
leica_xml, palm
    Vendor file writers (and the Leica reader).
export
    :func:`export_lmd`, the one entry point used by the CLI, the widget and the demo.
"""

from __future__ import annotations

from .calibration import Calibration, parse_marks
from .collectors import Collector, make_collector
from .export import ExportOptions, ExportResult, export_lmd
from .plan import PlanOptions, plan_from_table, plan_samples, region_samples

__all__ = [
    "Calibration",
    "Collector",
    "ExportOptions",
    "ExportResult",
    "PlanOptions",
    "export_lmd",
    "make_collector",
    "parse_marks",
    "plan_from_table",
    "plan_samples",
    "region_samples",
]
