"""Review segmentation: QC flags, a list of suspicious cells, accept/reject and corrections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dask.array as da
import numpy as np
from napari.layers import Image, Labels, Shapes
from napari.qt.threading import thread_worker
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core import cell_table as ct
from ..core import qc
from ..core.edits import EditHistory
from ..core.errors import DvpInputError
from ._common import (
    cell_table_of,
    labels_layers,
    notify_errors,
    set_cell_table,
    show_info,
    show_warning,
)
from .review_table import (
    OVERLAY,
    camera_of,
    cell_list_view,
    legend_html,
    level0,
    measure_job,
    paint_extent,
    reraise,
    show_qc_overlay,
    spin_box,
)

if TYPE_CHECKING:
    import napari

SPLIT = "split line"
KEYS = {"Shift-A": "accept", "Shift-R": "reject", "Shift-N": "next_cell"}
HELP = ("<b>Keys</b>: Shift+A accept · Shift+R reject · Shift+N next flagged cell. "
        "Paint/erase with the labels tools: the table follows.")


class ReviewWidget(QWidget):
    """Flag suspicious cells, jump to each, accept/reject, delete/merge/split with undo."""

    def __init__(self, napari_viewer: napari.viewer.Viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.history: EditHistory | None = None
        self._pending_merge: int | None = None
        self._worker = None
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.cells_combo, self.nuclear_combo = QComboBox(), QComboBox()
        form.addRow("Cells (labels)", self.cells_combo)
        form.addRow("Nuclear channel", self.nuclear_combo)
        d = qc.QcThresholds()
        self.min_area = spin_box(0, 1e5, d.min_area_um2, " µm²", "Smaller cells are flagged")
        self.max_area = spin_box(1, 1e6, d.max_area_um2, " µm²", "Larger cells are flagged")
        self.min_nuc = spin_box(0, 1, d.min_nuclear_fraction, "",
                                  "Flag cells whose nuclear signal is below this fraction of the "
                                  "typical cell's (a cell without a nucleus is often background)")
        self.min_sol = spin_box(0, 1, d.min_solidity, "",
                                  "Flag ragged or merged shapes: area / convex area below this")
        self.border = QCheckBox("flag cells cut by the image border")
        self.border.setChecked(d.flag_border)
        for label, w in (("Smallest cell", self.min_area), ("Largest cell", self.max_area),
                         ("Min. nuclear signal", self.min_nuc), ("Min. solidity", self.min_sol)):
            form.addRow(label, w)
        form.addRow(self.border)
        lay.addLayout(form)
        self.find_btn = QPushButton("Find suspicious cells")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        lay.addWidget(self.find_btn)
        lay.addWidget(self.progress)
        self.model, self.proxy, self.view = cell_list_view(self)
        self.setMinimumWidth(430)
        lay.addWidget(self.view)
        grid = QGridLayout()
        self.buttons = {}
        for i, (key, text, tip) in enumerate((
            ("accept", "Accept", "Keep this cell as it is (Shift+A)"),
            ("reject", "Reject", "Exclude this cell from everything downstream (Shift+R)"),
            ("delete", "Delete", "Remove the cell's pixels"),
            ("merge", "Merge with…", "Then click the other cell: the smaller id survives"),
            ("split", "Split", "Draw a line across the cell in layer 'split line', then press"),
            ("undo", "Undo", "Undo the last delete / merge / split"),
        )):
            b = QPushButton(text)
            b.setToolTip(tip)
            grid.addWidget(b, i // 3, i % 3)
            self.buttons[key] = b
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
        for key in ("accept", "reject", "delete", "merge", "split", "undo"):
            self.buttons[key].clicked.connect(getattr(self, key))
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
        th = qc.QcThresholds(self.min_area.value(), self.max_area.value(), self.min_nuc.value(),
                             self.min_sol.value(), self.border.isChecked())
        nuclear = self.nuclear_combo.currentText() or None
        if nuclear and ct.mean_column(nuclear) not in table.columns:
            nuclear = None
        table = qc.flag_cells(table, th, nuclear)
        self.set_table(table)
        n = int((qc.qc_codes(table) == qc.QC_FLAGGED).sum())
        self.status.setText(f"{n:,} of {len(table):,} cells flagged for review.")

    @notify_errors
    def go_to_row(self, row: int) -> None:
        cid = int(self.proxy.index(row, 0).data(Qt.ItemDataRole.UserRole))
        self.go_to_cell(cid)

    def go_to_cell(self, cid: int) -> None:
        layer = self.labels_layer()
        rec = self.table().set_index(ct.CELL_ID).loc[cid]
        data_rc = np.array([rec[ct.ROW], rec[ct.COL]])
        world = data_rc * np.asarray(layer.scale[-2:]) + np.asarray(layer.translate[-2:])
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
        rows = [(r, int(self.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole)),
                 self.proxy.index(r, 3).data(Qt.ItemDataRole.UserRole))
                for r in range(self.proxy.rowCount())]
        start = next((i + 1 for i, (_, c, _) in enumerate(rows) if c == current), 0)
        for r, cid, status in rows[start:] + rows[:start]:
            if status == ct.QC_PENDING and cid != current:
                self.view.selectRow(r)
                self.go_to_cell(cid)
                return
        show_info("No more cells waiting for a decision.")

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

    # --------------------------------------------------------------- edits
    def _history(self) -> EditHistory:
        layer = self.labels_layer()
        if self.history is None or self.history.labels is not layer.data:
            image, names = self._image(layer)
            self.history = EditHistory(layer.data, image, names, self._pixel_size(layer),
                                       self.table())
            layer.events.paint.connect(self._on_paint)
        self.history.table = self.table()
        return self.history

    def _box(self, cid: int):
        if self.history is None:
            return None
        return self.history._box(cid)

    def _apply(self, edit) -> None:
        self.labels_layer().refresh()
        self.set_table(self.history.table, box=edit.box)
        self.status.setText(edit.description[:1].upper() + edit.description[1:] + ".")

    @notify_errors
    def delete(self, *_) -> None:
        self._apply(self._history().delete(self.selected_cell()))

    @notify_errors
    def merge(self, *_) -> None:
        self._pending_merge = self.selected_cell()
        layer = self.labels_layer()
        if self._pick_other not in layer.mouse_drag_callbacks:
            layer.mouse_drag_callbacks.append(self._pick_other)
        self.viewer.layers.selection.active = layer  # clicks reach the active layer only
        self.status.setText(f"Click the cell to merge with cell {self._pending_merge}.")

    def _pick_other(self, layer, event) -> None:
        layer.mouse_drag_callbacks.remove(self._pick_other)
        value = layer.get_value(event.position, world=True)
        self.merge_with(int(value) if value is not None and np.isscalar(value) else 0)

    @notify_errors
    def merge_with(self, other: int) -> None:
        first, self._pending_merge = self._pending_merge, None
        if first is None:
            raise DvpInputError("press 'Merge with…' first")
        if other <= 0:
            raise DvpInputError("that click was on background; press 'Merge with…' again")
        self._apply(self._history().merge(first, other))

    @notify_errors
    def split(self, *_) -> None:
        cid = self.selected_cell()
        layer = self.labels_layer()
        if SPLIT not in self.viewer.layers or not len(self.viewer.layers[SPLIT].data):
            shapes = (self.viewer.layers[SPLIT] if SPLIT in self.viewer.layers else
                      self.viewer.add_shapes(name=SPLIT, ndim=2, edge_color="yellow",
                                             edge_width=2, face_color="transparent"))
            shapes.mode = "add_path"
            self.viewer.layers.selection.active = shapes
            self.status.setText(f"Draw a line across cell {cid} in '{SPLIT}', then press Split.")
            return
        shapes: Shapes = self.viewer.layers[SPLIT]
        world = np.asarray(shapes.data[-1])[:, -2:] * shapes.scale[-2:] + shapes.translate[-2:]
        line = (world - np.asarray(layer.translate[-2:])) / np.asarray(layer.scale[-2:])
        edit = self._history().split(cid, line)
        shapes.data = []
        self._apply(edit)

    @notify_errors
    def undo(self, *_) -> None:
        edit = self._history().undo() if self.history is not None else None
        if edit is None:
            show_info("Nothing to undo.")
            return
        self.labels_layer().refresh()
        self.set_table(self.history.table, box=edit.box)
        self.status.setText(f"Undone: {edit.description}.")

    def _on_paint(self, event) -> None:
        # napari emits the event before it writes the pixels: update right after
        box, ids = paint_extent(event.value)
        if box is not None and self.history is not None:
            QTimer.singleShot(0, lambda: self._after_paint(box, ids))

    @notify_errors
    def _after_paint(self, box, ids) -> None:
        self.history.table = self.table()
        self._apply(self.history.after_paint(box, ids))

    # ------------------------------------------------------------- overlay
    @notify_errors
    def update_overlay(self, *_, box=None) -> None:
        table = self.table()
        show = self.overlay_box.isChecked() and "qc_flagged" in table.columns
        show_qc_overlay(self.viewer, self.labels_layer(), table, box=box, visible=show)
