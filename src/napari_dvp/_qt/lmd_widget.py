"""Dock widget "LMD export": plan the samples, pick calibration marks, export for the microscope."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import DvpInputError, one_line
from ..core.lmd import Calibration, ExportOptions, PlanOptions, plan_samples
from ..core.lmd.calibration import check_marks
from ..core.lmd.collectors import make_collector, plan_wells
from ..core.lmd.export import export_lmd_steps
from ..core.lmd.qc import well_lut
from ..core.lmd.shapes import cell_outlines
from ..core.lut import apply_lut
from ._common import cell_table_of, labels_layers, notify_errors, show_info
from ._session import session_of
from .lmd_plan_table import PlanTable

CAL_LAYER = "calibration"
PREVIEW_LAYER = "LMD preview (by well)"


def _combo(items, tip: str) -> QComboBox:
    box = QComboBox()
    box.addItems(items)
    box.setToolTip(tip)
    return box


def _spin(lo, hi, val, tip, step=1.0, dec=1) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(dec)
    box.setSingleStep(step)
    box.setValue(val)
    box.setToolTip(tip)
    return box


class LmdWidget(QWidget):
    """Choose cells to collect, check the plan on the tissue, calibrate and export."""

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.worker = None
        self.result = None
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.labels_box = _combo([], "The segmentation whose cells are cut")
        self.groups = QListWidget()
        self.groups.setToolTip("Select (Ctrl/Shift-click) each cell class x tissue region to "
                               "collect")
        self.groups.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.groups.setMaximumHeight(120)
        self.target_kind = _combo(["total cell area (µm²)", "number of cells"],
                                  "Pool cells until each sample reaches this amount")
        self.target = _spin(1, 1e7, 50_000, "Target per sample", 1000, 0)
        self.replicates = QSpinBox()
        self.replicates.setRange(1, 96)
        self.replicates.setToolTip("Samples (wells) per class x region")
        self.mode = _combo(["spread over the tissue", "contiguous patches"],
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
        self.table = PlanTable()
        lay.addWidget(self.table)
        self.drop_btn = QPushButton("Drop selected samples")
        lay.addWidget(self.drop_btn)

        form2 = QFormLayout()
        self.cal_btn = QPushButton("Pick calibration marks")
        self.cal_status = QLabel("No calibration marks yet")
        self.cal_status.setWordWrap(True)
        form2.addRow(self.cal_btn)
        form2.addRow(self.cal_status)
        self.pixel = _spin(0.01, 100, 0.5, "Image pixel size in µm", 0.05, 3)
        self.plate = _combo(["384", "96", "strip8"], "Collector: 384-/96-well plate, 8-tube strip")
        self.skip_outer = QCheckBox("leave outer wells empty")
        self.order = _combo(["row", "column", "serpentine"], "Order in which wells are filled")
        self.dilate = _spin(0, 20, 1.0, "Margin cut around each cell (µm)", 0.25, 2)
        self.simplify = _spin(0, 5, 0.3, "Outline simplification tolerance (µm)", 0.1, 2)
        self.fmt = _combo(["leica", "palm"], "Leica LMD XML or Zeiss PALM elements file")
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
        self.groups.itemSelectionChanged.connect(self._mark_groups)
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

    def _fill_groups(self, *_):
        keep = set(self.chosen_groups())
        self.groups.clear()
        if self.labels_box.currentText() not in self.viewer.layers:
            return
        layer = self._layer()
        px = layer.metadata.get("pixel_size_um") or (layer.scale[-1] if layer.scale[-1] != 1
                                                     else None)
        if px:
            self.pixel.setValue(float(px))
        cells = cell_table_of(layer)
        if not {"class", "region"} <= set(cells.columns):
            return
        counts = cells.groupby(["class", "region"]).size()
        for (c, r), n in counts.items():
            if str(r).lower() == "exclude" or not str(c):
                continue
            item = QListWidgetItem(f"    {c} · {r}  ({n} cells)")
            item.setData(Qt.ItemDataRole.ToolTipRole, f"{c} · {r}  ({n} cells)")
            item.setData(Qt.ItemDataRole.UserRole, (str(c), str(r)))
            self.groups.addItem(item)
            item.setSelected((str(c), str(r)) in keep)

    def _mark_groups(self, *_):
        for i in range(self.groups.count()):
            it = self.groups.item(i)
            base = it.data(Qt.ItemDataRole.ToolTipRole)
            it.setText(("✔ " if it.isSelected() else "    ") + base)

    def chosen_groups(self) -> list[tuple[str, str]]:
        """The selected (class, region) pairs, in list order."""
        items = (self.groups.item(i) for i in range(self.groups.count()))
        return [it.data(Qt.ItemDataRole.UserRole) for it in items if it.isSelected()]

    # --- plan and preview --------------------------------------------------------------------
    @notify_errors
    def make_plan(self, *_):
        """Pool the chosen groups into samples and show the plan."""
        layer = self._layer()
        by_cells = self.target_kind.currentIndex() == 1
        opts = PlanOptions(target_area_um2=None if by_cells else self.target.value(),
                           target_cells=int(self.target.value()) if by_cells else None,
                           replicates=self.replicates.value(),
                           mode="contiguous" if self.mode.currentIndex() else "spread",
                           skip_touching=self.skip_touching.isChecked())
        labels = np.asarray(layer.data) if opts.skip_touching else None
        plan = plan_samples(cell_table_of(layer), self.chosen_groups(), opts, labels=labels)
        self.table.set_plan(plan)
        session_of(self.viewer).put("plans", "LMD plan", plan, source=self)
        warn = plan.attrs.get("warnings", [])
        self.status.setText(f"{len(plan)} samples planned." + (" " + "; ".join(warn[:3])
                                                              if warn else ""))

    @notify_errors
    def preview(self, *_):
        """Colour every planned cell by its well (one image layer through a lookup table)."""
        plan = self.table.plan()
        if not len(plan):
            return
        col = make_collector(self.plate.currentText(), skip_outer=self.skip_outer.isChecked(),
                             order=self.order.currentText())
        wells = plan_wells(plan, col)
        self.table.show_wells(wells)
        layer = self._layer()
        data = apply_lut(layer.data, well_lut(plan, wells, int(np.max(layer.data))))
        if PREVIEW_LAYER in self.viewer.layers:
            self.viewer.layers[PREVIEW_LAYER].data = data
        else:
            self.viewer.add_image(data, name=PREVIEW_LAYER, rgb=True, scale=layer.scale,
                                  units=layer.units,
                                  translate=layer.translate, opacity=0.8)

    @notify_errors
    def preview_selected_well(self, *_):
        """Outline the cells of the selected sample as shapes (one well: few polygons)."""
        rows = self.table.selected_rows()
        if not rows:
            return
        plan = self.table.plan()
        ids = np.asarray(plan.at[rows[0], "cell_ids"], dtype=np.int64)
        layer = self._layer()
        polys, _ = cell_outlines(np.asarray(layer.data), ids, 0.0)
        import shapely

        data = [np.asarray(p.exterior.coords)[:, ::-1] for p in shapely.get_parts(polys)]
        name = "LMD sample outlines"
        if name in self.viewer.layers:
            self.viewer.layers.remove(name)
        self.viewer.add_shapes(data, shape_type="polygon", name=name, edge_color="yellow",
                               face_color="transparent", edge_width=1.5, scale=layer.scale,
                               units=layer.units)

    # --- calibration -------------------------------------------------------------------------
    def pick_calibration(self, *_):
        """Create (or select) the "calibration" points layer and guide the user."""
        if CAL_LAYER not in self.viewer.layers:
            ref = self._layer()
            pts = self.viewer.add_points(np.empty((0, 2)), name=CAL_LAYER, symbol="cross",
                                         size=12, face_color="red", border_color="red",
                                         scale=ref.scale[-2:], translate=ref.translate[-2:],
                                         units=ref.units[-2:])
            pts.events.data.connect(self._marks_changed)
        pts = self.viewer.layers[CAL_LAYER]
        self.viewer.layers.selection.active = pts
        pts.mode = "add"
        self._marks_changed()

    def marks(self) -> np.ndarray:
        """The picked marks, (row, col) in pixels (first three)."""
        if CAL_LAYER not in self.viewer.layers:
            raise DvpInputError("no calibration marks; click 'Pick calibration marks' first")
        layer = self.viewer.layers[CAL_LAYER]
        pts = np.asarray(layer.data, dtype=float)[:, -2:]
        if not len(pts):
            return pts
        # points layer data -> world -> pixels of the cells layer (any scale/translate)
        ref = self._layer()
        world = pts * np.asarray(layer.scale[-2:]) + np.asarray(layer.translate[-2:])
        return (world - np.asarray(ref.translate[-2:])) / np.asarray(ref.scale[-2:])

    def _marks_changed(self, *_):
        m = self.marks()
        if len(m) < 3:
            self.cal_status.setText(f"Click calibration mark {len(m) + 1} of 3 on the image "
                                    "(the same marks, in the same order, as on the slide).")
            return
        if len(m) > 3:
            self.cal_status.setText("More than 3 marks: delete the extra ones.")
            return
        try:
            warn = check_marks(m, np.asarray(self._layer().data).shape)
            self.cal_status.setText("Calibration marks OK. " + " ".join(warn))
            self.viewer.layers[CAL_LAYER].mode = "pan_zoom"
        except DvpInputError as exc:
            self.cal_status.setText(f"Not usable: {one_line(exc)}")

    # --- export ------------------------------------------------------------------------------
    def _export_clicked(self, *_):
        folder = QFileDialog.getExistingDirectory(self, "Folder for the LMD export")
        if folder:
            self.export_to(Path(folder) / f"lmd_{_dt.datetime.now():%Y%m%d-%H%M%S}")

    @notify_errors
    def export_to(self, out_dir: Path):
        """Export the plan into ``out_dir`` in a background thread."""
        from napari.qt.threading import create_worker

        layer = self._layer()
        plan = self.table.plan()
        marks = self.marks()
        if len(marks) != 3:
            raise DvpInputError(f"{len(marks)} calibration marks; pick exactly 3")
        cal = Calibration(marks, self.pixel.value())
        opts = ExportOptions(fmt=self.fmt.currentText(), plate=self.plate.currentText(),
                             skip_outer=self.skip_outer.isChecked(),
                             fill_order=self.order.currentText(),
                             dilate_um=self.dilate.value(), simplify_um=self.simplify.value())
        gen = export_lmd_steps(np.asarray(layer.data), plan, cal, out_dir, opts,
                               cells=cell_table_of(layer))
        def work():
            return (yield from gen)

        self.worker = create_worker(work)
        self.worker.finished.connect(gen.close)  # a cancelled export removes its temp folder
        self.worker.yielded.connect(self._progress)
        self.worker.returned.connect(self._done)
        self.worker.errored.connect(lambda e: self.status.setText(f"Export failed: {e}"))
        self.worker.errored.connect(notify_errors(_raise))
        self.worker.finished.connect(lambda: self._busy(False))
        self._busy(True)
        self.worker.start()

    def _busy(self, busy: bool) -> None:
        self.export_btn.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)

    def _progress(self, step) -> None:
        done, total, what = step
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.status.setText(what)

    def _done(self, result) -> None:
        self.result = result
        session_of(self.viewer).put("manifests", Path(result.out_dir).name, result.manifest,
                                    source=self)
        self.status.setText(f"Exported {result.n_shapes} shapes in {len(result.manifest)} wells "
                            f"to {result.out_dir}")
        show_info(f"LMD export written to {result.out_dir}")

    def cancel(self, *_):
        """Stop the running export; nothing is written."""
        if self.worker is not None:
            self.worker.quit()
            self.status.setText("Export cancelled; nothing was written.")


def _raise(exc):
    raise exc
