"""The index ``project.json``: format version, generations, save and load."""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Generator, Mapping
from pathlib import Path

from ..atomic import write_text_atomic
from ..errors import DvpInputError
from ._files import _json_bytes
from ._image_ref import ImageRef, check_image, relink_image
from ._model import FORMAT, FORMAT_VERSION, INDEX, RECOVERY_DIR, SLOTS, TABLE_SLOTS, Project
from ._slots import drain, read_slots_steps, write_slot
from .lock import LOCK, ProjectLock, ProjectLocked

_OWN_FILE = re.compile(r"^(image|labels|cells|regions|classes|classifier|plans|manifests|scores|"
                       r"proteomics)\..*[grp]\d+(\.[a-z0-9]+)+$")


def _now() -> tuple[str, float]:
    t = time.time()
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).astimezone().isoformat(
        timespec="seconds"), t


def _app_version() -> str:
    from ... import __version__

    return __version__


def read_index(folder: str | os.PathLike[str], name: str = INDEX,
               kind: str = FORMAT) -> dict:
    """Read and check a project (or recovery) index.

    Raises
    ------
    DvpInputError
        Missing, unreadable, not a napari-dvp index, or a newer format version.
    """
    folder = Path(folder)
    path = folder / name
    if not folder.is_dir():
        raise DvpInputError(f"project folder {folder} not found; choose an existing project")
    if not path.is_file():
        raise DvpInputError(f"{folder} is not a napari-dvp project (no {name}); choose the "
                            "folder you saved the project to")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, OSError, RecursionError):  # deep nesting too
        raise DvpInputError(f"{path} is damaged (not readable JSON); restore the project "
                            "from a backup") from None
    if not isinstance(index, dict) or index.get("format") != kind:
        raise DvpInputError(f"{path} is not a {kind} index; choose a napari-dvp project folder")
    version = index.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise DvpInputError(f"{path} has no valid format_version; restore it from a backup")
    if version > FORMAT_VERSION:
        raise DvpInputError(f"{folder.name} was saved by a newer napari-dvp (format "
                            f"{version}, this one reads {FORMAT_VERSION}); update napari-dvp")
    if not isinstance(index.get("files", {}), dict):
        raise DvpInputError(f"{path} is damaged ('files' is not a mapping); restore a backup")
    _check_entries(path, index)
    return index


def _check_entries(path: Path, index: Mapping) -> None:
    """DvpInputError if the index's files, layers, meta or generation have the wrong shape."""
    ok = True
    for slot, entry in index.get("files", {}).items():
        entries = entry.values() if slot in TABLE_SLOTS and isinstance(entry, dict) else [entry]
        ok = ok and (slot not in TABLE_SLOTS or isinstance(entry, dict)) and all(
            isinstance(e, dict) and (isinstance(e.get("file"), str) or (
                slot == "labels" and isinstance(e.get("patches"), list)))  # recovery labels
            for e in entries)
    layers = index.get("layers") or []
    ok = ok and isinstance(layers, list) and all(isinstance(lay, dict) for lay in layers)
    ok = ok and isinstance(index.get("meta") or {}, dict)
    ok = ok and isinstance(index.get("generation", 0), int)
    if not ok:
        raise DvpInputError(f"{path} is damaged (its files, layers or generation entries are "
                            "not what napari-dvp writes); restore it from a backup")


def _gc(folder: Path, keep: set[str]) -> None:
    """Remove our own files that the index no longer lists, and stale temporaries."""
    for p in folder.iterdir():
        n = p.name
        stale_tmp = n.startswith(".") and ".partial" in n
        if (stale_tmp or _OWN_FILE.match(n)) and n not in keep:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def referenced_files(files: Mapping) -> set[str]:
    """File names an index's ``files`` mapping points to."""
    out = set()
    for slot, entry in files.items():
        if slot in TABLE_SLOTS:
            out.update(str(e["file"]) for e in dict(entry).values())
        elif isinstance(entry, Mapping) and "file" in entry:
            out.add(str(entry["file"]))
    return out


