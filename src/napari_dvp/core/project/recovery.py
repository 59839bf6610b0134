"""Recovery after a crash: the recovery areas autosave writes, and reading them back.

A recovery area (``<project>/.recovery/`` for a saved project,
``~/.napari-dvp/recovery/<session id>/`` for a session never saved; ``NAPARI_DVP_HOME``
moves the root) holds the last complete generation :mod:`.autosave` committed:
``recovery.json``, the changed slots, and the labels as a base plus tile patches.
:func:`find_recovery` tells whether one holds edits newer than the saved project,
:func:`recover` loads the project with them on top, :func:`discard_recovery` removes
them, :func:`list_recoveries` lists the areas of unsaved sessions.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DvpInputError
from ._files import _sha256_file
from ._image_ref import ImageRef
from ._index import load_project, read_index, referenced_files
from ._labels_zarr import labels_digest, open_labels_zarr
from ._model import INDEX, RECOVERY_DIR, TABLE_SLOTS, Project
from ._slots import drain, read_slots_steps

__all__ = [
    "RecoveryInfo",
    "discard_recovery",
    "find_recovery",
    "list_recoveries",
    "recover",
    "recover_steps",
    "recovery_dir_for",
    "recovery_root",
]

REC_FORMAT = "napari-dvp recovery"
REC_INDEX = "recovery.json"
INLINE = ("image", "layers", "meta", "classifier_info")
"""Slots kept inside the recovery index itself."""
TILE = 256
"""Side (px) of the label tiles autosave tracks and copies."""


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
        When its last generation was written (local time, ISO 8601).
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



def _recovery_files(files: Mapping) -> set[str]:
    """File names a recovery index points to (the labels base and patches too)."""
    out = referenced_files({k: v for k, v in files.items() if k != "labels"})
    lab = files.get("labels")
    if isinstance(lab, Mapping):
        if lab.get("base"):
            out.add(str(lab["base"]))
        out.update(str(p["file"]) for p in lab.get("patches", []))
    return out


def _recovered_labels(rec: Path, index: Mapping, project_labels: Any,
                      verify: bool = True) -> np.ndarray | None:
    """The labels of a recovery generation: its base (or the project's) with its patches."""
    lab = index.get("files", {}).get("labels")
    if not isinstance(lab, Mapping):
        return None
    if lab.get("base"):
        base = open_labels_zarr(rec / Path(str(lab["base"])).name)
        if verify and lab.get("base_sha") and labels_digest(base)[0] != lab["base_sha"]:
            raise DvpInputError(f"recovered labels {lab['base']} are damaged (checksum differs)"
                                "; open the project without recovering")
    elif project_labels is not None:
        base = np.array(project_labels)
    else:
        raise DvpInputError(f"{rec} holds painted tiles but not the labels they belong to; "
                            "open the project without recovering")
    tile = int(lab.get("tile", TILE))
    for entry in lab.get("patches", []):
        p = rec / Path(str(entry["file"])).name
        if not p.is_file() or (verify and _sha256_file(p) != entry.get("sha256")):
            raise DvpInputError(f"recovered labels patch {p.name} is missing or damaged; open "
                                "the project without recovering")
        with np.load(p, allow_pickle=False) as z:
            for k, (i, j) in enumerate(z["index"]):
                t = z[f"t{k}"]
                base[i * tile:i * tile + t.shape[0], j * tile:j * tile + t.shape[1]] = t
    return base


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


def recover_steps(folder: str | os.PathLike[str], verify: bool = True
                  ) -> Generator[tuple[int, int, str], None, Project]:
    """:func:`recover` as a progress generator: yields ``(done, total, message)``."""
    folder = Path(folder)
    index = _read_recovery_index(folder)
    if index is None:
        raise DvpInputError(f"{folder} has no recovered edits to load; open it normally")
    rec = _recovery_folder(folder)
    base_dir = folder if (folder / INDEX).is_file() else (
        Path(index["project_dir"]) if index.get("project_dir")
        and (Path(index["project_dir"]) / INDEX).is_file() else None)
    yield 0, 3, "Reading the saved project…"
    if base_dir is not None:
        project = load_project(base_dir, verify=verify)
        gen = index.get("project_generation")
        if gen is not None and int(read_index(base_dir).get("generation", 0)) != int(gen):
            raise DvpInputError(f"the autosaved edits in {rec} belong to an older save of "
                                f"{base_dir.name}; open the project without recovering")
    else:
        project = Project()
    for slot in index.get("cleared", []):
        if slot in TABLE_SLOTS:
            setattr(project, slot, {})
        elif slot == "regions":
            project.regions = []
        elif slot == "image":
            project.image = None
        elif hasattr(project, slot):
            setattr(project, slot, None)
    yield 1, 3, "Reading the autosaved edits…"
    files = {k: v for k, v in index.get("files", {}).items() if k != "labels"}
    drain(read_slots_steps(rec, files, project, verify=verify))
    yield 2, 3, "Applying the painted labels…"
    labels = _recovered_labels(rec, index, project.labels, verify=verify)
    if labels is not None:
        project.labels = labels
    for key in INLINE:
        if key in index and not (key == "image" and "image" in files):
            value = index[key]
            setattr(project, key, ImageRef.from_json(value) if key == "image" and value
                    else value)
    return project


def recover(folder: str | os.PathLike[str], verify: bool = True) -> Project:
    """Load the saved project (if any) with the last complete autosaved generation on top.

    Raises
    ------
    DvpInputError
        No recovery state, or one of its files is damaged.
    """
    return drain(recover_steps(folder, verify))


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
