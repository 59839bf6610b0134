"""Autosave in the background and recovery after a crash.

:class:`Autosaver` receives "dirty" notifications from the GUI thread (labels
painted in a box, cell table replaced, plan edited …) and writes them in a
background thread at most every ``interval`` seconds into a *recovery area*:
``<project>/.recovery/`` for a saved project, or
``~/.napari-dvp/recovery/<session id>/`` for a session never saved (the root
can be moved with the ``NAPARI_DVP_HOME`` environment variable).

The GUI thread never waits for a disk write: it hands over references (the
live labels array, a copy of a table). Labels go into one zarr v3 array whose
chunk files are replaced atomically, and only the chunks a notification
touched are rewritten. Every other slot is written as a new file
(``cells.r12.parquet``). The recovery index ``recovery.json`` is replaced last,
so after a crash it points only to complete files.

On the next start :func:`find_recovery` tells whether the recovery area holds
edits newer than the saved project, :func:`recover` loads the project with
those edits on top, :func:`discard_recovery` removes them.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_text_atomic
from ..errors import DvpInputError, one_line
from ._files import _json_bytes
from ._image_ref import ImageRef
from ._index import _gc, _now, load_project, read_index, referenced_files
from ._model import (
    FORMAT_VERSION,
    INDEX,
    LABEL_CHUNK,
    RECOVERY_DIR,
    SLOTS,
    TABLE_SLOTS,
    Project,
)
from ._slots import read_slots, write_slots

REC_FORMAT = "napari-dvp recovery"
REC_INDEX = "recovery.json"
INLINE = ("image", "layers", "meta", "classifier_info")


def recovery_root() -> Path:
    """Folder of the recovery areas of unsaved sessions."""
    home = os.environ.get("NAPARI_DVP_HOME")
    return (Path(home) if home else Path.home() / ".napari-dvp") / "recovery"


def recovery_dir_for(project_dir: str | os.PathLike[str] | None,
                     session_id: str | None = None) -> Path:
    """Recovery area of a project folder, or of an unsaved session (new id if None)."""
    if project_dir is not None:
        return Path(project_dir) / RECOVERY_DIR
    return recovery_root() / (session_id or uuid.uuid4().hex[:12])


@dataclass
class RecoveryInfo:
    """A recovery area with edits newer than the saved project.

    Parameters
    ----------
    folder
        The recovery area.
    saved
        When it was last written (local time, ISO 8601).
    saved_unix, last_edit_unix
        Last write, and the newest edit it holds (seconds since the epoch).
    slots
        What it holds (``labels``, ``cells`` …).
    project_saved_unix
        When the project itself was last saved (None for an unsaved session).
    """

    folder: Path
    saved: str
    saved_unix: float
    last_edit_unix: float
    slots: list[str]
    project_saved_unix: float | None


class Autosaver:
    """Write edits to a recovery area in a background thread, at most every ``interval`` s.

    Parameters
    ----------
    folder
        The recovery area (see :func:`recovery_dir_for`).
    interval
        Minimum seconds between two writes.
    project_dir
        The project the edits belong to (recorded so recovery can find its base).
    on_saved, on_error
        Called from the background thread after each write (with the write
        time) or failure (with a one-line message).
    """

    def __init__(self, folder: str | os.PathLike[str], interval: float = 5.0,
                 project_dir: str | os.PathLike[str] | None = None,
                 on_saved: Callable[[float], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder)
        self.interval = float(interval)
        self.project_dir = None if project_dir is None else str(Path(project_dir).resolve())
        self.on_saved, self.on_error = on_saved, on_error
        self.enabled = True
        self.last_saved_unix: float | None = None
        self.last_error: str | None = None
        self.n_writes = 0
        self._cond = threading.Condition()
        self._writing = False
        self._labels: Any = None
        self._labels_dirty: set[tuple[int, int]] | None = set()  # None: everything
        self._pending: dict[str, Any] = {}
        self._edit_unix = 0.0
        self._flush_now = False
        self._closing = False
        self._last_write = 0.0
        self._seq = 0
        self._files: dict[str, Any] = {}
        self._inline: dict[str, Any] = {}
        self._cleared: set[str] = set()
        self._labels_file: str | None = None
        self._thread = threading.Thread(target=self._run, name="napari-dvp-autosave",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ notifications

    def set_labels(self, labels: Any, dirty: bool = True) -> None:
        """Follow ``labels``, the live array the user paints into.

        ``dirty=False`` when it equals the saved project's labels: nothing is
        written until the first :meth:`mark_labels_dirty` (which then copies
        the whole array once, in the background, and later only dirty chunks).
        """
        with self._cond:
            self._labels = labels
            self._labels_file = None
            self._labels_dirty = None if dirty else set()
            if dirty:
                self._touch()

    def mark_labels_dirty(self, bbox: tuple[int, int, int, int] | None = None) -> None:
        """Note that labels changed inside ``(row0, row1, col0, col1)`` (None: anywhere)."""
        with self._cond:
            if bbox is None or self._labels is None or np.ndim(self._labels) != 2:
                self._labels_dirty = None
            elif self._labels_dirty is not None:
                r0, r1, c0, c1 = (int(v) for v in bbox)
                rows = range(max(r0, 0) // LABEL_CHUNK, max(r1 - 1, r0, 0) // LABEL_CHUNK + 1)
                cols = range(max(c0, 0) // LABEL_CHUNK, max(c1 - 1, c0, 0) // LABEL_CHUNK + 1)
                self._labels_dirty.update((i, j) for i in rows for j in cols)
            self._touch()

    def update(self, slot: str, value: Any) -> None:
        """Hand over the new value of a slot (``cells``, ``plans`` …, or ``layers``/``meta``).

        The value is written as given, later, from another thread: pass a copy
        of anything the caller keeps changing in place.
        """
        if slot not in SLOTS and slot not in INLINE:
            raise DvpInputError(f"unknown project slot '{slot}'; use one of "
                                f"{', '.join(SLOTS + INLINE)}")
        if slot == "labels":
            self.set_labels(value)
            return
        with self._cond:
            self._pending[slot] = value
            self._touch()

    def _touch(self) -> None:
        self._edit_unix = time.time()
        self._cond.notify_all()

    @property
    def dirty(self) -> bool:
        """True while some edit is not yet written."""
        with self._cond:
            return self._is_dirty()

    def _is_dirty(self) -> bool:
        return bool(self._pending) or (self._labels_dirty is None and self._labels is not None) \
            or bool(self._labels_dirty)

    # ------------------------------------------------------------------ control

    def flush(self, timeout: float = 30.0) -> None:
        """Write pending edits now and wait until they are on disk (or ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flush_now = True
            self._cond.notify_all()
            while time.monotonic() < deadline and self.enabled and \
                    (self._is_dirty() or self._flush_now or self._writing):
                self._cond.wait(min(0.05, max(deadline - time.monotonic(), 0.001)))

    def discard(self) -> None:
        """Forget the recovery area (after a successful Save): remove it, start afresh."""
        with self._cond:
            while self._writing:
                self._cond.wait(0.05)
            shutil.rmtree(self.folder, ignore_errors=True)
            self._files, self._inline, self._cleared = {}, {}, set()
            self._pending.clear()
            self._labels_file = None
            self._labels_dirty = set()
            self.last_saved_unix = None

    def close(self, flush: bool = True) -> None:
        """Stop the thread (writing pending edits first when ``flush``)."""
        if flush:
            self.flush()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout=30)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing and not (self.enabled and self._is_dirty()):
                    self._flush_now = False
                    self._cond.notify_all()
                    self._cond.wait(0.5)
                if self._closing:
                    return
                due = self._last_write + self.interval
                while not self._closing and not self._flush_now and time.monotonic() < due:
                    self._cond.wait(due - time.monotonic())
                if self._closing:
                    return
                labels, dirty = self._labels, self._labels_dirty
                self._labels_dirty = set()
                pending, self._pending = self._pending, {}
                edit_unix = self._edit_unix
                self._flush_now = False
                self._writing = True
            error = None
            try:
                saved = self._write(labels, dirty, pending, edit_unix)
            except Exception as exc:
                error = f"autosave failed: {one_line(exc)}"
                retry = not isinstance(exc, DvpInputError)
            self._last_write = time.monotonic()
            with self._cond:
                self._writing = False
                if error is not None:
                    if dirty is None or self._labels_dirty is None:
                        self._labels_dirty = None
                    else:
                        self._labels_dirty |= dirty
                    if retry:
                        self._pending = {**pending, **self._pending}
                self.last_error = error
                self._cond.notify_all()
            if error is not None:
                if self.on_error is not None:
                    self.on_error(error)
            elif self.on_saved is not None:
                self.on_saved(saved)

    def _write(self, labels: Any, dirty: set | None, pending: Mapping[str, Any],
               edit_unix: float) -> float:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        tag = f"r{self._seq}"
        files = dict(self._files)
        written: list[Path] = []
        if labels is not None and (dirty is None or dirty):
            files["labels"] = self._write_labels(labels, dirty, tag)
            self._cleared.discard("labels")
        for slot, value in pending.items():
            if slot in INLINE:
                self._inline[slot] = value.to_json() if isinstance(value, ImageRef) else value
                continue
            empty = value is None or ((slot in TABLE_SLOTS or slot == "regions") and not len(value))
            if empty:
                files.pop(slot, None)
                self._cleared.add(slot)
                continue
            proj = Project(**{slot: value})
            files.update(write_slots(self.folder, proj, tag, files, written, only=[slot]))
            self._cleared.discard(slot)
        saved, saved_unix = _now()
        index = {"format": REC_FORMAT, "format_version": FORMAT_VERSION, "saved": saved,
                 "saved_unix": saved_unix, "last_edit_unix": edit_unix, "seq": self._seq,
                 "project_dir": self.project_dir, "pid": os.getpid(),
                 "cleared": sorted(self._cleared), **self._inline, "files": files}
        write_text_atomic(self.folder / REC_INDEX, _json_bytes(index, "recovery index").decode())
        self._files = files
        _gc(self.folder, referenced_files(files) | {REC_INDEX})
        self.n_writes += 1
        self.last_saved_unix = saved_unix
        return saved_unix

    def _write_labels(self, labels: Any, dirty: set | None, tag: str) -> dict:
        import zarr

        shape = tuple(int(s) for s in labels.shape)
        dtype = np.dtype(labels.dtype)
        z = None
        if self._labels_file is not None and dirty is not None:
            try:
                z = zarr.open_array(str(self.folder / self._labels_file), mode="r+")
                if z.shape != shape or z.dtype != dtype:
                    z = None
            except Exception:
                z = None
        if z is None:  # a new array, written whole; the index adopts it only afterwards
            name = f"labels.{tag}.zarr"
            chunks = tuple([1] * (len(shape) - 2) + [LABEL_CHUNK] * min(2, len(shape)))
            z = zarr.create_array(store=str(self.folder / name), shape=shape,
                                  chunks=chunks, dtype=dtype, fill_value=0, overwrite=True)
            for r0 in range(0, shape[0], LABEL_CHUNK):
                z[r0:r0 + LABEL_CHUNK] = np.array(labels[r0:r0 + LABEL_CHUNK])
            # only a complete copy is updated in place later (a failed copy is redone whole)
            self._labels_file = name
        else:
            for i, j in sorted(dirty):
                rs = slice(i * LABEL_CHUNK, (i + 1) * LABEL_CHUNK)
                cs = slice(j * LABEL_CHUNK, (j + 1) * LABEL_CHUNK)
                z[rs, cs] = np.array(labels[rs, cs])
        return {"file": self._labels_file, "shape": list(shape), "dtype": str(dtype),
                "chunks": LABEL_CHUNK, "in_place": True}


