"""Autosave in the background, one consistent generation at a time.

The editing thread (napari's GUI thread) tells an :class:`Autosaver` what
changed — labels painted in a box, the cell table, a plan — and calls
:meth:`Autosaver.tick` at quiet moments (a GUI timer). At most every
``interval`` seconds a tick takes a **snapshot**: the painted 256² label tiles
are copied and the changed slots are taken (a cell table through a getter, so
each edit costs nothing), all at one instant of the editing thread, so labels
and cell table always belong together. A background thread writes the
snapshot and then replaces the recovery index ``recovery.json``: that
replacement is the commit of one **generation**. A crash at any moment leaves
the previous generation whole; recovery never mixes labels of one moment with
a cell table of another.

Labels are stored as a *base* (the saved project's labels, or a full copy in
``labels.r<N>.zarr``) plus the patches of every generation since
(``labels.p<N>.npz``: whole tiles, applied in order), folded into a new base
in the background when they pile up. A full copy (a new labels array, a
session never saved) is made in the background from the live array while the
user keeps painting; the tiles painted meanwhile are copied again at the next
snapshot, so the copy plus those tiles is again one instant.

Recovery areas: ``<project>/.recovery/`` for a saved project,
``~/.napari-dvp/recovery/<session id>/`` for a session never saved
(``NAPARI_DVP_HOME`` moves the root). Reading them back — :func:`~.recovery.find_recovery`,
:func:`~.recovery.recover`, :func:`~.recovery.discard_recovery` — is :mod:`.recovery`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path, write_text_atomic
from ..errors import DvpInputError, one_line
from ._files import _json_bytes, _sha256_file
from ._image_ref import ImageRef
from ._index import _gc, _now, read_index
from ._labels_zarr import open_labels_zarr
from ._model import FORMAT_VERSION, INDEX, LABEL_CHUNK, SLOTS, TABLE_SLOTS, Project
from ._slots import write_slots
from .recovery import (
    INLINE,
    REC_FORMAT,
    REC_INDEX,
    TILE,
    _recovered_labels,
    _recovery_files,
    recovery_dir_for,
)

__all__ = ["AUTOSAVE_INTERVAL_S", "TILE", "Autosaver", "recovery_dir_for"]

AUTOSAVE_INTERVAL_S = 1.0
"""Default seconds between two autosave snapshots (a crash loses at most about this much)."""
MAX_SNAPSHOT_BYTES = 32 << 20
"""More painted tiles than this are not copied on the editing thread: a full copy is
made in the background instead."""
COMPACT_PATCHES, COMPACT_BYTES = 32, 128 << 20
"""Patches are folded into a new base beyond this many files or bytes."""


@dataclass
class _Snapshot:
    """What one generation writes: taken at one instant of the editing thread."""

    edit_unix: float
    tiles: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    base: str | None = None  # a finished full copy to adopt as the new base
    base_sha: str = ""
    clear_labels: bool = False
    slots: dict[str, Any] = field(default_factory=dict)

    def merge_older(self, old: _Snapshot) -> None:
        """Fold a snapshot that failed to write underneath this newer one."""
        if self.base is None and not self.clear_labels:
            self.tiles = {**old.tiles, **self.tiles}
            self.base, self.base_sha = old.base, old.base_sha
            self.clear_labels = old.clear_labels
        self.slots = {**old.slots, **self.slots}


@dataclass
class _Copy:
    """A full copy of the live labels, made in the background."""

    name: str
    labels: Any
    version: int
    state: str = "copying"  # "ready", "failed"
    sha: str = ""


def _tile_slices(i: int, j: int) -> tuple[slice, slice]:
    return slice(i * TILE, (i + 1) * TILE), slice(j * TILE, (j + 1) * TILE)


def _copy_labels(labels: Any, target: Path) -> str:
    """Write ``labels`` band by band into a zarr array; the digest of exactly what was written."""
    import zarr

    shape = tuple(int(s) for s in labels.shape)
    dtype = np.dtype(labels.dtype)
    h = hashlib.sha256(f"{shape}|{dtype.str}|".encode())
    with atomic_path(target) as tmp:
        chunks = tuple([1] * (len(shape) - 2) + [LABEL_CHUNK] * min(2, len(shape)))
        z = zarr.create_array(store=str(tmp), shape=shape, chunks=chunks, dtype=dtype,
                              fill_value=0)
        for r0 in range(0, shape[0], LABEL_CHUNK):
            band = np.array(labels[r0:r0 + LABEL_CHUNK], dtype=dtype, order="C")
            h.update(memoryview(band).cast("B"))
            z[r0:r0 + LABEL_CHUNK] = band
    return h.hexdigest()


class Autosaver:
    """Write edits to a recovery area, one consistent generation at most every ``interval`` s.

    Parameters
    ----------
    folder
        The recovery area (see :func:`recovery_dir_for`).
    interval
        Minimum seconds between two snapshots.
    project_dir
        The project the edits belong to (its labels are the base of the recovered labels).
    on_saved, on_error
        Called from the background thread after each write (with the write
        time) or failure (with a one-line message).
    on_writing
        Called from the background thread when it starts writing a generation.

    Notes
    -----
    :meth:`set_labels`, :meth:`mark_labels_dirty`, :meth:`update`,
    :meth:`update_later` and :meth:`tick` belong to the editing thread and
    never wait for the disk. Call :meth:`tick` when no edit is half done (a
    timer of the GUI); it takes a snapshot when one is due.
    """

    def __init__(self, folder: str | os.PathLike[str], interval: float = AUTOSAVE_INTERVAL_S,
                 project_dir: str | os.PathLike[str] | None = None,
                 on_saved: Callable[[float], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_writing: Callable[[], None] | None = None) -> None:
        self.folder = Path(folder)
        self.interval = float(interval)
        self.project_dir = None if project_dir is None else str(Path(project_dir).resolve())
        self.on_saved, self.on_error, self.on_writing = on_saved, on_error, on_writing
        self.enabled = True
        self.last_saved_unix: float | None = None
        self.last_error: str | None = None
        self.n_writes = 0
        self.max_snapshot_s = 0.0  # longest snapshot on the editing thread (seconds)
        self._cond = threading.Condition()
        # editing-thread state (under _cond)
        self._labels: Any = None
        self._version = 0  # +1 for every new labels array
        self._dirty: set[tuple[int, int]] | None = set()  # None: a full copy is needed
        self._clear_labels = False
        self._pending: dict[str, Any] = {}
        self._later: dict[str, Callable[[], Any]] = {}
        self._edit_unix = 0.0
        self._last_snap = time.monotonic()
        # writer state
        self._job: _Snapshot | _Copy | None = None
        self._retry: _Snapshot | None = None
        self._copy: _Copy | None = None
        self._closing = False
        self._seq = 0
        self._files: dict[str, Any] = {}
        self._inline: dict[str, Any] = {}
        self._cleared: set[str] = set()
        self._project_gen = self._read_project_generation()
        self._thread = threading.Thread(target=self._run, name="napari-dvp-autosave",
                                        daemon=True)
        self._thread.start()

    def _read_project_generation(self) -> int | None:
        if self.project_dir is None or not (Path(self.project_dir) / INDEX).is_file():
            return None
        try:
            return int(read_index(self.project_dir).get("generation", 0))
        except DvpInputError:
            return None

    def _project_labels_shape(self) -> tuple[int, ...] | None:
        if self.project_dir is None or not (Path(self.project_dir) / INDEX).is_file():
            return None
        try:
            entry = read_index(self.project_dir)["files"].get("labels") or {}
        except DvpInputError:
            return None
        return tuple(int(n) for n in entry.get("shape", ())) or None

    # ------------------------------------------------------------------ notifications

    def set_labels(self, labels: Any, dirty: bool = True) -> None:
        """Follow ``labels``, the live array the user paints into (``None``: no labels).

        ``dirty=False`` when it equals the saved project's labels (just opened
        or saved): the project's labels are the base and only painted tiles
        are written. Otherwise a full copy is made in the background.
        """
        if not dirty and (self._files.get("labels") or labels is None
                          or self._project_labels_shape() != tuple(labels.shape)):
            dirty = True  # no saved labels to stand on: keep a full copy
        with self._cond:
            self._labels = labels
            self._version += 1
            self._clear_labels = labels is None
            if labels is None or dirty:
                self._dirty = set() if labels is None else None
                self._touch()
            else:
                self._dirty = set()

    def mark_labels_dirty(self, bbox: tuple[int, int, int, int] | None = None) -> None:
        """Note that labels changed inside ``(row0, row1, col0, col1)`` (None: anywhere)."""
        with self._cond:
            if bbox is None or self._labels is None or np.ndim(self._labels) != 2:
                self._dirty = None
            elif self._dirty is not None:
                r0, r1, c0, c1 = (int(v) for v in bbox)
                rows = range(max(r0, 0) // TILE, max(r1 - 1, r0, 0) // TILE + 1)
                cols = range(max(c0, 0) // TILE, max(c1 - 1, c0, 0) // TILE + 1)
                self._dirty.update((i, j) for i in rows for j in cols)
            self._touch()

    def update(self, slot: str, value: Any) -> None:
        """Hand over the new value of a slot (``cells``, ``plans`` …, or ``layers``/``meta``).

        The value is written later, from another thread: pass a copy of
        anything the caller keeps changing in place (or use :meth:`update_later`).
        """
        self._check_slot(slot)
        if slot == "labels":
            self.set_labels(value)
            return
        with self._cond:
            self._later.pop(slot, None)
            self._pending[slot] = value
            self._touch()

    def update_later(self, slot: str, get: Callable[[], Any]) -> None:
        """Note that ``slot`` changed; ``get()`` gives its value at the next snapshot.

        ``get`` runs on the editing thread at the snapshot, so a table is
        fetched once per snapshot instead of once per edit. It may return a
        callable instead of the value: that runs in the background thread
        (the expensive conversion), on what ``get`` took — references to
        objects the editor replaces rather than changes in place.
        """
        self._check_slot(slot)
        with self._cond:
            self._pending.pop(slot, None)
            self._later[slot] = get
            self._touch()

    @staticmethod
    def _check_slot(slot: str) -> None:
        if slot not in SLOTS and slot not in INLINE:
            raise DvpInputError(f"unknown project slot '{slot}'; use one of "
                                f"{', '.join(SLOTS + INLINE)}")

    def _touch(self) -> None:
        self._edit_unix = time.time()

    @property
    def dirty(self) -> bool:
        """True while some edit is not yet written."""
        with self._cond:
            return self._is_dirty() or self._job is not None or self._retry is not None

    def _is_dirty(self) -> bool:
        return bool(self._pending) or bool(self._later) or self._clear_labels or \
            (self._dirty is None and self._labels is not None) or bool(self._dirty) or \
            self._copy is not None

    # ------------------------------------------------------------------ snapshots

    def tick(self, force: bool = False) -> bool:
        """Take a snapshot if one is due (editing thread); True if one was handed over."""
        if not self.enabled and not force:
            return False
        t0 = time.perf_counter()
        with self._cond:
            if self._job is not None or self._closing:
                return False
            if not force and time.monotonic() - self._last_snap < self.interval:
                return False
            snap = self._snapshot()
            if snap is None:
                return False
            if self._retry is not None:
                snap.merge_older(self._retry)
                self._retry = None
            self._job = snap
            self._last_snap = time.monotonic()
            self._cond.notify_all()
        self.max_snapshot_s = max(self.max_snapshot_s, time.perf_counter() - t0)
        return True

    def _snapshot(self) -> _Snapshot | None:
        """Copy what changed, now (under the lock); None when nothing to write yet."""
        if not self._is_dirty() and self._retry is None:
            return None
        snap = _Snapshot(edit_unix=self._edit_unix)
        labels = self._labels
        if self._clear_labels:
            snap.clear_labels = True
            self._clear_labels = False
            self._copy = None
        elif labels is not None:
            if self._copy is not None and self._copy.version != self._version:
                self._copy = None  # a copy of an array no longer followed
            dirty = self._dirty
            too_big = dirty is not None and len(dirty) * TILE * TILE * np.dtype(
                labels.dtype).itemsize > MAX_SNAPSHOT_BYTES
            if dirty is None or too_big or (self._copy is not None
                                            and self._copy.state == "failed"):
                self._start_copy(labels)
                return None  # the generation waits for the full copy
            if self._copy is not None:  # finished: it becomes the base
                snap.base, snap.base_sha = self._copy.name, self._copy.sha
                self._copy = None
            for i, j in sorted(dirty):
                rs, cs = _tile_slices(i, j)
                snap.tiles[(i, j)] = np.array(labels[rs, cs])
            self._dirty = set()
        for slot, get in self._later.items():
            snap.slots[slot] = get()
        snap.slots.update(self._pending)
        self._later, self._pending = {}, {}
        return snap

    def _next_seq(self) -> int:
        with self._cond:
            self._seq += 1
            return self._seq

    def _start_copy(self, labels: Any) -> None:
        self._copy = _Copy(name=f"labels.r{self._next_seq()}.zarr", labels=labels,
                           version=self._version)
        self._dirty = set()  # from now on, painted tiles are copied again at the snapshot
        self._job = self._copy
        self._cond.notify_all()

    # ------------------------------------------------------------------ control

    def flush(self, timeout: float = 30.0) -> None:
        """Write every edit now and wait until it is on disk (editing thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.enabled:
            with self._cond:
                while self._job is not None and time.monotonic() < deadline:
                    self._cond.wait(0.02)
                if not self._is_dirty() and self._retry is None:
                    return
            self.tick(force=True)
            with self._cond:
                if self.last_error is not None and self._job is None and self._retry:
                    return  # failing to write: do not spin

    def discard(self) -> None:
        """Forget the recovery area (after a successful Save): remove it, start afresh.

        The labels followed now are taken to equal the saved project's.
        """
        with self._cond:
            while self._job is not None:
                self._cond.wait(0.02)
            shutil.rmtree(self.folder, ignore_errors=True)
            self._files, self._inline, self._cleared = {}, {}, set()
            self._pending, self._later = {}, {}
            self._copy, self._retry = None, None
            self._dirty = set()
            self._clear_labels = False
            self.last_saved_unix = None
            self._project_gen = self._read_project_generation()

    def close(self, flush: bool = True) -> None:
        """Stop the thread (writing pending edits first when ``flush``)."""
        if flush:
            self.flush()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout=30)

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing and self._job is None:
                    self._cond.wait(0.5)
                if self._closing:
                    return
                job = self._job
            error, retry, saved = None, False, 0.0
            try:
                if isinstance(job, _Copy):
                    job.sha = _copy_labels(job.labels, self.folder / job.name)
                    job.state = "ready"
                else:
                    if self.on_writing is not None:
                        self.on_writing()
                    saved = self._write(job)
            except Exception as exc:
                error = f"autosave failed: {one_line(exc)}"
                retry = not isinstance(exc, DvpInputError)
                if isinstance(job, _Copy):
                    job.state = "failed"
            with self._cond:
                if isinstance(job, _Copy):
                    job.labels = None
                elif error is not None and retry:
                    self._retry = job  # written again with the next snapshot
                self.last_error = error
                self._job = None
                self._cond.notify_all()
            if error is not None:
                if self.on_error is not None:
                    self.on_error(error)
            elif isinstance(job, _Snapshot) and self.on_saved is not None:
                self.on_saved(saved)

    def _patch(self, tiles: Mapping[tuple[int, int], np.ndarray], name: str) -> dict:
        keys = sorted(tiles)
        arrays = {f"t{k}": tiles[key] for k, key in enumerate(keys)}
        target = self.folder / name
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, index=np.array(keys, dtype=np.int64).reshape(-1, 2), **arrays)
        return {"file": name, "sha256": _sha256_file(target), "n": len(keys),
                "bytes": target.stat().st_size}

    def _write(self, snap: _Snapshot) -> float:
        self.folder.mkdir(parents=True, exist_ok=True)
        seq = self._next_seq()
        tag = f"r{seq}"
        files = dict(self._files)
        written: list[Path] = []
        lab = dict(files.get("labels") or {"base": None, "patches": []})
        if snap.clear_labels:
            files.pop("labels", None)
            self._cleared.add("labels")
        elif snap.base is not None or snap.tiles:
            if snap.base is not None:
                lab = {"base": snap.base, "base_sha": snap.base_sha, "patches": []}
            if snap.tiles:
                lab["patches"] = [*lab.get("patches", []),
                                  self._patch(snap.tiles, f"labels.p{seq}.npz")]
            lab["tile"] = TILE
            files["labels"] = lab
            self._cleared.discard("labels")
        for slot, value in snap.slots.items():
            if callable(value):  # the expensive half of an update_later: done here
                value = value()
            if slot in INLINE:
                self._inline[slot] = value.to_json() if isinstance(value, ImageRef) else value
                continue
            empty = value is None or ((slot in TABLE_SLOTS or slot == "regions") and not len(value))
            key = "image" if slot == "image_data" else slot
            if empty:
                files.pop(key, None)
                self._cleared.add(key)
                continue
            files.update(write_slots(self.folder, Project(**{slot: value}), tag, files,
                                     written, only=[slot]))
            self._cleared.discard(key)
        saved_unix = self._commit_index(files, snap.edit_unix)
        if "labels" in files and self._needs_compaction(files["labels"]):
            self._compact(files)
        return saved_unix

    def _commit_index(self, files: dict, edit_unix: float) -> float:
        saved, saved_unix = _now()
        index = {"format": REC_FORMAT, "format_version": FORMAT_VERSION, "saved": saved,
                 "saved_unix": saved_unix, "last_edit_unix": edit_unix, "seq": self._seq,
                 "project_dir": self.project_dir, "project_generation": self._project_gen,
                 "pid": os.getpid(), "cleared": sorted(self._cleared), **self._inline,
                 "files": files}
        write_text_atomic(self.folder / REC_INDEX, _json_bytes(index, "recovery index").decode())
        self._files = files
        keep = _recovery_files(files) | {REC_INDEX}
        if self._copy is not None:
            keep.add(self._copy.name)  # a finished copy waiting for its snapshot
        _gc(self.folder, keep)
        self.n_writes += 1
        self.last_saved_unix = saved_unix
        return saved_unix

    @staticmethod
    def _needs_compaction(lab: Mapping) -> bool:
        patches = lab.get("patches", [])
        return len(patches) > COMPACT_PATCHES or \
            sum(int(p.get("bytes", 0)) for p in patches) > COMPACT_BYTES

    def _compact(self, files: dict) -> None:
        """Fold the patches into a new base (from committed files only: consistent)."""
        index = read_index(self.folder, REC_INDEX, REC_FORMAT)
        labels = _recovered_labels(self.folder, index, self._base_labels())
        name = f"labels.r{self._next_seq()}.zarr"
        sha = _copy_labels(labels, self.folder / name)
        files = {**files, "labels": {"base": name, "base_sha": sha, "patches": [],
                                     "tile": TILE}}
        self._commit_index(files, float(index.get("last_edit_unix", 0.0)))

    def _base_labels(self) -> Any:
        if self.project_dir is None or not (Path(self.project_dir) / INDEX).is_file():
            return None
        entry = read_index(self.project_dir)["files"].get("labels")
        if not entry:
            return None
        return open_labels_zarr(Path(self.project_dir) / str(entry["file"]), lazy=True)


