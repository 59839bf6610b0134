"""What a project holds, and a full check of its files."""

from __future__ import annotations

import os
from pathlib import Path

from ._image_ref import check_image
from ._index import _project_from_index, load_project, read_index, referenced_files
from ._model import Project


def project_info(folder: str | os.PathLike[str]) -> dict:
    """What a project holds, from its index (no big file is read).

    Returns
    -------
    dict
        ``format_version``, ``app_version``, ``created``, ``saved``,
        ``generation``, ``image`` (with ``status``), ``layers`` (names),
        ``files`` (the index entries) and ``missing`` (listed files absent).
    """
    folder = Path(folder)
    index = read_index(folder)
    info = {k: index.get(k) for k in ("format_version", "app_version", "created", "saved",
                                      "generation")}
    image = _project_from_index(index).image
    if image is not None:
        check_image(image)
        info["image"] = {**image.to_json(), "status": image.status}
    else:
        info["image"] = None
    info["layers"] = [str(lay.get("name", "")) for lay in index.get("layers") or []]
    info["files"] = index["files"]
    info["missing"] = sorted(n for n in referenced_files(index["files"])
                             if not (folder / n).exists())
    from .autosave import find_recovery

    rec = find_recovery(folder)
    info["recovery"] = None if rec is None else rec.saved
    return info


def check_project(folder: str | os.PathLike[str]) -> Project:
    """Load every file of a project and verify every checksum (DvpInputError if not)."""
    return load_project(folder, verify=True)
