"""Follow a viewer's edits and hand them to an :class:`~napari_dvp.core.project.autosave.Autosaver`.

Painted label boxes, a new labels array, the cell table, the regions, the
layers' looks and every session slot (plans, manifests, proteomics …) become
``Autosaver`` notifications; the autosaver writes them in its own thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qtpy.QtCore import QTimer

from ...core.project.autosave import Autosaver
from .._common import cell_table_of
from .._session import session_of
from .layers import (
    RESTORE,
    cells_layer,
    layer_states,
    project_from_viewer,
    project_slots,
    regions_layer,
    regions_of,
)


def paint_boxes(atoms) -> list[tuple[int, int, int, int]]:
    """``(row0, row1, col0, col1)`` of each atom of a napari Labels ``paint`` event."""
    boxes = []
    for atom in atoms:
        key = getattr(atom, "slice_key", None)
        if key is not None:
            r, c = key[-2], key[-1]
            boxes.append((r.start, r.stop, c.start, c.stop))
        else:
            rows, cols = np.asarray(atom[0][-2]), np.asarray(atom[0][-1])
            if rows.size:
                boxes.append((rows.min(), rows.max() + 1, cols.min(), cols.max() + 1))
    return boxes


class ViewerAutosave:
    """Connects a viewer's layers and session to ``self.saver`` (set by :meth:`start`).

    ``restoring`` (True while a project replaces the layers) silences the events.
    """

    def __init__(self, viewer, refs: dict[str, object]) -> None:
        self.viewer, self.refs = viewer, refs
        self.saver: Autosaver | None = None
        self.folder: Path | None = None
        self.restoring = False
        self._wired: list = []
        self._boxes: list[tuple] = []
        self._history: tuple[int, dict, dict] = (0, {}, {})  # layer, undo / redo atoms
        viewer.layers.events.inserted.connect(self.wire)
        viewer.layers.events.removed.connect(self.wire)
        session_of(viewer).changed.connect(self._on_session)
        self.wire()

    def start(self, saver: Autosaver, folder: Path | None) -> None:
        """Follow into ``saver`` (the previous autosaver is closed without writing)."""
        if self.saver is not None:
            self.saver.close(flush=False)
        self.saver, self.folder = saver, folder
        lab = cells_layer(self.viewer)
        if lab is not None:
            saver.set_labels(lab.data, dirty=False)

    def wire(self, *_) -> None:
        """(Re)connect to the current cells and regions layers."""
        if self.restoring:
            return
        for emitter, cb in self._wired:
            emitter.disconnect(cb)
        self._wired = []
        lab, reg = cells_layer(self.viewer), regions_layer(self.viewer)
        if lab is not None:
            self._wired += [(lab.events.paint, self._on_paint), (lab.events.data, self._on_data),
                            (lab.events.features, self._on_cells)]
            if self.saver is not None and self.saver._labels is not lab.data:
                self.saver.set_labels(lab.data, dirty=False)
        if reg is not None:
            self._wired += [(reg.events.data, self._on_regions),
                            (reg.events.features, self._on_regions)]
        for emitter, cb in self._wired:
            emitter.connect(cb)

    def push_all(self) -> None:
        """Hand every slot to the autosaver (an unsaved or recovered session)."""
        project = project_from_viewer(self.viewer, self.refs)
        for slot in ("image", "cells", "regions", "layers", "classes", "classifier",
                     "classifier_info", "plans", "manifests", "proteomics", "scores"):
            self.saver.update(slot, getattr(project, slot))
        self.saver.mark_labels_dirty(None)

    def _first(self) -> bool:
        """The first edit of a session never saved: hand over everything (image reference,
        layers, session …), not only what changed. True if it did.
        """
        if self.folder is None and self.saver.n_writes == 0 and not self.saver.dirty:
            self.push_all()
            return True
        return False

    def _layers_changed(self) -> None:
        self.saver.update("layers", layer_states(self.viewer, self.refs))

    def _on_session(self, slot: str, source: object) -> None:
        if self.restoring or source == RESTORE or self.saver is None or self._first():
            return
        for name, value in project_slots(slot, session_of(self.viewer).get(slot)).items():
            self.saver.update(name, value)
        self._layers_changed()

    def _on_paint(self, event) -> None:
        """napari emits ``paint`` before writing the pixels: hand the boxes over afterwards."""
        if self.restoring:
            return
        self._boxes += paint_boxes(event.value)
        QTimer.singleShot(0, self._mark_boxes)

    def _mark_boxes(self) -> None:
        boxes, self._boxes = self._boxes, []
        if boxes and self.saver is not None and not self._first():
            for box in boxes:
                self.saver.mark_labels_dirty(box)
            self._layers_changed()

    def _on_data(self, *_) -> None:
        if self.restoring or self._first():
            return
        self.saver.set_labels(cells_layer(self.viewer).data)
        self._layers_changed()

    def _on_cells(self, *_) -> None:
        if self.restoring or self._first():
            return
        table = cell_table_of(cells_layer(self.viewer))
        self.saver.update("cells", table if len(table.columns) else None)
        self._layers_changed()

    def _on_regions(self, *_) -> None:
        if self.restoring or self._first():
            return
        self.saver.update("regions", regions_of(regions_layer(self.viewer)))
        self._layers_changed()

    def poll_undo(self) -> None:
        """Undo/redo change labels without a paint event: mark the boxes they touched.

        An edit whose atoms moved between the undo and redo stacks since the
        last poll was undone or redone (a paint only adds new atoms, which its
        paint event already marked).
        """
        lab = cells_layer(self.viewer)
        if lab is None or self.saver is None:
            return
        undo = {id(a): a for item in lab._undo_history for a in item}
        redo = {id(a): a for item in lab._redo_history for a in item}
        prev_layer, prev_undo, prev_redo = self._history
        self._history = (id(lab), undo, redo)
        if prev_layer != id(lab):  # another layer since the last poll: what it undid
            moved = list(redo.values())
        else:
            moved = [a for k, a in prev_undo.items() if k not in undo]
            moved += [a for k, a in prev_redo.items() if k in undo]
        if moved and not self._first():
            for box in paint_boxes(moved):
                self.saver.mark_labels_dirty(box)

    def close(self) -> None:
        """Write what is pending and stop the autosaver."""
        if self.saver is not None:
            self.saver.close()
