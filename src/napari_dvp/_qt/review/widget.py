"""Review segmentation: QC flags, a list of suspicious cells, accept/reject and corrections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dask.array as da
import numpy as np
from napari.layers import Image, Labels
from napari.qt.threading import thread_worker
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QCheckBox, QLabel, QProgressBar, QPushButton

from ...core.cells import columns as ct
from ...core.errors import DvpInputError
from ...core.layer_coords import data_to_world
from ...core.review import qc
from ...core.review.edits import EditHistory
from ...core.review.triage import flag_for_review, next_pending
from .._common import (
    cell_table_of,
    labels_layers,
    notify_errors,
    set_cell_table,
    show_info,
    show_warning,
)
from .._workspace import DvpDock
from .edits import SPLIT as SPLIT  # re-exported: the split-line layer name
from .edits import ReviewEditsMixin
from .form import QcForm, action_buttons
from .table import (
    OVERLAY,
    camera_of,
    cell_list_view,
    legend_html,
    level0,
    measure_job,
    reraise,
    show_qc_overlay,
)

if TYPE_CHECKING:
    import napari

KEYS = {"Shift-A": "accept", "Shift-R": "reject", "Shift-N": "next_cell"}
HELP = ("<b>Keys</b>: Shift+A accept · Shift+R reject · Shift+N next flagged cell. "
        "Paint/erase with the labels tools: the table follows.")


class ReviewWidget(ReviewEditsMixin, DvpDock):
    """Flag suspicious cells, jump to each, accept/reject, delete/merge/split with undo."""

    STEP = "Review"
    GUIDE = ("<b>3 Review</b> — needs cells; flag, fix and accept cells. Next: <i>Regions</i> "
             "or <i>Gating</i>.")

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        super().__init__(napari_viewer)
        self.history: EditHistory | None = None
        self._pending_merge: int | None = None
        self._worker = None
        lay = self.body
        self.form = QcForm()
        self.cells_combo, self.nuclear_combo = self.form.cells_combo, self.form.nuclear_combo
        self.min_area, self.max_area = self.form.min_area, self.form.max_area
        self.min_nuc, self.min_sol, self.border = (self.form.min_nuc, self.form.min_sol,
                                                   self.form.border)
        lay.addLayout(self.form)
        self.find_btn = QPushButton("Find suspicious cells")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        lay.addWidget(self.find_btn)
        lay.addWidget(self.progress)
        self.model, self.proxy, self.view = cell_list_view(self)
        self.setMinimumWidth(430)
        lay.addWidget(self.view)
        grid, self.buttons = action_buttons()
        lay.addLayout(grid)
        self.overlay_box = QCheckBox("Colour cells by QC state")
        self.overlay_box.setChecked(True)
        lay.addWidget(self.overlay_box)
        lay.addWidget(QLabel(legend_html()))
        self.status = QLabel("Pick the cells layer and press 'Find suspicious cells'.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        helptext = QLabel(HELP)
        helptext.setWordWrap(True)
        lay.addWidget(helptext)

        self.find_btn.clicked.connect(self.find_suspicious)
        self.view.clicked.connect(lambda idx: self.go_to_row(idx.row()))
        for key, button in self.buttons.items():
            button.clicked.connect(getattr(self, key))
        self.overlay_box.toggled.connect(self.update_overlay)
        self.viewer.layers.events.inserted.connect(self._refresh_choices)
        self.viewer.layers.events.removed.connect(self._refresh_choices)
        for key, name in KEYS.items():
            self.viewer.bind_key(key, self._key(name), overwrite=True)
        self._refresh_choices()

    # ------------------------------------------------------------ plumbing
    def _key(self, name):
        def handler(viewer):
            getattr(self, name)()

        handler.__doc__ = f"napari-dvp review: {name.replace('_', ' ')}"
        return handler

    def _refresh_choices(self, *_):
        for combo, names in (
            (self.cells_combo, [lay.name for lay in labels_layers(self.viewer)]),
            (self.nuclear_combo, [lay.name for lay in self._channels()]),
        ):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            guess = next((n for n in names if n.lower() in ("cells", "dapi", "hoechst")), None)
            combo.setCurrentText(current if current in names else guess or "")
            combo.blockSignals(False)

    def labels_layer(self) -> Labels:
        name = self.cells_combo.currentText()
        if not name or name not in self.viewer.layers:
            raise DvpInputError("no labels layer: segment the cells first or open a labels file")
        return self.viewer.layers[name]

    def _channels(self) -> list[Image]:
        """2-D single-channel image layers (the stained channels)."""
        return [lay for lay in self.viewer.layers
                if isinstance(lay, Image) and not lay.rgb and lay.ndim == 2
                and lay.name != OVERLAY]

    def _image(self, labels: Labels):
        chans = [c for c in self._channels()
                 if tuple(level0(c).shape) == tuple(level0(labels).shape)]
        if not chans:
            return None, []
        return da.stack([da.asarray(level0(c)) for c in chans]), [c.name for c in chans]

    def _pixel_size(self, labels: Labels) -> float:
        return float((labels.metadata or {}).get("pixel_size_um") or labels.scale[-1])

    def table(self):
        return cell_table_of(self.labels_layer())

    def set_table(self, table, box=None) -> None:
        """Store ``table`` on the layer, refresh the list and (part of) the overlay."""
        layer = self.labels_layer()
        set_cell_table(layer, table)
        if self.history is not None:
            self.history.table = table
        if "qc_flagged" in table.columns:
            self.model.set_frame(qc.suspicious(table, include_decided=True))
            self.view.resizeColumnsToContents()
        self.update_overlay(box=box)

    def selected_cell(self) -> int:
        cid = int(self.labels_layer().selected_label)
        if cid <= 0 or cid not in set(self.table()[ct.CELL_ID].tolist()):
            raise DvpInputError("select a cell first: click a row of the list")
        return cid

    # -------------------------------------------------------------- actions
    @notify_errors
    def find_suspicious(self, *_) -> None:
        layer = self.labels_layer()
        table = cell_table_of(layer)
        if ct.AREA_UM2 in table.columns and len(table):
            self._flag(table)
            return
        image, names = self._image(layer)
        if image is None and self._channels():
            show_warning(f"no image layer has the size of '{layer.name}' "
                         f"{tuple(level0(layer).shape)}: measuring shapes only, no intensities")
        job = thread_worker(measure_job)(level0(layer), image, names, self._pixel_size(layer))
        job.yielded.connect(lambda p: (self.progress.setMaximum(p[1]),
                                       self.progress.setValue(p[0])))
        job.returned.connect(notify_errors(self._flag))
        job.errored.connect(notify_errors(reraise))
        job.finished.connect(lambda: self.progress.setVisible(False))
        self.progress.setVisible(True)
        self.status.setText("Measuring the cells…")
        self._worker = job
        job.start()

    def _flag(self, table) -> None:
        table, n = flag_for_review(table, self.form.thresholds(),
                                   self.nuclear_combo.currentText() or None)
        self.set_table(table)
        self.status.setText(f"{n:,} of {len(table):,} cells flagged for review.")

    @notify_errors
    def go_to_row(self, row: int) -> None:
        cid = int(self.proxy.index(row, 0).data(Qt.ItemDataRole.UserRole))
        self.go_to_cell(cid)

    def go_to_cell(self, cid: int) -> None:
        layer = self.labels_layer()
        rec = self.table().set_index(ct.CELL_ID).loc[cid]
        world = data_to_world(np.array([rec[ct.ROW], rec[ct.COL]]), layer.scale, layer.translate)
        camera_of(self.viewer).center = tuple(world)
        layer.selected_label = cid
        self.status.setText(f"Cell {cid}: {rec.get('area_um2', np.nan):.0f} µm²")

    def _row_of(self, cid: int) -> int | None:
        for r in range(self.proxy.rowCount()):
            if int(self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole)) == cid:
                return r
        return None

    @notify_errors
    def next_cell(self) -> None:
        """Jump to the next pending flagged cell in the list's order."""
        current = int(self.labels_layer().selected_label)
        rows = range(self.proxy.rowCount())
        ids = [int(self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows]
        statuses = [self.proxy.index(r, 3).data(Qt.ItemDataRole.UserRole) for r in rows]
        r = next_pending(ids, statuses, current)
        if r is None:
            show_info("No more cells waiting for a decision.")
            return
        self.view.selectRow(r)
        self.go_to_cell(ids[r])

    def _decide(self, status: str) -> None:
        cid = self.selected_cell()
        self.set_table(qc.set_status(self.table(), [cid], status), box=self._box(cid))
        self.status.setText(f"Cell {cid} {status}.")
        row = self._row_of(cid)
        if row is not None:
            self.view.selectRow(row)

    @notify_errors
    def accept(self, *_) -> None:
        self._decide(ct.QC_ACCEPTED)

    @notify_errors
    def reject(self, *_) -> None:
        self._decide(ct.QC_REJECTED)

    # ------------------------------------------------------------- overlay
    @notify_errors
    def update_overlay(self, *_, box=None) -> None:
        table = self.table()
        show = self.overlay_box.isChecked() and "qc_flagged" in table.columns
        show_qc_overlay(self.viewer, self.labels_layer(), table, box=box, visible=show)
