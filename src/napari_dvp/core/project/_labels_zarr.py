"""The ``labels`` slot: a zarr v3 array written and checksummed band by band."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..errors import DvpInputError
from ._files import _reuse
from ._model import LABEL_CHUNK


def labels_digest(labels: Any) -> tuple[str, int, int]:
    """Return ``(sha256 of the C-order bytes, number of cells, largest label)``, band by band."""
    shape = tuple(labels.shape)
    h = hashlib.sha256(f"{shape}|{np.dtype(labels.dtype).str}|".encode())
    present = np.zeros(1, bool)
    for r0 in range(0, shape[0] if shape else 1, LABEL_CHUNK):
        band = np.ascontiguousarray(np.asarray(labels[r0:r0 + LABEL_CHUNK]))
        h.update(memoryview(band).cast("B"))
        if band.size:
            top = int(band.max())
            if top >= present.size:
                present = np.concatenate([present, np.zeros(top + 1 - present.size, bool)])
            present[band.ravel()] = True
    present[0] = False
    n = int(present.sum())
    return h.hexdigest(), n, int(np.flatnonzero(present)[-1]) if n else 0


def write_labels_zarr(path: Path, labels: Any) -> None:
    """Write ``labels`` as a zarr v3 array with 1024² chunks, one band of chunks at a time."""
    import zarr

    shape = tuple(int(s) for s in labels.shape)
    chunks = tuple([1] * (len(shape) - 2) + [LABEL_CHUNK] * min(2, len(shape)))
    z = zarr.create_array(store=str(path), shape=shape, chunks=chunks,
                          dtype=np.dtype(labels.dtype), fill_value=0, overwrite=True)
    for r0 in range(0, shape[0], LABEL_CHUNK):
        z[r0:r0 + LABEL_CHUNK] = np.asarray(labels[r0:r0 + LABEL_CHUNK])


def open_labels_zarr(path: Path, lazy: bool = False) -> Any:
    """Open a labels zarr array (read-only when lazy, else a numpy copy)."""
    import zarr

    try:
        z = zarr.open_array(str(path), mode="r")
        return z if lazy else z[...]
    except Exception as exc:
        raise DvpInputError(f"labels {path.name} are damaged ({type(exc).__name__}: "
                            f"{str(exc)[:100]}); restore them from a backup") from None


def _labels_entry(folder: Path, name: str, labels: Any, prev: Mapping | None,
                  written: list[Path]) -> dict:
    if not hasattr(labels, "shape") or not np.issubdtype(np.dtype(labels.dtype), np.integer):
        raise DvpInputError("labels must be an integer array (one id per cell, 0 = background)")
    if len(labels.shape) < 2:
        raise DvpInputError(f"labels must be 2-D (Y, X), not shape {tuple(labels.shape)}")
    sha, n_cells, max_label = labels_digest(labels)
    entry = _reuse(folder, prev, sha)
    if entry is None:
        target = folder / name
        with atomic_path(target) as tmp:
            write_labels_zarr(tmp, labels)
        written.append(target)
        entry = {"file": name, "sha256": sha}
    entry.update(shape=[int(s) for s in labels.shape], dtype=str(np.dtype(labels.dtype)),
                 chunks=LABEL_CHUNK, n_cells=n_cells, max_label=max_label)
    return entry

