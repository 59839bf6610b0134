"""The index ``project.json``: format version, generations, save and load."""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ..atomic import write_text_atomic
from ..errors import DvpInputError
from ._files import _json_bytes
from ._image_ref import ImageRef, check_image, relink_image
from ._model import FORMAT, FORMAT_VERSION, INDEX, RECOVERY_DIR, TABLE_SLOTS, Project
from ._slots import read_slots, write_slots

_OWN_FILE = re.compile(r"^(labels|cells|regions|classes|classifier|plans|manifests|scores|"
                       r"proteomics)\..*[gr]\d+\.[a-z0-9]+$")


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
    except (ValueError, UnicodeDecodeError, OSError):
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
            isinstance(e, dict) and isinstance(e.get("file"), str) for e in entries)
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


def save_project(folder: str | os.PathLike[str], project: Project,
                 progress: Callable[[str], None] | None = None) -> dict:
    """Save ``project`` into ``folder`` (created if needed) and return the new index.

    Writes a new generation of every changed slot, then replaces
    ``project.json``, then removes files of older generations. An exception or
    a crash at any point leaves the previous project loadable as it was.

    Raises
    ------
    DvpInputError
        ``folder`` holds other files but no project, or a slot cannot be stored.
    """
    folder = Path(folder)
    prev: dict | None = None
    if folder.exists():
        if not folder.is_dir():
            raise DvpInputError(f"{folder} is a file; choose a folder for the project")
        if (folder / INDEX).exists():
            try:
                prev = read_index(folder)
            except DvpInputError:
                prev = None  # overwrite a damaged project with a complete one
        elif any(p.name != RECOVERY_DIR for p in folder.iterdir()):
            raise DvpInputError(f"{folder} already holds other files; choose an empty folder "
                                "or an existing project")
    folder.mkdir(parents=True, exist_ok=True)
    gen = int((prev or {}).get("generation", 0)) + 1
    written: list[Path] = []
    try:
        files = write_slots(folder, project, f"g{gen}", (prev or {}).get("files"), written,
                            progress=progress)
        saved, saved_unix = _now()
        index = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "app": "napari-dvp",
            "app_version": _app_version(),
            "created": (prev or {}).get("created", saved), "saved": saved,
            "saved_unix": saved_unix, "generation": gen,
            "image": project.image.to_json() if project.image else None,
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
        (``ok``), ``missing`` or ``changed``; fix with :func:`relink_image`.

    Raises
    ------
    DvpInputError
        Not a project, a newer format, a listed file missing or damaged.
    """
    folder = Path(folder)
    index = read_index(folder)
    project = _project_from_index(index)
    read_slots(folder, index["files"], project, verify=verify, lazy_labels=lazy_labels)
    if project.image is not None:
        if image_path is not None:
            relink_image(project, image_path)
        else:
            check_image(project.image)
    return project


def _project_from_index(index: Mapping) -> Project:
    try:
        image = ImageRef.from_json(index["image"]) if index.get("image") else None
    except (KeyError, TypeError, ValueError):
        raise DvpInputError("the project index has a damaged image entry; restore a "
                            "backup") from None
    return Project(image=image, layers=list(index.get("layers") or []),
                   meta=dict(index.get("meta") or {}), saved=str(index.get("saved", "")),
                   generation=int(index.get("generation", 0)))

