"""The ``image`` slot: an image that existed only in memory, kept inside the project.

Written once as a pyramidal OME-TIFF (``image.<tag>.ome.tif``, by
:func:`napari_dvp.core.slide.write_ome_tiff`) and reused while its pixels do
not change; copied along when the project is saved into another folder.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import DvpInputError
from ._files import _sha256_file
from ._image_ref import ImageRef, image_fingerprint
from ._model import EmbeddedImage, Project

_BAND = 512


def image_digest(img: EmbeddedImage) -> str:
    """SHA-256 of an in-memory image's pixels, names, pixel size and kind (band by band)."""
    data = img.data
    h = hashlib.sha256(repr((tuple(data.shape), str(np.dtype(data.dtype)),
                             list(img.channel_names), img.pixel_size_um, img.rgb)).encode())
    rows = data.shape[0] if img.rgb or data.ndim == 2 else data.shape[1]
    for r0 in range(0, rows, _BAND):
        band = data[r0:r0 + _BAND] if img.rgb or data.ndim == 2 else data[:, r0:r0 + _BAND]
        h.update(memoryview(np.ascontiguousarray(np.asarray(band))).cast("B"))
    return h.hexdigest()


def _entry(folder: Path, name: str, data_sha: str, extra: Mapping) -> dict:
    p = folder / name
    fp, shape, dtype = image_fingerprint(p)
    return {"file": name, "sha256": _sha256_file(p), "data_sha": data_sha, "fingerprint": fp,
            "shape": list(shape), "dtype": dtype, "bytes": p.stat().st_size, **extra}


def image_entry(folder: Path, tag: str, project: Project, prev: Mapping | None,
                written: list[Path]) -> dict | None:
    """Write (or reuse) the project's own image file; None when it has none."""
    name = f"image.{tag}.ome.tif"
    img = project.image_data
    if img is not None:
        from ..slide import write_ome_tiff

        sha = image_digest(img)
        if prev and prev.get("data_sha") == sha and (folder / str(prev.get("file"))).is_file():
            return dict(prev)
        data = np.moveaxis(img.data, -1, 0) if img.rgb else img.data
        target = folder / name
        write_ome_tiff(target, data, channel_names=list(img.channel_names),
                       pixel_size_um=img.pixel_size_um)
        written.append(target)
        return _entry(folder, name, sha, {"channels": list(img.channel_names), "rgb": img.rgb})
    ref = project.image
    if ref is None or not ref.embedded:
        return None
    src = Path(ref.path)
    if prev and prev.get("file") == src.name and src.parent.resolve() == folder.resolve():
        return dict(prev)  # this project's own file, unchanged
    if not src.is_file():
        raise DvpInputError(f"the project's own image {src} is gone; open the project it came "
                            "from again, or open the image file and save")
    target = folder / name
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
    written.append(target)
    return _entry(folder, name, str((prev or {}).get("data_sha", "")), {})


def embedded_ref(path: Path, entry: Mapping) -> ImageRef:
    """The :class:`ImageRef` of a project's own image file (found, checked by checksum)."""
    return ImageRef(path=str(path), fingerprint=str(entry.get("fingerprint", "")),
                    shape=tuple(int(s) for s in entry.get("shape", ())),
                    dtype=str(entry.get("dtype", "")), status="ok", embedded=True)