LOCK_WAIT_S = 30.0
"""How long a save waits for another process's save of the same project to finish."""

_SLOT_WORDS = {"image_data": "image", "labels": "cell labels", "cells": "cell table",
               "regions": "regions", "classes": "class definitions", "classifier": "classifier",
               "plans": "sample plans", "manifests": "LMD manifests", "proteomics": "proteomics",
               "scores": "scores"}


def _foreign_files(folder: Path) -> list[str]:
    """Names in ``folder`` that are neither a project's nor its lock's or recovery's."""
    return [p.name for p in folder.iterdir()
            if p.name not in (INDEX, RECOVERY_DIR) and not p.name.startswith(LOCK)
            and not (p.name.startswith(".") and p.name.endswith(".partial"))]


def _previous(folder: Path) -> dict | None:
    """The previous index of ``folder`` (None: a new project); refuses a folder of other files."""
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise DvpInputError(f"{folder} is a file; choose a folder for the project")
    if (folder / INDEX).exists():
        try:
            return read_index(folder)
        except DvpInputError:
            return None  # overwrite a damaged project with a complete one
    if _foreign_files(folder):
        raise DvpInputError(f"{folder} already holds other files; choose an empty folder "
                            "or an existing project")
    return None


def check_save_folder(folder: str | os.PathLike[str]) -> bool:
    """DvpInputError unless ``folder`` can take a project; True if it holds one already."""
    return _previous(Path(folder)) is not None or (Path(folder) / INDEX).exists()


def save_steps(folder: str | os.PathLike[str], project: Project, lock: ProjectLock | None = None,
               wait: float = LOCK_WAIT_S) -> Generator[tuple[int, int, str], None, dict]:
    """:func:`save_project` as a progress generator: yields ``(done, total, message)``.

    Closing the generator (Cancel) removes what it wrote; the project on disk
    stays as it was.
    """
    folder = Path(folder)
    _previous(folder)  # refuse a folder of other files before touching it
    own = lock is None
    if lock is None:
        lock = ProjectLock(folder, "saving").acquire(wait=wait)
    elif not lock.held or lock.folder.resolve() != folder.resolve():
        raise DvpInputError(f"the lock given for {folder.name} is not held; save without it")
    try:
        prev = _previous(folder)  # again, under the lock: another writer may have saved
        gen = int((prev or {}).get("generation", 0)) + 1
        written: list[Path] = []
        total = len(SLOTS) + 1
        try:
            files: dict = {}
            for k, slot in enumerate(SLOTS):
                yield k, total, f"Saving the {_SLOT_WORDS[slot]}…"
                lock.refresh()  # a long save stays visibly alive …
                if not lock.held:  # … unless another writer took the lock over
                    raise ProjectLocked(f"{folder.name}: another napari-dvp took the project "
                                        "over during this save; nothing was changed — Save as… "
                                        "a new folder")
                done = write_slot(folder, project, slot, f"g{gen}", (prev or {}).get("files")
                                  or {}, written)
                if done is not None:
                    files[done[0]] = done[1]
            yield total - 1, total, "Writing the project index…"
            saved, saved_unix = _now()
            image = project.image if project.image_data is None else None
            index = {
                "format": FORMAT, "format_version": FORMAT_VERSION, "app": "napari-dvp",
                "app_version": _app_version(),
                "created": (prev or {}).get("created", saved), "saved": saved,
                "saved_unix": saved_unix, "generation": gen,
                "image": image.to_json() if image is not None and not image.embedded else None,
                "layers": project.layers, "meta": project.meta, "files": files,
            }
            text = _json_bytes(index, "project index").decode()
            write_text_atomic(folder / INDEX, text)
        except BaseException:
            for p in written:
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
            raise
        _gc(folder, referenced_files(files) | {INDEX})
        project.saved, project.generation = saved, gen
        return index
    finally:
        if own:
            lock.release()


