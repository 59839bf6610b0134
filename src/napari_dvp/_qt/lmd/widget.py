"""Dock widget "LMD export": plan the samples, pick calibration marks, export for the microscope."""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
)

from ...core.errors import DvpInputError
from ...core.lmd import PlanOptions, plan_samples
from ...core.lmd.collectors import make_collector, plan_wells
from ...core.lmd.plan_common import combine_plans, group_counts
from ...core.lmd.qc import well_lut
from ...core.lmd.shapes import cell_outlines
from ...core.overlay.lut import apply_lut
from .._common import cell_table_of, labels_layers, notify_errors
from .._session import session_of
from .._workspace import DvpDock
from .calibration import CAL_LAYER as CAL_LAYER  # re-exported
from .calibration import LmdCalibrationMixin
from .export import LmdExportMixin
from .inputs import GroupList, combo, spin
from .plan_table import PlanTable
from .regions import LmdRegionsMixin, cells_only, outlines_rc

PREVIEW_LAYER = "LMD preview (by well)"


class LmdWidget(LmdCalibrationMixin, LmdExportMixin, LmdRegionsMixin, DvpDock):
    """Choose cells (or regions) to collect, check the plan on the tissue, calibrate, export."""

    STEP = "LMD"
    GUIDE = ("<b>7 LMD</b> — needs cells with classes or regions; plan wells, calibrate, "
             "export the cut file. Next: <i>Proteins</i> (after MS).")

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.worker = None
        self.result = None
        self._watched = None  # the labels layer whose cell-table changes refresh the groups
        lay = self.body
        form = QFormLayout()
        self.labels_box = combo([], "The segmentation whose cells are cut")
        self.groups = GroupList()
        self.target_kind = combo(["total cell area (µm²)", "number of cells"],
                                  "Pool cells until each sample reaches this amount")
        self.target = spin(1, 1e7, 50_000, "Target per sample", 1000, 0)
        self.replicates = QSpinBox()
        self.replicates.setRange(1, 96)
        self.replicates.setToolTip("Samples (wells) per class x region")
        self.mode = combo(["spread over the tissue", "contiguous patches"],
                           "Random cells across the tissue, or compact patches of neighbours")
        self.skip_touching = QCheckBox("skip cells touching another selected cell")
        for text, w in (("Cells of", self.labels_box), ("Collect", self.groups),
                        ("Per sample", self.target_kind), ("Target", self.target),
                        ("Replicates", self.replicates), ("Take cells", self.mode)):
            form.addRow(text, w)
        form.addRow(self.skip_touching)
        lay.addLayout(form)
        self.plan_btn = QPushButton("Make plan")
        lay.addWidget(self.plan_btn)
        self.pixel = spin(0.01, 100, 0.5, "Image pixel size in µm", 0.05, 3)
        lay.addWidget(self._build_regions())
        self.table = PlanTable()
        self.table.setMinimumHeight(110)
        lay.addWidget(self.table)
        self.drop_btn = QPushButton("Drop selected samples")
        lay.addWidget(self.drop_btn)

        form2 = QFormLayout()
        self.cal_btn = QPushButton("Pick calibration marks")
        self.cal_status = QLabel("No calibration marks yet")
        self.cal_status.setWordWrap(True)
        form2.addRow(self.cal_btn)
        form2.addRow(self.cal_status)
        self.plate = combo(["384", "96", "strip8"], "Collector: 384-/96-well plate, 8-tube strip")
        self.skip_outer = QCheckBox("leave outer wells empty")
        self.order = combo(["row", "column", "serpentine"], "Order in which wells are filled")
        self.dilate = spin(0, 20, 1.0, "Margin cut around each cell (µm)", 0.25, 2)
        self.simplify = spin(0, 5, 0.3, "Outline simplification tolerance (µm)", 0.1, 2)
        self.fmt = combo(["leica", "palm"], "Leica LMD XML or Zeiss PALM elements file")
        for text, w in (("Pixel size µm", self.pixel), ("Collector", self.plate),
                        ("", self.skip_outer), ("Fill order", self.order),
                        ("Margin µm", self.dilate), ("Simplify µm", self.simplify),
                        ("Format", self.fmt)):
            form2.addRow(text, w)
        lay.addLayout(form2)
        row = QHBoxLayout()
        self.export_btn = QPushButton("Export…")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        row.addWidget(self.export_btn)
        row.addWidget(self.cancel_btn)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)

        self.labels_box.currentTextChanged.connect(self._fill_groups)
        self.plan_btn.clicked.connect(self.make_plan)
        self.drop_btn.clicked.connect(self.table.drop_selected)
        self.table.plan_changed.connect(self.preview)
        self.table.itemSelectionChanged.connect(self.preview_selected_well)
        self.cal_btn.clicked.connect(self.pick_calibration)
        self.plate.currentTextChanged.connect(self.preview)  # wells follow the collector
        self.skip_outer.toggled.connect(self.preview)
        self.order.currentTextChanged.connect(self.preview)
        self.export_btn.clicked.connect(self._export_clicked)
        self.cancel_btn.clicked.connect(self.cancel)
        self.viewer.layers.events.inserted.connect(self._fill_labels)
        self.viewer.layers.events.removed.connect(self._fill_labels)
        self._fill_labels()
        self._fill_regions()

    # --- inputs ---------------------------------------------------------------------------
    def _layer(self):
        name = self.labels_box.currentText()
        if name not in self.viewer.layers:
            raise DvpInputError("no labels layer chosen; open or segment cells first")
        return self.viewer.layers[name]

    def _fill_labels(self, *_):
        names = [lay.name for lay in labels_layers(self.viewer)]
        current = self.labels_box.currentText()
        if names == [self.labels_box.itemText(i) for i in range(self.labels_box.count())]:
            return
        self.labels_box.blockSignals(True)
        self.labels_box.clear()
        self.labels_box.addItems(names)
        self.labels_box.blockSignals(False)
        if current in names:
            self.labels_box.setCurrentText(current)
        self._fill_groups()
        self._fill_regions()

    def _fill_groups(self, *_):
        keep = set(self.chosen_groups())
        self.groups.clear()
        if self.labels_box.currentText() not in self.viewer.layers:
            return
        layer = self._layer()
        if self._watched is not layer:  # classes/regions/QC arrive later: list them then
            if self._watched is not None:
                self._watched.events.features.disconnect(self._fill_groups)
            layer.events.features.connect(self._fill_groups)
            self._watched = layer
        px = layer.metadata.get("pixel_size_um") or (layer.scale[-1] if layer.scale[-1] != 1
                                                     else None)
        if px:
            self.pixel.setValue(float(px))
        self.groups.fill(group_counts(cell_table_of(layer)), keep)

    def chosen_groups(self) -> list[tuple[str, str]]:
        """The selected (class, region) pairs, in list order."""
        return self.groups.chosen()

    # --- plan and preview --------------------------------------------------------------------
    @notify_errors
    def make_plan(self, *_):
        """Pool the chosen groups into samples and show the plan (region samples stay)."""
        layer = self._layer()
        by_cells = self.target_kind.currentIndex() == 1
        opts = PlanOptions(target_area_um2=None if by_cells else self.target.value(),
                           target_cells=int(self.target.value()) if by_cells else None,
                           replicates=self.replicates.value(),
                           mode="contiguous" if self.mode.currentIndex() else "spread",
                           skip_touching=self.skip_touching.isChecked())
        labels = np.asarray(layer.data) if opts.skip_touching else None
        plan = plan_samples(cell_table_of(layer), self.chosen_groups(), opts, labels=labels)
        old = self.table.plan()
        if len(old) and "kind" in old:
            plan = combine_plans(plan, old[old["kind"] == "region"])
        self.table.set_plan(plan)
        session_of(self.viewer).put("plans", "LMD plan", plan, source=self)
        warn = plan.attrs.get("warnings", [])
        self.status.setText(f"{len(plan)} samples planned." + (" " + "; ".join(warn[:3])
                                                              if warn else ""))

    @notify_errors
    def preview(self, *_):
        """Colour planned cells by well (one image through a lookup table); regions as shapes."""
        plan = self.table.plan()
        if not len(plan):
            self._preview_regions(plan, {})
            return
        col = make_collector(self.plate.currentText(), skip_outer=self.skip_outer.isChecked(),
                             order=self.order.currentText())
        wells = plan_wells(plan, col)
        self.table.show_wells(wells)
        layer = self._layer()
        data = apply_lut(layer.data, well_lut(cells_only(plan), wells, int(np.max(layer.data))))
        if PREVIEW_LAYER in self.viewer.layers:
            self.viewer.layers[PREVIEW_LAYER].data = data
        else:
            self.viewer.add_image(data, name=PREVIEW_LAYER, rgb=True, scale=layer.scale,
                                  units=layer.units,
                                  translate=layer.translate, opacity=0.8)
        self._preview_regions(plan, wells)

    @notify_errors
    def preview_selected_well(self, *_):
        """Outline the cells (or region pieces) of the selected sample as shapes."""
        rows = self.table.selected_rows()
        if not rows:
            return
        plan = self.table.plan()
        layer = self._layer()
        if plan.at[rows[0], "kind"] == "region":
            polys = plan.at[rows[0], "geometry"]
        else:
            ids = np.asarray(plan.at[rows[0], "cell_ids"], dtype=np.int64)
            polys, _ = cell_outlines(np.asarray(layer.data), ids, 0.0)
        data = outlines_rc(polys)
        name = "LMD sample outlines"
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        self.viewer.add_shapes(data, shape_type="polygon", name=name, edge_color="yellow",
                               face_color="transparent", edge_width=1.5, scale=layer.scale,
                               units=layer.units)
