"""Project dock: Save / Save as… / Open… a project folder, autosave, recovery.

The dock coordinates: viewer <-> project is :mod:`.layers`, the autosave row
is :class:`.autosave.AutosavePanel`; saving, opening, locking and recovery
are :mod:`napari_dvp.core.project`. Save, Open and Recover run through the
dock's :class:`~napari_dvp._qt._jobs.JobRunner` (progress, Cancel). A window
holds the project's lock while it has the project open; a project another
window holds opens read-only (Save asks for the lock again).
"""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import QEvent, QObject, QTimer
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
)

from ...core.project import (
    ProjectLock,
    ProjectLocked,
    check_save_folder,
    load_steps,
    read_index,
    relink_image,
    save_steps,
    save_summary,
)
from ...core.project.recovery import (
    discard_recovery,
    find_recovery,
    list_recoveries,
    recover_steps,
    recovery_dir_for,
)
from .._common import notify_errors, show_info, show_warning
from .._slide import cells_layer
from .._workspace import DvpDock
from .autosave import AutosavePanel
from .holding import Holding
from .jobs import JobRow
from .layers import project_from_viewer, restore_into_viewer

__all__ = ["ProjectWidget", "project_from_viewer", "restore_into_viewer"]

HEARTBEAT_MS = 60_000


