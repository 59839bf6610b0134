"""Corrections of the cells: delete, merge, split, undo, redo — and one undo order for all.

:class:`CellEdits` owns the :class:`~napari_dvp.core.review.edits.EditHistory`
of the cells layer. Review edits, QC decisions and napari's paint strokes are
undone (Ctrl+Z) and redone (Ctrl+Shift+Z) in the order they were made: a
stroke is undone by napari's own labels undo, then its cells are re-measured,
so the two undo histories never fight.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from napari.layers import Labels, Shapes
from napari.layers.shapes._shapes_constants import Mode as ShapesMode
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QHBoxLayout, QPushButton, QWidget

from ...core.cells import columns as ct
from ...core.errors import DvpInputError
from ...core.layer_coords import data_to_world, world_to_data
from ...core.review.edits import Edit, EditHistory
from .._common import notify_errors, show_info, update_cells
from .._slide import ROLE
from .cells import ReviewCells
from .table import paint_extent

SPLIT = "split line"
LINE_MODE = "add_polyline" if "ADD_POLYLINE" in ShapesMode.__members__ else "add_path"
"""Click, click, double-click draws a line (napari >= 0.5; ``add_path`` is freehand there)."""
UNDO_KEYS = {"Control-Z": "undo", "Control-Shift-Z": "redo"}

BUTTONS = (
    ("delete", "Delete", "Remove the selected cell's pixels (it becomes background)"),
    ("merge", "Merge with…", "Then click the other cell on the image: the smaller id survives"),
    ("split", "Split", "Draw a line across the cell in layer 'split line', then press again"),
    ("undo", "Undo", "Undo the last edit, decision or paint stroke (Ctrl+Z)"),
    ("redo", "Redo", "Redo what Undo reverted (Ctrl+Shift+Z)"),
)


class CellEdits(QWidget):
    """Edit buttons and the undo order of the cells layer.

    ``done(message, box)`` runs after every change (``box``: the pixels that
    changed, for a quick overlay refresh; ``None``: refresh everything).
    """

    def __init__(self, cells: ReviewCells, done: Callable[[str, tuple | None], None]) -> None:
        super().__init__()
        self.cells, self.done = cells, done
        self.viewer = cells.viewer
        self.history: EditHistory | None = None
        self.layer: Labels | None = None
        self._pending_merge: int | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip in BUTTONS:
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(getattr(self, key))
            row.addWidget(button)
            self.buttons[key] = button

    # ------------------------------------------------------------------ history
    def attach(self, layer: Labels | None) -> None:
        """Follow ``layer``: its paint strokes join the undo order; Ctrl+Z there is ours."""
        if layer is self.layer:
            return
        if self.layer is not None:
            self.layer.events.paint.disconnect(self._on_paint)
            for key in UNDO_KEYS:
                self.layer.bind_key(key, None)
        self.layer, self.history = layer, None
        if layer is not None:
            layer.events.paint.connect(self._on_paint)
            for key, name in UNDO_KEYS.items():
                layer.bind_key(key, self._key(name), overwrite=True)

    def _key(self, name: str):
        def handler(_layer_or_viewer):
            getattr(self, name)()

        handler.__doc__ = f"napari-dvp review: {name} (edits, decisions and paint strokes)"
        return handler

    def bind_viewer_keys(self, on: bool) -> None:
        """Ctrl+Z / Ctrl+Shift+Z on the viewer (any active layer) while the dock is shown."""
        for key, name in UNDO_KEYS.items():
            self.viewer.bind_key(key, self._key(name) if on else None, overwrite=True)

    def current(self) -> EditHistory:
        """The history of the cells layer, up to date with its table, channels and pixel size."""
        layer = self.cells.layer()
        self.attach(layer)
        image, names = self.cells.image(layer)
        if self.history is None:
            self.history = EditHistory(layer.data, image, names, self.cells.pixel().um,
                                       self.cells.table())
        else:
            self.history.use_table(self.cells.table())
        self.history.image, self.history.channel_names = image, names
        self.history.pixel_size_um = self.cells.pixel().um
        return self.history

    def _store(self, edit: Edit, message: str) -> None:
        """Put the history's table on the layer and tell the dock."""
        table = self.history.table
        if edit.kind == "decide":  # same rows: merge the decision in
            rows = table.loc[table[ct.CELL_ID].isin(edit.touched), [ct.CELL_ID, ct.QC_STATUS]]
            update_cells(self.layer, rows, step="review", parent=self)
            box = self.history.box_of(edit.touched[0]) if len(edit.touched) == 1 else None
        else:
            self.cells.store(table)
            self.layer.refresh()
            box = edit.box
        self.done(message, box)

    # ------------------------------------------------------------------ actions
    def decide(self, status: str) -> int:
        """Accept / reject the selected cell (undoable); returns its id."""
        cid = self.cells.selected()
        try:
            hist = self.current()
        except DvpInputError:  # labels not in memory (a pyramid): decided, without undo
            update_cells(self.cells.layer(), {ct.CELL_ID: [cid], ct.QC_STATUS: [status]},
                         step="review", parent=self)
            self.done(f"Cell {cid} {status}.", None)
            return cid
        self._store(hist.set_status([cid], status), f"Cell {cid} {status}.")
        return cid

    @notify_errors
    def delete(self) -> None:
        edit = self.current().delete(self.cells.selected())
        self._store(edit, edit.description[:1].upper() + edit.description[1:] + ".")

    @notify_errors
    def merge(self) -> None:
        self._pending_merge = self.cells.selected()
        layer = self.cells.layer()
        self.attach(layer)
        if self._pick_other not in layer.mouse_drag_callbacks:
            layer.mouse_drag_callbacks.append(self._pick_other)
        layer.mode = "pan_zoom"  # a click must pick, not paint
        self.viewer.layers.selection.active = layer  # clicks reach the active layer only
        self.done(f"Click the cell to merge with cell {self._pending_merge}.", None)

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
        edit = self.current().merge(first, other)
        self._store(edit, edit.description[:1].upper() + edit.description[1:] + ".")

    @notify_errors
    def split(self) -> None:
        cid = self.cells.selected()
        layer = self.cells.layer()
        if SPLIT not in self.viewer.layers or not len(self.viewer.layers[SPLIT].data):
            shapes = (self.viewer.layers[SPLIT] if SPLIT in self.viewer.layers else
                      self.viewer.add_shapes(name=SPLIT, ndim=2, edge_color="yellow",
                                             edge_width=2, face_color="transparent",
                                             scale=layer.scale[-2:],
                                             translate=layer.translate[-2:],
                                             units=layer.units[-2:],
                                             metadata={ROLE: "preview"}))
            shapes.mode = LINE_MODE
            self.viewer.layers.selection.active = shapes
            self.done(f"Draw a line across cell {cid} (click, click, double-click), then press "
                      "Split again.", None)
            return
        shapes: Shapes = self.viewer.layers[SPLIT]
        world = data_to_world(np.asarray(shapes.data[-1]), shapes.scale, shapes.translate)
        line = world_to_data(world, layer.scale, layer.translate)
        edit = self.current().split(cid, line)
        shapes.data = []
        shapes.mode = "pan_zoom"
        self.viewer.layers.selection.active = layer
        self._store(edit, edit.description[:1].upper() + edit.description[1:] + ".")

    @notify_errors
    def undo(self) -> None:
        self._step(back=True)

    @notify_errors
    def redo(self) -> None:
        self._step(back=False)

    def _step(self, back: bool) -> None:
        hist = self.current()
        edit = hist.undo() if back else hist.redo()
        if edit is None:
            show_info("Nothing to undo." if back else "Nothing to redo.")
            return
        if edit.kind == "paint":  # the stroke's pixels are napari's to undo / redo
            self.layer.undo() if back else self.layer.redo()
            hist.after_paint(edit.box, edit.touched, record=False)
        self._store(edit, f"{'Undone' if back else 'Redone'}: {edit.description}.")

    # ------------------------------------------------------------------ painting
    def _on_paint(self, event) -> None:
        # napari emits the event before it writes the pixels: update right after
        box, ids = paint_extent(event.value)
        if box is not None:
            QTimer.singleShot(0, lambda: self._after_paint(box, ids))

    @notify_errors
    def _after_paint(self, box, ids) -> None:
        hist = self.current()
        edit = hist.after_paint(box, ids)
        self._store(edit, edit.description[:1].upper() + edit.description[1:] + ".")