# --------------------------------------------------------------------------- recovery


def _recovery_folder(folder: Path) -> Path:
    if (folder / REC_INDEX).is_file():
        return folder
    return folder / RECOVERY_DIR


def _read_recovery_index(folder: Path) -> dict | None:
    rec = _recovery_folder(folder)
    if not (rec / REC_INDEX).is_file():
        return None
    try:
        return read_index(rec, REC_INDEX, REC_FORMAT)
    except DvpInputError:
        return None


def find_recovery(folder: str | os.PathLike[str]) -> RecoveryInfo | None:
    """Return the recovery state of a project folder (or a session's recovery area)
    if it holds edits newer than the saved project, else None.
    """
    folder = Path(folder)
    index = _read_recovery_index(folder)
    if index is None:
        return None
    project_saved = None
    if (folder / INDEX).is_file():
        try:
            project_saved = float(read_index(folder).get("saved_unix", 0.0))
        except DvpInputError:
            project_saved = 0.0
    saved_unix = float(index.get("saved_unix", 0.0))
    if project_saved is not None and saved_unix <= project_saved:
        return None
    slots = sorted(set(index.get("files", {})) | set(index.get("cleared", []))
                   | {k for k in INLINE if k in index})
    return RecoveryInfo(folder=_recovery_folder(folder), saved=str(index.get("saved", "")),
                        saved_unix=saved_unix,
                        last_edit_unix=float(index.get("last_edit_unix", saved_unix)),
                        slots=slots, project_saved_unix=project_saved)