class ProjectWidget(DvpDock):
    """Save, reopen and autosave everything done on a biopsy as one project folder."""

    STEP = "Project"
    GUIDE = ("<b>9 Project</b> — keeps the slide, cells, classes, regions and plans in one "
             "folder that reopens exactly; every edit is autosaved.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.holding = Holding()
        self.saved_unix: float | None = None
        self._refs: dict[str, object] = {}
        self.where = QLabel("Project: not saved yet — <b>Save as…</b> a new folder, or "
                            "<b>Open…</b> one")
        self.where.setWordWrap(True)
        self.save_btn, self.save_as_btn, self.open_btn = (
            QPushButton("Save"), QPushButton("Save as…"), QPushButton("Open…"))
        self.save_btn.setToolTip("Save the slide, cells, classes, regions, plans and proteomics "
                                 "into the project folder")
        self.save_as_btn.setToolTip("Save the project into a new (empty) folder")
        self.open_btn.setToolTip("Open a project folder; its layers replace the current ones")
        row = QHBoxLayout()
        for b in (self.save_btn, self.save_as_btn, self.open_btn):
            row.addWidget(b)
        self.autosave = AutosavePanel(self.viewer, self._refs, lambda: self.saved_unix)
        self.session_btn = QPushButton("Recover unsaved session…")
        self.session_btn.setToolTip("napari closed before a session was saved; load its "
                                    "autosaved edits")
        self.jobs = JobRow([self.save_btn, self.save_as_btn, self.open_btn, self.session_btn])
        self.status = self.jobs.status
        lay = self.body
        lay.addWidget(self.where)
        lay.addLayout(row)
        for w in (self.autosave, self.session_btn, self.jobs):
            lay.addWidget(w)
        lay.addStretch(1)
        self.save_btn.clicked.connect(lambda: self.save())
        self.save_as_btn.clicked.connect(self._save_as)
        self.open_btn.clicked.connect(self._open_dialog)
        self.session_btn.clicked.connect(self._recover_session)
        self.autosave.start(None)
        self._show_sessions()
        self._heartbeat = QTimer(self)  # tells other computers this window still holds it
        self._heartbeat.timeout.connect(self._beat)
        self._heartbeat.start(HEARTBEAT_MS)
        self._stopped = False
        self._on_close: _OnClose | None = None  # watches the main window once docked

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        """Whether a save, open or recovery is running."""
        return self.jobs.running

    @property
    def saver(self):
        """The autosaver of the current project (or unsaved session)."""
        return self.autosave.saver

    def _show_sessions(self) -> None:
        mine = self.saver.folder if self.saver is not None else None
        self.session_btn.setVisible(any(r.folder != mine for r in list_recoveries()))

    @property
    def folder(self) -> Path | None:
        """The project open here (None: not saved yet)."""
        return self.holding.folder

    @property
    def lock(self) -> ProjectLock | None:
        """The lock this window holds on it (None with a folder: read-only)."""
        return self.holding.lock

    def _adopt(self, folder: Path | None, lock: ProjectLock | None, note: str = "") -> None:
        self.holding.adopt(folder, lock)
        self.where.setText(f"Project: <b>{folder.name}</b> — {folder.parent}{note}" if folder
                           else "Project: recovered session, not saved yet — <b>Save as…</b>")

    def _beat(self) -> None:
        if not self.holding.beat():  # taken over elsewhere (this computer looked gone)
            self._adopt(self.folder, None, " (read-only: its lock was taken over)")
            show_warning(f"{self.folder.name}: another napari-dvp took the project over; "
                         "this window is read-only now — Save as… keeps your changes")

    # ------------------------------------------------------------------ save
    @notify_errors
    def save(self, folder: str | Path | None = None) -> None:
        """Save to ``folder`` (default: the current project; asks when there is none)."""
        folder = Path(folder) if folder else self.folder
        if folder is None:
            return self._save_as()
        check_save_folder(folder)
        lock = self.holding.lock_for(folder)
        left_out: list[str] = []
        project = project_from_viewer(self.viewer, self._refs, left_out)
        lab = cells_layer(self.viewer, required=False)
        editable = lab is not None and lab.editable
        if lab is not None:
            lab.editable = False  # the labels being written must not change meanwhile
        before = self.autosave.follower.edits

        def over() -> None:
            if lab is not None and editable:
                lab.editable = True
            self.holding.release_unused(lock)
        self.jobs.start(save_steps, folder, project, lock=lock, what=f"Saving to {folder.name}…",
                        done=lambda index: self._saved(folder, lock, index, left_out, before),
                        cancelled_text="Save cancelled: the project on disk is as it was.",
                        after=over)

    def _saved(self, folder: Path, lock: ProjectLock, index: dict, left_out: list[str],
               edits_before: int) -> None:
        self.saved_unix = float(index["saved_unix"])
        took = lock.took_over if lock is not self.lock else None
        if self.saver.folder != recovery_dir_for(folder):  # new folder, session, read-only
            old = self.saver.folder
            self._adopt(folder, lock)
            self.autosave.start(folder)
            discard_recovery(old)
        else:
            self._adopt(folder, lock)
            self.saver.discard()
        if self.autosave.follower.edits != edits_before:  # edits made while saving
            self.autosave.follower.push_all()
        self.autosave.refresh()
        summary = save_summary(folder, index, left_out)
        self.status.setText("Holds " + summary.split(": ", 1)[1])
        show_info(summary + (f"; took over the lock of {took}" if took else ""))

    @notify_errors
    def _save_as(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Save project into an empty folder")
        if path:
            self.save(path)

    # ------------------------------------------------------------------ open
    @notify_errors
    def _open_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a napari-dvp project folder")
        if path:
            self.open(path)

    @notify_errors
    def open(self, folder: str | Path) -> None:
        """Open a project folder, offering its autosaved edits if newer than the save."""
        folder = Path(folder)
        read_index(folder)  # not a project: one line, before anything else
        try:
            lock, held_by = self.holding.lock_for(folder), ""
        except ProjectLocked as exc:  # another window has it open: read-only here
            if exc.holder is None or exc.holder.purpose != "open":
                raise
            lock, held_by = None, exc.holder.describe()
        info = find_recovery(folder) if lock is not None else None
        use = info is not None and self.ask_recover(info.saved)
        if info is not None and not use:
            discard_recovery(folder)
        self.jobs.start(recover_steps if use else load_steps, folder,
                        what=f"Opening {folder.name}…",
                        after=lambda: self.holding.release_unused(lock),
                        done=lambda project: self._opened(folder, lock, project, use, held_by))

    def _opened(self, folder: Path | None, lock: ProjectLock | None, project, recovered: bool,
                held_by: str = "", area: Path | None = None) -> None:
        took = lock.took_over if lock is not None and lock is not self.lock else None
        if project.image is not None and project.image.status != "ok":
            new = self.ask_image_path(project.image.path)
            if new:
                relink_image(project, new)
            else:
                show_warning(f"image {project.image.path} not found; opened without it")
        follower = self.autosave.follower
        follower.restoring = True
        try:
            restore_into_viewer(self.viewer, project)
        finally:
            follower.restoring = False
        self._adopt(folder, lock, f" (read-only: {held_by})" if held_by else "")
        self.saved_unix = None if recovered or folder is None else \
            float(read_index(folder).get("saved_unix", 0.0))
        # read-only: edits autosave as an unsaved session on top of this project
        self.autosave.start(folder if lock is not None else None, area=area,
                            everything=recovered, base=folder)
        follower.wire()
        self._show_sessions()
        what = f"{folder}" if folder else "the unsaved session"
        if recovered:
            text, status = (f"Recovered unsaved edits of {what}; Save to keep them",
                            "Recovered unsaved edits: Save to keep them")
        elif held_by:
            text, status = (f"Opened project {folder} read-only: {held_by} has it open; Save "
                            "as… to keep your changes in a new folder",
                            "Read-only: Save as… keeps your changes in a new folder")
        else:
            saved = project.saved[:16].replace("T", " ")
            text, status = f"Opened project {folder}", f"Opened; last saved {saved}"
        self.status.setText(status)
        show_info(text + (f"; took over the lock of {took}" if took else ""))

    @notify_errors
    def _recover_session(self) -> None:
        mine = self.saver.folder if self.saver is not None else None
        infos = [r for r in list_recoveries() if r.folder != mine]
        if infos and self.ask_recover(infos[0].saved):
            area = infos[0].folder
            self.jobs.start(recover_steps, area, what="Recovering the unsaved session…",
                            done=lambda p: self._opened(None, None, p, True, area=area))

    # ------------------------------------------------------------------ questions
    def ask_recover(self, when: str) -> bool:
        """Ask whether to recover unsaved edits autosaved at ``when``."""
        answer = QMessageBox.question(
            self, "Recover unsaved edits", f"Recover the unsaved edits autosaved at {when}?\n"
            "(No: open the last save and discard them.)")
        return answer == QMessageBox.StandardButton.Yes

    def ask_image_path(self, old: str) -> str | None:
        """Ask where the project's image went; None to open without it."""
        path, _ = QFileDialog.getOpenFileName(self, f"Where is {Path(old).name} now?")
        return path or None

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ParentChange and self._on_close is None:
            QTimer.singleShot(0, self._watch_window)  # once napari has docked it
        return super().event(event)

    def _watch_window(self) -> None:
        """A dock gets no closeEvent when napari closes its window: watch the window."""
        window = self.window()
        if self._on_close is None and isinstance(window, QMainWindow):
            self._on_close = _OnClose(window, self._shut_down)

    def _shut_down(self) -> None:
        """Write pending edits, stop the autosave thread and give the lock back (once)."""
        if self._stopped:
            return
        self._stopped = True
        self._heartbeat.stop()
        self.autosave.stop()
        self.holding.release()

    def closeEvent(self, event) -> None:
        self._shut_down()
        super().closeEvent(event)


class _OnClose(QObject):
    """Calls ``callback`` when ``window`` closes (napari's window, holding the dock)."""

    def __init__(self, window, callback) -> None:
        super().__init__(window)
        self._callback = callback
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Close:
            self._callback()
        return False
