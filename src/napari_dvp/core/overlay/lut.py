"""Colour or value every cell through a lookup table over the labels image.

Painting 100k-1M cells never builds one polygon or one colour-dict entry per
cell: a 1-D table ``lut`` indexed by cell id is gathered with ``lut[labels]``,
lazily per chunk when the labels are a dask array. Label 0 (background) always
maps to ``fill``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

try:  # dask is a core dependency, but keep numpy-only callers light
    import dask.array as da
except ImportError:  # pragma: no cover
    da = None


def build_lut(
    cell_ids: npt.ArrayLike,
    values: npt.ArrayLike,
    max_id: int | None = None,
    fill: float | int = np.nan,
    dtype: npt.DTypeLike | None = None,
) -> np.ndarray:
    """Build a lookup table ``lut`` with ``lut[cell_id] == value``.

    Parameters
    ----------
    cell_ids
        Integer cell ids (label values), shape ``(n,)``.
    values
        One value per cell, shape ``(n,)`` or ``(n, k)`` (e.g. RGBA rows).
    max_id
        Largest label value that can occur in the labels image. Defaults to
        ``max(cell_ids)``.
    fill
        Value for ids that are not listed, including background 0.
    dtype
        Output dtype; defaults to the dtype of ``values`` (float for NaN fill).

    Returns
    -------
    numpy.ndarray
        Shape ``(max_id + 1,)`` or ``(max_id + 1, k)``.
    """
    ids = np.asarray(cell_ids, dtype=np.int64).ravel()
    vals = np.asarray(values)
    if vals.shape[0] != ids.shape[0]:
        raise ValueError(f"{ids.shape[0]} cell ids but {vals.shape[0]} values")
    if ids.size and ids.min() < 0:
        raise ValueError("cell ids must be >= 0")
    top = int(ids.max()) if ids.size else 0
    if max_id is None:
        max_id = top
    max_id = max(int(max_id), top)
    if dtype is None:
        dtype = vals.dtype
        if isinstance(fill, float) and np.isnan(fill) and not np.issubdtype(dtype, np.floating):
            dtype = np.float32
    lut = np.full((max_id + 1, *vals.shape[1:]), fill, dtype=dtype)
    lut[ids] = vals
    if ids.size == 0 or 0 not in ids:
        lut[0] = fill
    return lut


def apply_lut(labels, lut: np.ndarray):
    """Return ``lut[labels]``; lazy (per chunk) when ``labels`` is a dask array.

    Label values above ``len(lut) - 1`` map to ``lut[0]`` (background), so a
    label painted after the table was built never raises.
    """
    if da is not None and isinstance(labels, da.Array):
        extra = lut.shape[1:]
        return labels.map_blocks(
            _gather,
            lut,
            dtype=lut.dtype,
            chunks=labels.chunks + tuple((n,) for n in extra),
            new_axis=list(range(labels.ndim, labels.ndim + len(extra))) or None,
        )
    return _gather(np.asarray(labels), lut)


def _gather(block: np.ndarray, lut: np.ndarray) -> np.ndarray:
    idx = block.astype(np.intp, copy=False)
    if idx.size and (idx.max() >= lut.shape[0] or idx.min() < 0):
        idx = np.where((idx >= lut.shape[0]) | (idx < 0), 0, idx)
    return lut[idx]