def save_project(folder: str | os.PathLike[str], project: Project,
                 progress: Callable[[str], None] | None = None,
                 lock: ProjectLock | None = None, wait: float = LOCK_WAIT_S) -> dict:
    """Save ``project`` into ``folder`` (created if needed) and return the new index.

    Writes a new generation of every changed slot, then replaces
    ``project.json``, then removes files of older generations. An exception or
    a crash at any point leaves the previous project loadable as it was.
    One writer at a time: the save holds the folder's :class:`ProjectLock`
    (``lock``, if the caller holds it already), waiting up to ``wait`` s for
    another process's save.

    Raises
    ------
    DvpInputError
        ``folder`` holds other files but no project, or a slot cannot be stored.
    ProjectLocked
        Another napari-dvp has the project open, or is still saving it.
    """
    steps = save_steps(folder, project, lock=lock, wait=wait)
    while True:
        try:
            _, _, message = next(steps)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(message)


def load_steps(folder: str | os.PathLike[str], image_path: str | os.PathLike[str] | None = None,
               verify: bool = True, lazy_labels: bool = False
               ) -> Generator[tuple[int, int, str], None, Project]:
    """:func:`load_project` as a progress generator: yields ``(done, total, message)``."""
    folder = Path(folder)
    attempts = 6
    for attempt in range(attempts):
        lock, index = None, None
        if attempt == attempts - 1:  # saves keep replacing the files: read under the lock
            try:
                lock = ProjectLock(folder, "reading").acquire(wait=LOCK_WAIT_S)
            except (DvpInputError, OSError):
                lock = None
        try:
            index = read_index(folder)
            project = _project_from_index(index)
            for k, n, slot in read_slots_steps(folder, index["files"], project, verify=verify,
                                               lazy_labels=lazy_labels):
                yield k, n + 1, f"Reading the {_SLOT_WORDS.get(slot, slot)}…"
            break
        except (DvpInputError, FileNotFoundError) as exc:
            # a save by another process replaced the generation under us (a listed file
            # can vanish between its check and its read): read the new one
            try:
                moved = index is not None and \
                    read_index(folder).get("generation") != index.get("generation")
            except DvpInputError:
                moved = False
            if attempt == attempts - 1 or not moved:
                if isinstance(exc, FileNotFoundError):
                    raise DvpInputError(
                        f"{folder.name}: {Path(exc.filename or '?').name} vanished while it "
                        "was read; another program changes the project folder — try again "
                        "when it is done") from None
                raise
        finally:
            if lock is not None:
                lock.release()
    if project.image is not None and not project.image.embedded:
        if image_path is not None:
            relink_image(project, image_path)
        else:
            check_image(project.image)
    return project


def load_project(folder: str | os.PathLike[str], image_path: str | os.PathLike[str] | None = None,
                 verify: bool = True, lazy_labels: bool = False) -> Project:
    """Load a project folder.

    Parameters
    ----------
    folder
        The project folder (holding ``project.json``).
    image_path
        The image's new location if it moved (checked against the fingerprint).
    verify
        Check every file's SHA-256 against the index.
    lazy_labels
        Return the labels as a read-only zarr array instead of a numpy copy.

    Returns
    -------
    Project
        ``project.image.status`` says whether the image is still where it was
        (``ok``), ``missing`` or ``changed``; fix with :func:`relink_image`. A
        project that holds its own image has ``project.image.embedded``.

    Raises
    ------
    DvpInputError
        Not a project, a newer format, a listed file missing or damaged, or
        executable content (a pickled classifier).
    """
    return drain(load_steps(folder, image_path, verify, lazy_labels))


def _project_from_index(index: Mapping) -> Project:
    try:
        image = ImageRef.from_json(index["image"]) if index.get("image") else None
    except (KeyError, TypeError, ValueError):
        raise DvpInputError("the project index has a damaged image entry; restore a "
                            "backup") from None
    return Project(image=image, layers=list(index.get("layers") or []),
                   meta=dict(index.get("meta") or {}), saved=str(index.get("saved", "")),
                   generation=int(index.get("generation", 0)))

