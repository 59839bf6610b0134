"""Autosave in the Project dock: follow a viewer's edits into an Autosaver; the autosave row.

:class:`ViewerAutosave` turns painted label boxes, a new labels array, the cell
table, the regions, the layers' looks and every session slot into
:class:`~napari_dvp.core.project.autosave.Autosaver` notifications — each costs
next to nothing; tables are fetched once per snapshot. :class:`AutosavePanel`
is the dock's "Autosave" check box and status line; its timer lets the
autosaver take a snapshot when one is due (never in the middle of a stroke).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...core.project.autosave import AUTOSAVE_INTERVAL_S, Autosaver, recovery_dir_for
from .._common import cell_table_of
from .._session import session_of
from .._slide import cells_layer, level0
from .layers import (
    RESTORE,
    layer_states,
    project_from_viewer,
    project_slots,
    regions_layer,
    regions_of,
)

TICK_MS = 250


class _Frozen:
    """A labels layer's features and metadata as they were at a snapshot."""

    def __init__(self, features, metadata: dict) -> None:
        self.features, self.metadata = features, metadata


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

    def __init__(self, viewer, refs: dict) -> None:
        self.viewer, self.refs = viewer, refs
        self.saver: Autosaver | None = None
        self.folder: Path | None = None
        self.restoring = False
        self.edits = 0  # notifications so far (the dock compares it across a save)
        self._pushed = False
        self._wired: list = []
        self._history: tuple[int, dict, dict] = (0, {}, {})  # layer, undo / redo atoms
        viewer.layers.events.inserted.connect(self.wire)
        viewer.layers.events.removed.connect(self.wire)
        session_of(viewer).changed.connect(self._on_session)
        self.wire()

    def start(self, saver: Autosaver, folder: Path | None, everything: bool = False) -> None:
        """Follow into ``saver`` (the previous autosaver is closed without writing).

        ``everything``: hand every slot over now (a recovered session); otherwise
        the labels are taken to equal the saved project's (just opened or saved).
        """
        if self.saver is not None and self.saver is not saver:
            self.saver.close(flush=False)
        self.saver, self.folder, self._pushed = saver, folder, False
        lab = cells_layer(self.viewer, required=False)
        if everything:
            self.push_all()
        elif lab is not None:
            saver.set_labels(level0(lab), dirty=False)

    def wire(self, *_) -> None:
        """(Re)connect to the current cells and regions layers."""
        if self.restoring:
            return
        for emitter, cb in self._wired:
            emitter.disconnect(cb)
        self._wired = []
        lab, reg = cells_layer(self.viewer, required=False), regions_layer(self.viewer)
        if lab is not None:
            self._wired += [(lab.events.paint, self._on_paint), (lab.events.data, self._on_data),
                            (lab.events.features, self._on_cells)]
        if reg is not None:
            self._wired += [(reg.events.data, self._on_regions),
                            (reg.events.features, self._on_regions)]
        for emitter, cb in self._wired:
            emitter.connect(cb)

    # ------------------------------------------------------------------ notifications
    def push_all(self) -> None:
        """Hand every slot to the autosaver (an unsaved or recovered session)."""
        self._pushed = True
        for slot, value in project_from_viewer(self.viewer, self.refs).__dict__.items():
            if slot == "labels":
                self.saver.set_labels(value)
            elif slot not in ("saved", "generation"):
                self.saver.update(slot, value)

    def _later(self, slot: str, get: Callable) -> bool:
        """Note a change; False when it should be ignored."""
        if self.restoring or self.saver is None:
            return False
        self.edits += 1
        if self.folder is None and not self._pushed:  # a session never saved: everything
            self.push_all()
            return False
        self.saver.update_later(slot, get)
        self.saver.update_later("layers", lambda: layer_states(self.viewer, self.refs))
        return True

    def _on_session(self, slot: str, source: object) -> None:
        if source == RESTORE:
            return
        state: dict = {}  # the value taken at the snapshot, converted in the autosave thread

        def take(name: str):
            if "value" not in state:
                state["value"] = session_of(self.viewer).get(slot)

            def convert():  # e.g. the classifier into bytes: not on the GUI thread
                if "slots" not in state:
                    state["slots"] = project_slots(slot, state["value"])
                return state["slots"][name]
            return convert

        names = ("classifier", "classifier_info") if slot == "classifier" else (slot,)
        if self._later(names[0], lambda: take(names[0])):
            for name in names[1:]:
                self.saver.update_later(name, lambda name=name: take(name))

    def _on_paint(self, event) -> None:
        boxes = paint_boxes(event.value)
        if self._later("layers", lambda: layer_states(self.viewer, self.refs)):
            for box in boxes:
                self.saver.mark_labels_dirty(box)

    def _on_data(self, *_) -> None:
        lab = cells_layer(self.viewer, required=False)
        if self._later("layers", lambda: layer_states(self.viewer, self.refs)):
            self.saver.set_labels(None if lab is None else level0(lab))

    def _table(self):
        """The cells layer's table: references now, the table built in the autosave thread.

        napari-dvp replaces a layer's features (``set_cell_table``), never changes
        them in place, so the referenced frame stays as it was when taken.
        """
        lab = cells_layer(self.viewer, required=False)
        if lab is None:
            return None
        features, meta = lab.features, dict(lab.metadata or {})

        def build():
            table = cell_table_of(_Frozen(features, meta))
            return table if len(table.columns) else None
        return build

    def _on_cells(self, *_) -> None:
        self._later("cells", self._table)

    def _on_regions(self, *_) -> None:
        reg = regions_layer(self.viewer)
        self._later("regions", lambda: [] if reg is None else regions_of(reg))

    # ------------------------------------------------------------------ timer
    def tick(self) -> None:
        """Let the autosaver take a snapshot if one is due (not in the middle of a stroke)."""
        self.poll_undo()
        lab = cells_layer(self.viewer, required=False)
        if self.saver is not None and not getattr(lab, "_block_history", False):
            self.saver.tick()

    def poll_undo(self) -> None:
        """Undo/redo change labels without a paint event: mark the boxes they touched.

        An edit whose atoms moved between the undo and redo stacks since the
        last poll was undone or redone (a paint only adds new atoms, which its
        paint event already marked).
        """
        lab = cells_layer(self.viewer, required=False)
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
        boxes = paint_boxes(moved)
        if boxes and self._later("layers", lambda: layer_states(self.viewer, self.refs)):
            for box in boxes:
                self.saver.mark_labels_dirty(box)

    def close(self) -> None:
        """Write what is pending and stop the autosaver."""
        if self.saver is not None:
            self.saver.close()


