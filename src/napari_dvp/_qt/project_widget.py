"""Project dock widget: Save / Save as / Open a project folder, autosave, recovery.

The widget only translates between napari layers and a
:class:`~napari_dvp.core.project.Project`; saving, loading, autosave and
recovery are :mod:`napari_dvp.core.project` / :mod:`napari_dvp.core.autosave`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from napari.layers import Image, Labels, Shapes
from napari.qt.threading import thread_worker
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.autosave import (
    Autosaver,
    discard_recovery,
    find_recovery,
    list_recoveries,
    recover,
    recovery_dir_for,
)
from ..core.errors import DvpCancelled
from ..core.geojson import (
    features_to_regions,
    features_to_shapes,
    regions_to_features,
    shapes_to_features,
)
from ..core.project import Project, image_ref, load_project, relink_image, save_project
from ._common import cell_table_of, notify_errors, set_cell_table, show_info, show_warning

CELLS, REGIONS = "cells", "regions"


def _ago(t: float | None) -> str:
    if t is None:
        return "never"
    s = max(0, int(time.time() - t))
    return f"{s} s ago" if s < 120 else f"{s // 60} min ago"


def _common_state(layer) -> dict:
    return {"name": layer.name, "kind": type(layer).__name__.lower(), "visible": layer.visible,
            "opacity": float(layer.opacity), "blending": str(layer.blending),
            "scale": [float(s) for s in layer.scale],
            "translate": [float(t) for t in layer.translate]}


def cells_layer(viewer):
    """The labels layer named "cells", else the selected labels layer, else the newest."""
    labels = [lay for lay in viewer.layers if isinstance(lay, Labels)]
    named = [lay for lay in labels if lay.name == CELLS]
    if named:
        return named[0]
    active = viewer.layers.selection.active
    if isinstance(active, Labels):
        return active
    return labels[-1] if labels else None


def regions_layer(viewer):
    """The Shapes layer named "regions" (or None)."""
    return next((lay for lay in viewer.layers if isinstance(lay, Shapes) and lay.name == REGIONS),
                None)


def project_from_viewer(viewer, refs: dict[str, object] | None = None) -> Project:
    """Collect the image reference, labels, cell table, regions and layer looks."""
    refs = {} if refs is None else refs
    project, states = Project(), []
    lab, reg = cells_layer(viewer), regions_layer(viewer)
    for layer in viewer.layers:
        state = _common_state(layer)
        if isinstance(layer, Image):
            path = layer.metadata.get("path") or getattr(layer.source, "path", None)
            if not path:
                show_warning(f"layer '{layer.name}' comes from no file; it is not saved")
                continue
            if path not in refs:
                refs[path] = image_ref(path)
            project.image = project.image or refs[path]
            cmap = layer.colormap
            state.update(path=str(path), channel_index=layer.metadata.get("channel_index"),
                         rgb=bool(layer.rgb), gamma=float(layer.gamma),
                         contrast_limits=[float(c) for c in layer.contrast_limits],
                         colormap={"name": cmap.name, "colors": cmap.colors.tolist()})
        elif layer is lab:
            project.labels = layer.data[0] if layer.multiscale else layer.data
            table = cell_table_of(layer)
            project.cells = table if len(table.columns) else None
            state["role"] = CELLS
        elif layer is reg:
            feats = shapes_to_features(layer.data, layer.shape_type, layer.features)
            project.regions = features_to_regions(feats)
            state.update(role=REGIONS, edge_width=float(np.mean(layer.edge_width or [1])))
        else:
            continue
        states.append(state)
    project.layers = states
    return project


def restore_into_viewer(viewer, project: Project) -> None:
    """Replace the viewer's layers by the project's, with their names, colours and scale."""
    from napari.utils.colormaps import AVAILABLE_COLORMAPS, Colormap

    from ..core.image_io import open_image

    opened: dict[str, object] = {}
    viewer.layers.clear()
    for st in project.layers:
        look = {k: st[k] for k in ("name", "visible", "opacity", "blending", "scale",
                                   "translate")}
        if st["kind"] == "image":
            path = project.image.path if project.image else st["path"]
            if project.image is None or project.image.status != "ok":
                continue
            img = opened.setdefault(path, open_image(path))
            c = st.get("channel_index")
            levels = img.levels if c is None else [lev[c] for lev in img.levels]
            cm = st["colormap"]
            cmap = cm["name"] if cm["name"] in AVAILABLE_COLORMAPS else Colormap(
                np.asarray(cm["colors"]), name=cm["name"])
            viewer.add_image(levels if len(levels) > 1 else levels[0], rgb=st.get("rgb", False),
                             multiscale=len(levels) > 1, colormap=cmap, gamma=st["gamma"],
                             contrast_limits=st["contrast_limits"],
                             metadata={"path": path, "channel_index": c}, **look)
        elif st.get("role") == CELLS and project.labels is not None:
            layer = viewer.add_labels(project.labels, **look)
            if project.cells is not None:
                set_cell_table(layer, project.cells)
        elif st.get("role") == REGIONS:
            data, types, table = features_to_shapes(regions_to_features(project.regions))
            colors = [f"{c}" if c else "white" for c in table["color"]]
            viewer.add_shapes(data or None, shape_type=types or "polygon", features=table,
                              face_color=colors or "white", edge_color=colors or "white",
                              edge_width=st.get("edge_width", 1.0), **look)


class ProjectWidget(QWidget):
    """Save, reopen and autosave everything done on a biopsy as one project folder."""

    interval = 5.0

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.folder: Path | None = None
        self.saved_unix: float | None = None
        self.saver: Autosaver | None = None
        self.busy = False
        self._refs: dict[str, object] = {}
        self._wired: list = []
        self._cancel = False
        self._restoring = False
        self._boxes: list[tuple] = []
        self._history = (0, 0)
        lay = QVBoxLayout(self)
        self.where = QLabel("Project: not saved yet")
        self.where.setWordWrap(True)
        lay.addWidget(self.where)
        row = QHBoxLayout()
        self.save_btn, self.save_as_btn, self.open_btn = (
            QPushButton("Save"), QPushButton("Save as…"), QPushButton("Open…"))
        self.save_btn.setToolTip("Save image reference, cells, classes, regions and plans "
                                 "into the project folder")
        self.save_as_btn.setToolTip("Save the project into a new (empty) folder")
        self.open_btn.setToolTip("Open a project folder; its layers replace the current ones")
        for b in (self.save_btn, self.save_as_btn, self.open_btn):
            row.addWidget(b)
        lay.addLayout(row)
        self.autosave = QCheckBox(f"Autosave every {self.interval:.0f} s (recover after a crash)")
        self.autosave.setChecked(True)
        lay.addWidget(self.autosave)
        self.status = QLabel("")
        lay.addWidget(self.status)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.cancel_btn = QPushButton("Cancel")
        for w in (self.progress, self.cancel_btn):
            w.hide()
            lay.addWidget(w)
        self.session_btn = QPushButton("Recover unsaved session…")
        self.session_btn.setToolTip("napari closed before this session was saved; load its "
                                    "autosaved edits")
        self.session_btn.setVisible(bool(list_recoveries()))
        lay.addWidget(self.session_btn)
        lay.addStretch()
        self.save_btn.clicked.connect(lambda: self.save())
        self.save_as_btn.clicked.connect(self._save_as)
        self.open_btn.clicked.connect(self._open_dialog)
        self.cancel_btn.clicked.connect(lambda: setattr(self, "_cancel", True))
        self.session_btn.clicked.connect(self._recover_session)
        self.autosave.toggled.connect(self._toggle_autosave)
        self._start_saver(None)
        self.viewer.layers.events.inserted.connect(self._wire)
        self.viewer.layers.events.removed.connect(self._wire)
        self._wire()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(1000)
        self._tick()

    # ------------------------------------------------------------------ save / open

    @notify_errors
    def save(self, folder: str | Path | None = None) -> None:
        """Save to ``folder`` (default: the current project; asks when there is none)."""
        folder = Path(folder) if folder else self.folder
        if folder is None:
            return self._save_as()
        project = project_from_viewer(self.viewer, self._refs)

        def progress(slot: str) -> None:
            if self._cancel:
                raise DvpCancelled("save cancelled; the project on disk is unchanged")

        self._run(thread_worker(save_project)(folder, project, progress=progress),
                  lambda index: self._saved(folder, index))

    def _saved(self, folder: Path, index: dict) -> None:
        self.saved_unix = float(index["saved_unix"])
        if folder != self.folder or self.saver is None:
            old = self.saver
            self._start_saver(folder)
            if old is not None:
                old.close(flush=False)
                discard_recovery(old.folder)
        else:
            self.saver.discard()
        self.folder = folder
        self.where.setText(f"Project: {folder}")
        show_info(f"project saved to {folder}")

    @notify_errors
    def _save_as(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Save project into an empty folder")
        if path:
            self.save(path)

    @notify_errors
    def _open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a napari-dvp project folder")
        if path:
            self.open(path)

    @notify_errors
    def open(self, folder: str | Path) -> None:
        """Open a project folder, offering its autosaved edits if newer than the save."""
        folder = Path(folder)
        info = find_recovery(folder)
        use = info is not None and self.ask_recover(info.saved)
        if info is not None and not use:
            discard_recovery(folder)
        load = recover if use else load_project
        self._run(thread_worker(load)(folder), lambda p: self._opened(folder, p, use))

    def _opened(self, folder: Path | None, project: Project, recovered: bool) -> None:
        if project.image is not None and project.image.status != "ok":
            new = self.ask_image_path(project.image.path)
            if new:
                relink_image(project, new)
            else:
                show_warning(f"image {project.image.path} not found; opened without it")
        self._restoring = True
        try:
            restore_into_viewer(self.viewer, project)
        finally:
            self._restoring = False
        self.folder = folder
        self.saved_unix = None if folder is None else time.time()
        self.where.setText(f"Project: {folder or 'recovered session (not saved yet)'}")
        self._start_saver(folder)
        self._wire()
        if recovered:
            self.saved_unix = None
            self._push_all()
            show_info("unsaved edits recovered; Save to keep them")

    @notify_errors
    def _recover_session(self) -> None:
        infos = list_recoveries()
        if infos and self.ask_recover(infos[0].saved):
            self._run(thread_worker(recover)(infos[0].folder),
                      lambda p: self._opened(None, p, True))
        self.session_btn.hide()

    def ask_recover(self, when: str) -> bool:
        """Ask whether to recover unsaved edits autosaved at ``when``."""
        answer = QMessageBox.question(self, "Recover unsaved edits",
                                      f"Recover unsaved edits from {when}?")
        return answer == QMessageBox.StandardButton.Yes

    def ask_image_path(self, old: str) -> str | None:
        """Ask where the project's image went; None to open without it."""
        path, _ = QFileDialog.getOpenFileName(self, f"Where is {Path(old).name} now?")
        return path or None

    def _run(self, worker, done) -> None:
        self.busy, self._cancel = True, False
        for w in (self.progress, self.cancel_btn):
            w.show()
        worker.returned.connect(notify_errors(done))
        worker.errored.connect(notify_errors(self._raise))
        worker.finished.connect(self._idle)
        worker.start()

    @staticmethod
    def _raise(exc: Exception) -> None:
        raise exc

    def _idle(self) -> None:
        for w in (self.progress, self.cancel_btn):
            w.hide()
        self.busy = False

    # ------------------------------------------------------------------ autosave

    def _start_saver(self, folder: Path | None) -> None:
        if self.saver is not None:
            self.saver.close(flush=False)
        self.saver = Autosaver(recovery_dir_for(folder), interval=self.interval,
                               project_dir=folder)
        self.saver.enabled = self.autosave.isChecked()
        lab = cells_layer(self.viewer)
        if lab is not None:
            self.saver.set_labels(lab.data, dirty=False)

    def _toggle_autosave(self, on: bool) -> None:
        if self.saver is not None:
            self.saver.enabled = on

    def _wire(self, *_) -> None:
        if self._restoring:
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

    def _push_all(self) -> None:
        """Hand every slot to the autosaver (an unsaved or recovered session)."""
        project = project_from_viewer(self.viewer, self._refs)
        for slot in ("image", "cells", "regions", "layers"):
            self.saver.update(slot, getattr(project, slot))
        self.saver.mark_labels_dirty(None)

    def _edited(self) -> None:
        if self.folder is None and self.saver.n_writes == 0 and not self.saver.dirty:
            self._push_all()
        else:
            self.saver.update("layers", project_from_viewer(self.viewer, self._refs).layers)

    def _on_paint(self, event) -> None:
        """napari emits ``paint`` before writing the pixels: hand the boxes over afterwards."""
        if self._restoring:
            return
        for atom in event.value:
            key = getattr(atom, "slice_key", None)
            if key is not None:
                r, c = key[-2], key[-1]
                self._boxes.append((r.start, r.stop, c.start, c.stop))
            else:
                rows, cols = np.asarray(atom[0][-2]), np.asarray(atom[0][-1])
                if rows.size:
                    self._boxes.append((rows.min(), rows.max() + 1, cols.min(), cols.max() + 1))
        QTimer.singleShot(0, self._mark_boxes)

    def _mark_boxes(self) -> None:
        boxes, self._boxes = self._boxes, []
        if boxes and self.saver is not None:
            for box in boxes:
                self.saver.mark_labels_dirty(box)
            self._edited()

    def _on_data(self, *_) -> None:
        if self._restoring:
            return
        lab = cells_layer(self.viewer)
        self.saver.set_labels(lab.data)
        self._edited()

    def _on_cells(self, *_) -> None:
        if self._restoring:
            return
        table = cell_table_of(cells_layer(self.viewer))
        self.saver.update("cells", table if len(table.columns) else None)
        self._edited()

    def _on_regions(self, *_) -> None:
        if self._restoring:
            return
        reg = regions_layer(self.viewer)
        feats = shapes_to_features(reg.data, reg.shape_type, reg.features)
        self.saver.update("regions", features_to_regions(feats))
        self._edited()

    def _poll_undo(self) -> None:
        """Undo/redo change labels without a paint event: mark what they touched."""
        lab = cells_layer(self.viewer)
        if lab is None or self.saver is None:
            return
        hist = (len(lab._undo_history), len(lab._redo_history))
        if hist != self._history and hist[1] != 0:
            self.saver.mark_labels_dirty(None)
        self._history = hist

    def _tick(self) -> None:
        self._poll_undo()
        saved = "not saved yet" if self.saved_unix is None else f"saved {_ago(self.saved_unix)}"
        auto = "autosave off"
        if self.saver is not None and self.autosave.isChecked():
            auto = "autosave on"
            if self.saver.last_saved_unix:
                auto += f" (last {_ago(self.saver.last_saved_unix)})"
            if self.saver.last_error:
                auto = self.saver.last_error
        self.status.setText(f"{saved} · {auto}")

    def closeEvent(self, event) -> None:
        self._timer.stop()
        if self.saver is not None:
            self.saver.close()
        super().closeEvent(event)