def recover(folder: str | os.PathLike[str], verify: bool = True) -> Project:
    """Load the saved project (if any) with the recovered edits on top.

    Raises
    ------
    DvpInputError
        No recovery state, or one of its files is damaged.
    """
    folder = Path(folder)
    index = _read_recovery_index(folder)
    if index is None:
        raise DvpInputError(f"{folder} has no recovered edits to load; open it normally")
    rec = _recovery_folder(folder)
    if (folder / INDEX).is_file():
        project = load_project(folder, verify=verify)
    elif index.get("project_dir") and (Path(index["project_dir"]) / INDEX).is_file():
        project = load_project(index["project_dir"], verify=verify)
    else:
        project = Project()
    for slot in index.get("cleared", []):
        if slot in TABLE_SLOTS:
            setattr(project, slot, {})
        elif slot == "regions":
            project.regions = []
        else:
            setattr(project, slot, None)
    read_slots(rec, index.get("files", {}), project, verify=verify)
    for key in INLINE:
        if key in index:
            value = index[key]
            setattr(project, key, ImageRef.from_json(value) if key == "image" and value
                    else value)
    return project


def discard_recovery(folder: str | os.PathLike[str]) -> None:
    """Remove the recovery area of a project folder (or the given session area)."""
    rec = _recovery_folder(Path(folder))
    if rec.is_dir():
        shutil.rmtree(rec, ignore_errors=True)


def list_recoveries() -> list[RecoveryInfo]:
    """Recovery areas of unsaved sessions (newest first)."""
    root = recovery_root()
    out = []
    if root.is_dir():
        for sub in root.iterdir():
            info = find_recovery(sub) if sub.is_dir() else None
            if info is not None:
                out.append(info)
    return sorted(out, key=lambda r: r.saved_unix, reverse=True)