def _ago(t: float | None) -> str:
    if t is None:
        return "never"
    s = max(0, int(time.time() - t))
    return f"{s} s ago" if s < 120 else f"{s // 60} min ago"


class AutosavePanel(QWidget):
    """The dock's autosave row: on/off, and what was saved when.

    Parameters
    ----------
    viewer
        The napari viewer whose edits are followed.
    refs
        Image references already fingerprinted (shared with the dock).
    saved_unix
        Returns when the project was last saved (None: never).
    """

    def __init__(self, viewer, refs: dict, saved_unix: Callable[[], float | None]) -> None:
        super().__init__()
        self.saved_unix = saved_unix
        self.follower = ViewerAutosave(viewer, refs)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.check = QCheckBox(f"Autosave every {AUTOSAVE_INTERVAL_S:g} s")
        self.check.setToolTip("Keep a copy of every edit in the background, so a crash loses "
                              "at most a second or two; offered for recovery on the next Open")
        self.check.setChecked(True)
        row.addWidget(self.check)
        row.addStretch(1)
        lay.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: palette(mid);")
        lay.addWidget(self.status)
        self.check.toggled.connect(self._toggle)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(TICK_MS)
        self._n = 0
        self.refresh()

    @property
    def saver(self) -> Autosaver | None:
        """The autosaver of the current project (or unsaved session)."""
        return self.follower.saver

    def start(self, folder: Path | None, area: Path | None = None, everything: bool = False,
              base: Path | None = None) -> None:
        """Autosave into ``folder``'s recovery area (an unsaved session's when None).

        ``area`` overrides the recovery area; ``base`` is the project whose
        saved labels the edits apply to (default ``folder``).
        """
        saver = Autosaver(area or recovery_dir_for(folder),
                          project_dir=folder if base is None else base)
        saver.enabled = self.check.isChecked()
        self.follower.start(saver, folder, everything)
        self.refresh()

    def _toggle(self, on: bool) -> None:
        if self.saver is not None:
            self.saver.enabled = on
        self.refresh()

    def _tick(self) -> None:
        self.follower.tick()
        self._n += 1
        if self._n % 4 == 0:
            self.refresh()

    def refresh(self) -> None:
        """Update the status line: last save, last autosave (or its error)."""
        saved = self.saved_unix()
        text = "not saved yet" if saved is None else f"saved {_ago(saved)}"
        saver = self.saver
        if saver is None or not self.check.isChecked():
            auto = "autosave off"
        elif saver.last_error:
            auto = saver.last_error
        elif saver.last_saved_unix:
            auto = f"autosaved {_ago(saver.last_saved_unix)}"
        else:
            auto = "autosave on, nothing to keep yet"
        self.status.setText(f"{text} · {auto}")

    def stop(self) -> None:
        """Stop the timer and write what is pending."""
        self._timer.stop()
        self.follower.close()
