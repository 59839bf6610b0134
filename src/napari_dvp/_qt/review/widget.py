"""Review dock: flag suspicious cells, walk through them, accept/reject, correct, undo.

A coordinator of small parts: :class:`~.cells.CellsPicker` (which cells, at
which pixel size), :class:`~.form.QcForm` (thresholds), the list of flagged
cells, the decision buttons, :class:`~.edits.CellEdits` (delete / merge /
split / undo / redo, one undo order with napari's paint strokes) and the
canvas layers of :mod:`.overlay` (QC colours, the current cell's outline).
Measuring runs through the dock's :class:`~napari_dvp._qt._jobs.JobRunner`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton

from ...core.cells import columns as ct
from ...core.errors import DvpInputError
from ...core.layer_coords import data_to_world
from ...core.review import qc
from ...core.review.triage import next_pending
from .._common import ensure_consistent_units, notify_errors, show_info
from .._slide import current_slide
from .._workspace import DvpDock
from .cells import CellsPicker, ReviewCells
from .edits import SPLIT as SPLIT
from .edits import CellEdits
from .find import FlagFinder
from .form import QcForm
from .overlay import OUTLINE as OUTLINE
from .overlay import OVERLAY as OVERLAY
from .overlay import CellOutline, show_qc_overlay
from .table import camera_of, cell_list_view, legend_html

KEYS = {"Shift-A": "accept", "Shift-R": "reject", "Shift-N": "next_cell"}
HELP = ("<b>Keys</b>: Shift+N next flagged cell · Shift+A accept · Shift+R reject · "
        "Ctrl+Z undo · Ctrl+Shift+Z redo. Painting with the labels tools updates the table.")
DECISIONS = (("accept", "Accept", "Keep this cell as it is (Shift+A)"),
             ("reject", "Reject", "Exclude this cell from everything downstream (Shift+R)"),
             ("next_cell", "Next flagged", "Go to the next flagged cell still waiting for a "
                                           "decision (Shift+N)"))


class ReviewWidget(DvpDock):
    """Flag suspicious cells, jump to each, accept/reject, delete/merge/split with undo."""

    STEP = "Review"
    GUIDE = ("<b>3 Review</b> — needs cells; flag, fix and accept cells. Next: <i>Regions</i> "
             "or <i>Gating</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        ensure_consistent_units(self.viewer)
        self.cells = ReviewCells(self.viewer)
        self.outline = CellOutline(self.viewer, self._centroid)
        self._watched = None
        lay = self.body
        self.picker = CellsPicker(self.cells, self.refresh)
        lay.addWidget(self.picker)
        self.form = QcForm(lambda: [c.name for c in self.cells.channels()])
        lay.addWidget(self.form)
        self.finder = FlagFinder(self.cells, self.form, self._flagged)
        lay.addWidget(self.finder)
        self.model, self.proxy, self.view = cell_list_view(self)
        lay.addWidget(self.view)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip in DECISIONS:
            self.buttons[key] = b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(getattr(self, key))
            row.addWidget(b)
        lay.addLayout(row)
        self.edits = CellEdits(self.cells, self._changed)
        self.buttons.update(self.edits.buttons)
        lay.addWidget(self.edits)
        self.overlay_box = QCheckBox("Colour cells by QC state")
        self.overlay_box.setChecked(True)
        lay.addWidget(self.overlay_box)
        lay.addWidget(QLabel(legend_html()))
        self.status = QLabel("Press 'Find suspicious cells'.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        helptext = QLabel(HELP)
        helptext.setWordWrap(True)
        lay.addWidget(helptext)
        self.runner = self.finder.runner
        self.runner.status = self.status
        self.runner.busy += list(self.buttons.values())
        # names kept for the demo and older scripts
        self.cells_combo, self.nuclear_combo = self.picker.combo, self.form.nuclear
        self.find_btn = self.finder.find_btn

        self.view.clicked.connect(lambda idx: self.go_to_row(idx.row()))
        self.overlay_box.toggled.connect(self.update_overlay)
        self.viewer.layers.events.inserted.connect(self.refresh)
        self.viewer.layers.events.removed.connect(self.refresh)
        for key, name in KEYS.items():
            self.viewer.bind_key(key, self._key(name), overwrite=True)
        self.refresh()

    # ------------------------------------------------------------ plumbing
    def _key(self, name):
        def handler(viewer):
            getattr(self, name)()

        handler.__doc__ = f"napari-dvp review: {name.replace('_', ' ')}"
        return handler

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.edits.bind_viewer_keys(True)

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.edits.bind_viewer_keys(False)

    def refresh(self, *_) -> None:
        """Follow the slide and its cells layer: choices, undo order, outline."""
        slide = current_slide(self.viewer)
        if slide is not self._watched:
            if self._watched is not None:
                self._watched.changed.disconnect(self.refresh)
            self._watched = slide
            if slide is not None:
                slide.changed.connect(self.refresh)
        self.picker.refresh()
        self.form.refresh()
        layer = self.cells.layer() if self.picker.combo.currentData() else None
        self.edits.attach(layer)
        self.outline.follow(layer)
        self._show_list()

    _refresh_choices = refresh

    def _centroid(self, cid: int):
        table = self.cells.table()
        row = table.loc[table[ct.CELL_ID] == cid] if ct.ROW in table.columns else table.iloc[:0]
        return (float(row[ct.ROW].iloc[0]), float(row[ct.COL].iloc[0])) if len(row) else None

    def _show_list(self) -> None:
        """The flagged cells of the cells layer (empty before flagging or without cells)."""
        try:
            table = self.cells.table()
        except DvpInputError:  # no cells layer yet
            table = None
        flagged = table is not None and "qc_flagged" in table.columns
        self.model.set_frame(qc.suspicious(table, include_decided=True) if flagged
                             else pd.DataFrame())
        if flagged:
            self.view.resizeColumnsToContents()

    def _changed(self, message: str, box) -> None:
        """After an edit or decision: list, overlay, outline, status."""
        self._show_list()
        self.update_overlay(box=box)
        self.outline.update()
        self.status.setText(message)
        cid = int(self.cells.layer().selected_label)
        row = self._row_of(cid)
        if row is not None:
            self.view.selectRow(row)

    # -------------------------------------------------------------- actions
    def find_suspicious(self) -> None:
        """Measure the cells if needed (in the background), then flag them."""
        self.finder.find()

    def _flagged(self, message: str) -> None:
        self._show_list()
        self.update_overlay()
        self.status.setText(message)

    @notify_errors
    def go_to_row(self, row: int) -> None:
        self.go_to_cell(int(self.proxy.index(row, 0).data(Qt.ItemDataRole.UserRole)))

    def go_to_cell(self, cid: int) -> None:
        """Centre the view on cell ``cid``, select and outline it."""
        layer = self.cells.layer()
        rec = self.cells.table().set_index(ct.CELL_ID).loc[cid]
        world = data_to_world(np.array([rec[ct.ROW], rec[ct.COL]]), layer.scale, layer.translate)
        camera_of(self.viewer).center = tuple(world)
        layer.selected_label = cid
        why = (qc.reasons(rec.to_frame().T).iloc[0] if "qc_flagged" in rec.index else "")
        self.status.setText(f"Cell {cid}: {rec.get('area_um2', np.nan):.0f} µm²"
                            + (f", {why}" if why else ""))

    def _row_of(self, cid: int) -> int | None:
        for r in range(self.proxy.rowCount()):
            if int(self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole)) == cid:
                return r
        return None

    @notify_errors
    def next_cell(self) -> None:
        """Jump to the next pending flagged cell in the list's order."""
        current = int(self.cells.layer().selected_label)
        rows = range(self.proxy.rowCount())
        ids = [int(self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows]
        column = list(self.model.frame.columns).index(ct.QC_STATUS) if len(ids) else 0
        statuses = [self.proxy.index(r, column).data(Qt.ItemDataRole.UserRole) for r in rows]
        r = next_pending(ids, statuses, current)
        if r is None:
            show_info("No more cells waiting for a decision.")
            return
        self.view.selectRow(r)
        self.go_to_cell(ids[r])

    @notify_errors
    def accept(self) -> None:
        self.edits.decide(ct.QC_ACCEPTED)

    @notify_errors
    def reject(self) -> None:
        self.edits.decide(ct.QC_REJECTED)

    def delete(self) -> None:
        self.edits.delete()

    def undo(self) -> None:
        self.edits.undo()

    # ------------------------------------------------------------- overlay
    @notify_errors
    def update_overlay(self, *_, box=None) -> None:
        layer = self.cells.layer()
        table = self.cells.table()
        show = self.overlay_box.isChecked() and "qc_flagged" in table.columns
        show_qc_overlay(self.viewer, layer, table, box=box, visible=show)
