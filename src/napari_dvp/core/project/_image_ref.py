"""The image a project references: metadata fingerprint, check and relink."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DvpInputError

if TYPE_CHECKING:
    from ._model import Project

_TIFF_VOLATILE_TAGS = {"StripOffsets", "StripByteCounts", "TileOffsets", "TileByteCounts",
                       "SubIFDs", "FreeOffsets", "FreeByteCounts", "JPEGTables"}


@dataclass
class ImageRef:
    """The image a project was made on: where it was and what it looks like.

    Parameters
    ----------
    path
        Absolute path of the image file when the project was saved.
    fingerprint
        ``sha256:…`` of its metadata (shape, dtype, TIFF tags of the first page
        or OME-XML) and of its first stored tile: a renamed or copied file still
        matches; another image does not.
    shape, dtype
        Shape and dtype of the full-resolution image.
    embedded
        The image file lives inside the project folder (the project wrote it
        from an image that existed only in memory); copied along on Save as.
    status
        After loading: ``"ok"`` (found and matching), ``"missing"`` (no file at
        ``path``), ``"changed"`` (a different image is now at ``path``) or
        ``"unchecked"``.
    """

    path: str
    fingerprint: str
    shape: tuple[int, ...] = ()
    dtype: str = ""
    status: str = "unchecked"
    embedded: bool = False

    def to_json(self) -> dict:
        out = {"path": self.path, "fingerprint": self.fingerprint,
               "shape": list(self.shape), "dtype": self.dtype}
        if self.embedded:
            out["embedded"] = True
        return out

    @classmethod
    def from_json(cls, d: Mapping) -> ImageRef:
        return cls(path=str(d["path"]), fingerprint=str(d["fingerprint"]),
                   shape=tuple(int(s) for s in d.get("shape", ())), dtype=str(d.get("dtype", "")),
                   embedded=bool(d.get("embedded", False)))


def image_fingerprint(path: str | os.PathLike[str]) -> tuple[str, tuple[int, ...], str]:
    """Return ``(fingerprint, shape, dtype)`` of an image file, reading only its header.

    TIFF (and OME-TIFF, SVS …): the tags of the first page except the offsets,
    the OME-XML, the shape and dtype of the first series and the bytes of the
    first stored tile. Other files: size and the first and last MiB.

    Raises
    ------
    DvpInputError
        If the file does not exist or cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise DvpInputError(f"image {p} not found; give the image's new location")
    h = hashlib.sha256()
    shape: tuple[int, ...] = ()
    dtype = ""
    try:
        if p.is_dir():
            for sub in sorted(p.rglob("*.json")) + sorted(p.rglob(".z*")):
                if sub.is_file() and sub.stat().st_size < 1 << 20:
                    h.update(sub.relative_to(p).as_posix().encode() + sub.read_bytes())
        elif p.suffix.lower() in {".tif", ".tiff", ".svs", ".ndpi", ".scn", ".btf", ".qptiff"}:
            shape, dtype = _tiff_fingerprint(p, h)
        else:
            size = p.stat().st_size
            h.update(str(size).encode())
            with open(p, "rb") as fh:
                h.update(fh.read(1 << 20))
                fh.seek(max(0, size - (1 << 20)))
                h.update(fh.read(1 << 20))
    except DvpInputError:
        raise
    except Exception as exc:
        raise DvpInputError(f"cannot read image {p} ({type(exc).__name__}: {exc}); "
                            "check the file") from None
    return "sha256:" + h.hexdigest(), shape, dtype


def _tiff_fingerprint(p: Path, h) -> tuple[tuple[int, ...], str]:
    import tifffile

    with tifffile.TiffFile(p) as tf:
        series = tf.series[0]
        page = tf.pages.first
        tags = {}
        for tag in page.tags.values():
            if tag.name in _TIFF_VOLATILE_TAGS:
                continue
            value = tag.value
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, bytes):
                value = hashlib.sha256(value).hexdigest()
            tags[tag.name] = value
        meta = {"shape": list(series.shape), "dtype": str(series.dtype), "axes": series.axes,
                "pages": len(tf.pages), "tags": tags}
        h.update(json.dumps(meta, sort_keys=True, default=str).encode())
        offsets, counts = page.dataoffsets, page.databytecounts
        if len(offsets) and counts[0] > 0:
            tf.filehandle.seek(offsets[0])
            h.update(tf.filehandle.read(min(int(counts[0]), 1 << 20)))
        return tuple(int(s) for s in series.shape), str(series.dtype)


def image_ref(path: str | os.PathLike[str]) -> ImageRef:
    """Reference an image file by absolute path and metadata fingerprint."""
    fp, shape, dtype = image_fingerprint(path)
    return ImageRef(path=str(Path(path).resolve()), fingerprint=fp, shape=shape, dtype=dtype,
                    status="ok")


def check_image(ref: ImageRef) -> str:
    """Set and return ``ref.status``: ``ok``, ``missing`` or ``changed``."""
    if not Path(ref.path).exists():
        ref.status = "missing"
    else:
        try:
            fp = image_fingerprint(ref.path)[0]
        except DvpInputError:
            fp = ""
        ref.status = "ok" if fp == ref.fingerprint else "changed"
    return ref.status


def relink_image(project: Project, new_path: str | os.PathLike[str]) -> ImageRef:
    """Point the project at the image's new location, after checking it is the same image.

    Raises
    ------
    DvpInputError
        If the file at ``new_path`` is not the image the project was made on.
    """
    if project.image is None:
        raise DvpInputError("this project references no image; open the image as usual")
    fp, shape, dtype = image_fingerprint(new_path)
    if fp != project.image.fingerprint:
        raise DvpInputError(
            f"{new_path} is not the image this project was made on (its metadata differ from "
            f"{Path(project.image.path).name}); choose the original image or a copy of it")
    project.image = ImageRef(path=str(Path(new_path).resolve()), fingerprint=fp,
                             shape=shape or project.image.shape,
                             dtype=dtype or project.image.dtype, status="ok")
    return project.image

