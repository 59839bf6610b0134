"""Project dock widget: Save / Save as / Open a project folder, autosave, recovery.

The widget only wires buttons: layers and session <-> project is
:mod:`.layers`, following edits into the autosaver is
:mod:`.autosave`; saving, loading, autosave and recovery are
:mod:`napari_dvp.core.project` / :mod:`napari_dvp.core.project.autosave`.
"""

from __future__ import annotations

import time
from pathlib import Path

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
)

from ...core.errors import DvpCancelled
from ...core.project import Project, load_project, relink_image, save_project
from ...core.project.autosave import (
    Autosaver,
    discard_recovery,
    find_recovery,
    list_recoveries,
    recover,
    recovery_dir_for,
)
from .._common import notify_errors, show_info, show_warning
from .._workspace import DvpDock
from .autosave import ViewerAutosave
from .layers import project_from_viewer, restore_into_viewer

__all__ = ["ProjectWidget", "project_from_viewer", "restore_into_viewer"]


def _ago(t: float | None) -> str:
    if t is None:
        return "never"
    s = max(0, int(time.time() - t))
    return f"{s} s ago" if s < 120 else f"{s // 60} min ago"


class ProjectWidget(DvpDock):
    """Save, reopen and autosave everything done on a biopsy as one project folder."""

    STEP = "Project"
    GUIDE = ("<b>9 Project</b> — saves everything in one folder that reopens exactly; autosave"
             " and recovery.")

    interval = 5.0

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.folder: Path | None = None
        self.saved_unix: float | None = None
        self.busy = False
        self._refs: dict[str, object] = {}
        self._cancel = False
        lay = self.body
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
        self.follower = ViewerAutosave(self.viewer, self._refs)
        self._start_saver(None)
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
        self.follower.restoring = True
        try:
            restore_into_viewer(self.viewer, project)
        finally:
            self.follower.restoring = False
        self.folder = folder
        self.saved_unix = None if folder is None else time.time()
        self.where.setText(f"Project: {folder or 'recovered session (not saved yet)'}")
        self._start_saver(folder)
        self.follower.wire()
        if recovered:
            self.saved_unix = None
            self.follower.push_all()
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

    @property
    def saver(self) -> Autosaver | None:
        """The autosaver of the current project (or unsaved session)."""
        return self.follower.saver

    def _start_saver(self, folder: Path | None) -> None:
        saver = Autosaver(recovery_dir_for(folder), interval=self.interval, project_dir=folder)
        saver.enabled = self.autosave.isChecked()
        self.follower.start(saver, folder)

    def _toggle_autosave(self, on: bool) -> None:
        if self.saver is not None:
            self.saver.enabled = on

    def _tick(self) -> None:
        self.follower.poll_undo()
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
        self.follower.close()
        super().closeEvent(event)
