"""What a project holds, a full check of its files, and the one-line save summary."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ._executable import executable_content
from ._image_ref import check_image
from ._index import _project_from_index, load_project, read_index, referenced_files
from ._model import Project
from .lock import read_lock

_HEAD = 1 << 20


def _executable_files(folder: Path, files: Mapping) -> list[str]:
    """``"file: what"`` for every listed file that holds code-running content."""
    out = []
    entry = files.get("classifier")
    if isinstance(entry, Mapping) and isinstance(entry.get("file"), str):
        p = folder / Path(entry["file"]).name
        if p.is_file():
            with open(p, "rb") as fh:
                what = executable_content(fh.read(_HEAD))
            if what is not None:
                out.append(f"{p.name}: {what}")
    return out


def project_info(folder: str | os.PathLike[str]) -> dict:
    """What a project holds, from its index (no big file is read).

    Returns
    -------
    dict
        ``format_version``, ``app_version``, ``created``, ``saved``,
        ``generation``, ``image`` (with ``status``; ``embedded`` when the
        project holds its own image), ``layers`` (names), ``files`` (the index
        entries), ``missing`` (listed files absent), ``executable`` (files
        holding code-running content, refused on open), ``lock`` (who writes
        it now, or None) and ``recovery`` (when unsaved edits were autosaved).
    """
    folder = Path(folder)
    index = read_index(folder)
    info = {k: index.get(k) for k in ("format_version", "app_version", "created", "saved",
                                      "generation")}
    image = _project_from_index(index).image
    own = index["files"].get("image")
    if isinstance(own, Mapping):
        ok = (folder / str(own.get("file", ""))).is_file()
        info["image"] = {"path": str(folder / str(own.get("file", ""))), "embedded": True,
                         "shape": own.get("shape", []), "dtype": own.get("dtype", ""),
                         "channels": own.get("channels", []),
                         "status": "ok" if ok else "missing"}
    elif image is not None:
        check_image(image)
        info["image"] = {**image.to_json(), "status": image.status}
    else:
        info["image"] = None
    info["layers"] = [str(lay.get("name", "")) for lay in index.get("layers") or []]
    info["files"] = index["files"]
    info["missing"] = sorted(n for n in referenced_files(index["files"])
                             if not (folder / n).exists())
    info["executable"] = _executable_files(folder, index["files"])
    lock = read_lock(folder)
    info["lock"] = None if lock is None else {**lock.__dict__, "stale": lock.stale_reason()}
    from .recovery import find_recovery

    rec = find_recovery(folder)
    info["recovery"] = None if rec is None else rec.saved
    return info


def check_project(folder: str | os.PathLike[str]) -> Project:
    """Load every file of a project and verify every checksum (DvpInputError if not).

    Executable content (a pickled classifier) fails the check: it is never loaded.
    """
    return load_project(folder, verify=True)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def save_summary(folder: str | os.PathLike[str], index: Mapping,
                 left_out: list[str] | None = None) -> str:
    """The one line said after a save: ``Saved project to …: image, 1,234 cells, 3 regions …``.

    Parameters
    ----------
    folder
        Where the project was saved.
    index
        The index :func:`save_project` returned.
    left_out
        What was deliberately not saved, in a few words each (said at the end).
    """
    files = index.get("files", {})
    parts = []
    if "image" in files:
        parts.append("image (kept in the project)")
    elif index.get("image"):
        parts.append(f"image ({Path(index['image']['path']).name}, referenced)")
    if "labels" in files or "cells" in files:
        n = files.get("labels", {}).get("n_cells")
        n = files.get("cells", {}).get("rows", 0) if n is None else n
        parts.append(_count(int(n), "cell"))
    if "regions" in files:
        parts.append(_count(int(files["regions"].get("n", 0)), "region"))
    if "classes" in files:
        parts.append("classes")
    if "classifier" in files:
        parts.append("classifier")
    for slot, word in (("plans", "plan"), ("manifests", "manifest"), ("scores", "score table")):
        if files.get(slot):
            parts.append(_count(len(files[slot]), word))
    if "proteomics" in files:
        parts.append("proteomics")
    text = f"Saved project to {folder}: {', '.join(parts) or 'nothing yet'}"
    if left_out:
        text += f" (not saved: {'; '.join(left_out)})"
    return text
