"""Dock "LMD": choose cells or regions, plan samples and wells, calibrate, export for the laser.

The dock coordinates small sub-widgets, each handed the viewer and what it needs:

* :class:`~.cells.CellsBox` — the cells layer (one rule) and its class x region groups;
* :class:`~.plan_box.PlanBox` — pooling options, Make plan, the editable plan table
  (its colour column is the preview's legend: colour → sample → well);
* :class:`~.regions.RegionsBox` — drawn regions as samples of their own;
* a wells form (:class:`~napari_dvp.core.lmd.options.WellParams`);
* :class:`~.calibration.CalibrationBox` — numbered marks, QuPath points, PALM stage positions;
* :class:`~.export.ExportBox` — format, cut options, Export…/Cancel through the job runner;
* :class:`~.platemap.PlateMapView` — the plate map of the last export.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import QGroupBox, QLabel, QVBoxLayout

from ...core.errors import DvpInputError
from ...core.lmd import Calibration
from ...core.lmd.collectors import plan_wells
from ...core.lmd.options import WellParams
from .._common import cell_table_of, notify_errors
from .._forms import ParamsForm
from .._session import session_of
from .._slide import level0, slide_layers
from .._workspace import DvpDock
from .calibration import CAL_LAYER as CAL_LAYER  # re-exported
from .calibration import STAGE_HELP, CalibrationBox
from .cells import CellsBox
from .export import ExportBox
from .plan_box import PlanBox
from .platemap import PlateMapView
from .preview import PREVIEW_LAYER as PREVIEW_LAYER  # re-exported
from .preview import show_preview, show_sample_outlines
from .regions import RegionsBox, lmd_pixel_um

MAX_QC_BACKGROUND = 64_000_000  #: pixels of slide image the QC picture may read


def _section(title: str, *widgets) -> QGroupBox:
    box = QGroupBox(title)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(6, 4, 6, 6)
    for w in widgets:
        lay.addWidget(w)
    return box


class LmdWidget(DvpDock):
    """Choose cells (or regions) to collect, check the plan on the tissue, calibrate, export."""

    STEP = "LMD"
    GUIDE = ("<b>7 LMD</b> — needs cells with classes (or drawn regions) and the true pixel "
             "size; plan samples and wells, place marks 1-3, export the cut file. Next: "
             "<i>Proteins</i> (after MS).")

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        v = self.viewer
        self.cells = CellsBox(v)
        self.plan = PlanBox(v, self.cells)
        self.table = self.plan.table
        self.regions = RegionsBox(v, self.cells, self.table)
        self.wells = ParamsForm(WellParams)
        self.calibration = CalibrationBox(v, self.cells)
        self.triangle = QLabel()
        self.triangle.setWordWrap(True)
        self.triangle.setStyleSheet("color: #e6a23c;")
        self.triangle.hide()
        self.export = ExportBox(self._prepare)
        self.platemap = PlateMapView()
        for box in (_section("1  Cells to collect", self.cells),
                    _section("2  Samples (colour · sample · well)", self.plan),
                    _section("Regions as samples", self.regions),
                    _section("3  Wells", self.wells.native),
                    _section("4  Calibration marks", self.calibration, self.triangle),
                    _section("5  Export", self.export, self.platemap)):
            self.body.addWidget(box)
        self.body.addStretch(1)

        self.table.plan_changed.connect(self.preview)
        self.table.itemSelectionChanged.connect(self._outline_selected)
        self.wells.changed.connect(self.preview)
        self.calibration.changed.connect(self._check_triangle)
        self.export.form.fmt.changed.connect(self.calibration.set_format)
        self.export.exported.connect(self._exported)
        for box in (self.plan, self.regions):
            box.status.connect(self.export.status.setText)

    @property
    def result(self):
        """The last export's :class:`~napari_dvp.core.lmd.export.ExportResult` (or ``None``)."""
        return self.export.result

    # ------------------------------------------------------------------ preview
    @notify_errors
    def preview(self, *_) -> None:
        """Colour the planned cells by well on the tissue; wells and colours in the table."""
        plan = self.table.plan()
        ref = self.cells.layer() if len(plan) else None
        wells = plan_wells(plan, self.wells.params().collector()) if len(plan) else {}
        colours = show_preview(self.viewer, ref, plan, wells)
        if len(plan):
            self.table.show_wells(wells, colours)
        self._check_triangle()

    @notify_errors
    def _outline_selected(self) -> None:
        rows = self.table.selected_rows()
        if rows:
            show_sample_outlines(self.viewer, self.cells.layer(), self.table.plan(), rows[0])

    def _check_triangle(self) -> None:
        """Warn when planned cells lie outside the triangle of the three marks."""
        plan = self.table.plan()
        self.triangle.hide()
        try:
            marks = self.calibration.marks()
        except DvpInputError:  # no cells yet
            return
        if len(marks) != 3 or not len(plan):
            return
        table = cell_table_of(self.cells.layer()).set_index("cell_id")
        ids = [int(c) for cid in plan["cell_ids"] for c in cid]
        pts = table.reindex(ids)[["centroid_col", "centroid_row"]].dropna().to_numpy()
        if not len(pts):
            return
        try:
            inside = Calibration(marks, 1.0).inside_triangle(pts)
        except Exception:  # unusable marks: the calibration status says why
            return
        n_out = int((~inside).sum())
        if n_out:
            self.triangle.setText(
                f"⚠ {n_out} of {len(pts)} planned cells lie outside the triangle of marks 1-3: "
                "positions there are extrapolated; marks around the tissue cut more accurately.")
            self.triangle.show()

    # ------------------------------------------------------------------ export
    def _prepare(self) -> dict:
        """Everything the export needs, checked (one-line errors before any dialog)."""
        layer = self.cells.layer()
        px = lmd_pixel_um(self.viewer)
        plan = self.table.plan()
        if not len(plan):
            raise DvpInputError("the sample plan is empty; select groups and click 'Make plan' "
                                "(or add regions as samples) first")
        marks = self.calibration.marks()
        if len(marks) != 3:
            raise DvpInputError(f"{len(marks)} calibration marks; place exactly 3 ('Pick marks "
                                "on the image' or 'From QuPath GeoJSON…')")
        labels = np.asarray(level0(layer))
        fmt = self.export.form.params().fmt
        stage = self.calibration.stage_um() if fmt == "palm" else None
        if fmt == "palm" and stage is None:
            raise DvpInputError(STAGE_HELP)
        cal = Calibration(marks, px, stage_um=stage)
        cal.check(labels.shape)
        if fmt == "palm":
            cal.check_stage()
        images = slide_layers(self.viewer)
        image = None
        if images and np.prod(level0(images[0]).shape[:2]) <= MAX_QC_BACKGROUND:
            image = np.asarray(level0(images[0]))
        sources = [getattr(lay.source, "path", None) for lay in [layer, *images]]
        return {"labels": labels, "plan": plan, "calibration": cal, "image": image,
                "wells": self.wells.params(),
                "inputs": [*sources, self.calibration.source]}

    def _exported(self, res) -> None:
        from pathlib import Path

        from ...core.lmd.qc import well_colours

        session_of(self.viewer).put("manifests", Path(res.out_dir).name, res.manifest,
                                    source=self)
        wells = dict(zip(res.manifest["sample_id"], res.manifest["well"], strict=True))
        self.table.show_wells(wells, well_colours(list(res.manifest["well"])))
        if res.plate_map is not None:
            self.platemap.set_map(res.plate_map, well_colours(list(res.manifest["well"])))
