"""Cell corrections of the review widget: delete, merge, split, undo and painting, with undo."""

from __future__ import annotations

import numpy as np
from napari.layers import Shapes
from qtpy.QtCore import QTimer

from ...core.errors import DvpInputError
from ...core.layer_coords import data_to_world, world_to_data
from ...core.review.edits import EditHistory
from .._common import notify_errors, show_info
from .table import paint_extent

SPLIT = "split line"


class ReviewEditsMixin:
    """Edit actions of :class:`~napari_dvp._qt.review.widget.ReviewWidget`.

    Uses the widget's ``viewer``, ``history``, ``status``, ``labels_layer()``,
    ``selected_cell()``, ``table()``, ``set_table()``, ``_image()`` and
    ``_pixel_size()``.
    """

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
        world = data_to_world(np.asarray(shapes.data[-1]), shapes.scale, shapes.translate)
        line = world_to_data(world, layer.scale, layer.translate)
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
