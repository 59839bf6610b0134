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
contours
    Cell outlines from the labels, centroids, unselected neighbours of a selection.
shapes
    Cell contours -> dilation -> smoothing -> simplification -> per-sample merge,
    protection of other samples' and unselected cells (contamination limit), cells
    cut out of region samples, small shapes removed (shapely 2, vectorised).
snap
    Rounding to the file's 0.01 µm grid with valid geometry.
audit
    What was actually cut: per cell (cut / partial / lost, with the reason) and per
    sample (cells, area, purity, unselected area).
calibration
    Three calibration marks and the pixel -> LMD transform; PALM stage registration.
collectors
    Plates (384/96 wells), 8-tube strips, custom well lists, chosen wells per
    sample, the plate map.
qupath
    The QuPath -> LMD workflow: calibration points, samples from annotations,
    detections as cells.
cutpath
    Cut order within each well (nearest neighbour + 2-opt).
leica_xml, palm
    Vendor file writers (and the Leica reader).
export
    :func:`export_lmd`, the one entry point used by the CLI, the widget and the demo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from .calibration import Calibration, parse_marks
    from .collectors import Collector, make_collector
    from .export import ExportOptions, ExportResult, LmdLossError, export_lmd
    from .plan import PlanOptions, plan_from_table, plan_samples, region_samples

#: where each public name lives; imported on first use, so that the light
#: :mod:`.options` (read by ``napari-dvp export-lmd --help``) does not pull numpy in
_EXPORTS = {
    "Calibration": ".calibration",
    "Collector": ".collectors",
    "ExportOptions": ".export",
    "ExportResult": ".export",
    "LmdLossError": ".export",
    "PlanOptions": ".plan",
    "export_lmd": ".export",
    "make_collector": ".collectors",
    "parse_marks": ".calibration",
    "plan_from_table": ".plan",
    "plan_samples": ".plan",
    "region_samples": ".plan",
}

__all__ = [
    "Calibration",
    "Collector",
    "ExportOptions",
    "ExportResult",
    "LmdLossError",
    "PlanOptions",
    "export_lmd",
    "make_collector",
    "parse_marks",
    "plan_from_table",
    "plan_samples",
    "region_samples",
]


__getattr__ = lazy_exports(__name__, _EXPORTS)
