"""Paint one value per LMD sample onto every cell cut into that sample.

The manifest's ``cell_ids`` say which cells went into which sample. A
:class:`SampleOverlay` builds, once, a lookup table cell id -> sample index and
(for in-memory labels) a per-pixel sample-index image; painting a new value per
sample is then one gather ``values[index_image]`` from a table with one entry per
sample (:func:`gather`: cache-sized row bands on a thread pool; 1M cells in a
fraction of a second). For dask labels everything stays lazy (per chunk).
Pixels of cells that were not cut, and background, are NaN.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .lut import apply_lut, build_lut

try:
    import dask.array as da
except ImportError:  # pragma: no cover
    da = None


def manifest_cells(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per cut cell: ``cell_id, sample_id, class, region`` (from ``cell_ids``)."""
    for col in ("sample_id", "cell_ids"):
        if col not in manifest.columns:
            raise DvpInputError(f"manifest lacks column {col!r}; export the LMD plan again")
    import pyarrow as pa
    import pyarrow.compute as pc

    # one vectorised split of every sample's "1;2;3" (1M cell ids in ~0.2 s)
    text = pa.array(manifest["cell_ids"].astype(str).str.replace(" ", "", regex=False)
                    .to_numpy(dtype=object), type=pa.string())
    lists = pc.split_pattern(text, ";")
    tokens = pc.list_flatten(lists)
    rows = pc.list_parent_indices(lists).to_numpy()
    ok = pc.utf8_is_digit(tokens)
    ids = pc.cast(pc.filter(tokens, ok), pa.int64()).to_numpy()
    rows = rows[ok.to_numpy(zero_copy_only=False)]
    first = ~pd.Index(ids).duplicated(keep="first")
    rows = rows[first]
    out = {"cell_id": ids[first]}
    for col in ("sample_id", "class", "region", "well"):  # per sample, then per cell
        per_sample = (manifest[col].astype(str).to_numpy() if col in manifest.columns
                      else np.full(len(manifest), "", dtype=object))
        out[col] = per_sample[rows]
    return pd.DataFrame(out)


BAND_PX = 1 << 17
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _n_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS / Windows
        return max(1, os.cpu_count() or 1)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(_n_cpus(), thread_name_prefix="napari-dvp-gather")
        return _POOL


def gather(table: np.ndarray, index, out: np.ndarray | None = None,
           threads: int | None = None, band_px: int = BAND_PX) -> np.ndarray:
    """``table[index]`` for a big image of small integers (indices clipped to the table).

    ``np.take`` first converts the whole index image to 8-byte integers; doing it
    in row bands of ~``band_px`` pixels keeps that conversion in the CPU cache
    (about 3x faster on a 8192² image), and the bands run on a thread pool
    (``np.take`` releases the GIL).

    Parameters
    ----------
    table
        1-D lookup table (e.g. one value per sample + a NaN slot).
    index
        Integer array of any shape (e.g. the per-pixel sample index).
    out
        Array of ``index.shape`` and ``table.dtype`` to fill in place (no allocation).
    threads
        Number of threads (default: the CPUs this process may use).
    band_px
        Pixels per band.

    Returns
    -------
    numpy.ndarray
        ``out`` (or a new array) with ``out[p] = table[clip(index[p])]``.
    """
    table = np.asarray(table)
    index = np.asarray(index)
    if out is None:
        out = np.empty(index.shape, dtype=table.dtype)
    elif out.shape != index.shape or out.dtype != table.dtype:
        raise ValueError(f"out must be {table.dtype} of shape {index.shape}, "
                         f"not {out.dtype} {out.shape}")
    if index.ndim == 0 or index.size <= band_px:
        return np.take(table, index, out=out, mode="clip")
    row_px = max(1, index.size // index.shape[0])
    step = max(1, band_px // row_px)
    starts = range(0, index.shape[0], step)
    n = max(1, min(threads or _n_cpus(), len(starts)))

    def run(part) -> None:
        for r in part:
            np.take(table, index[r:r + step], out=out[r:r + step], mode="clip")

    if n == 1:
        run(starts)
    else:
        list(_pool().map(run, [starts[k::n] for k in range(n)]))
    return out


def symmetric_limits(values, floor: float = 1e-6) -> tuple[float, float]:
    """Contrast limits centred on 0 covering every finite value (for z-scores)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    m = float(np.abs(v).max()) if v.size else 1.0
    m = max(m, floor)
    return -m, m


def value_limits(values) -> tuple[float, float]:
    """Min/max of the finite values (a tiny range if all are equal)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


class SampleOverlay:
    """Per-sample values painted over a labels image.

    Parameters
    ----------
    labels
        ``(Y, X)`` integer labels (numpy or dask); cell id = label value.
    manifest
        LMD manifest (``sample_id`` and ``cell_ids`` are used).
    max_id
        Largest label value; defaults to the largest cut cell id (larger labels -> NaN).
    """

    def __init__(self, labels, manifest: pd.DataFrame, max_id: int | None = None) -> None:
        self.labels = labels
        self.cells = manifest_cells(manifest)
        if self.cells.empty:
            raise DvpInputError("the manifest lists no cell ids; the overlay needs the cut "
                                "cells of every sample (column cell_ids)")
        self.samples = pd.Index(manifest["sample_id"].astype(str).to_numpy())
        n = len(self.samples)
        self._dtype = np.uint16 if n < 65535 else np.uint32
        sample_idx = self.samples.get_indexer(self.cells["sample_id"])
        self.cell_to_sample = build_lut(self.cells["cell_id"].to_numpy(), sample_idx,
                                        max_id=max_id, fill=n, dtype=self._dtype)
        self._index = None
        self._rows: pd.Index | None = None

    @property
    def index_image(self):
        """Per-pixel sample index (``len(samples)`` where no cut cell); built once."""
        if self._index is None:
            if da is not None and isinstance(self.labels, da.Array):
                self._index = apply_lut(self.labels, self.cell_to_sample)
            else:
                lut = np.append(self.cell_to_sample, self._dtype(len(self.samples)))
                self._index = gather(lut, np.asarray(self.labels))
        return self._index

    def sample_table(self, values: Mapping[str, float] | pd.Series) -> np.ndarray:
        """Value per sample index (float32), NaN for samples without a value, + a NaN slot."""
        s = pd.Series(values, dtype=np.float64)
        s.index = s.index.astype(str)
        vals = s.reindex(self.samples).to_numpy(dtype=np.float32)
        return np.append(vals, np.float32(np.nan))

    def paint(self, values: Mapping[str, float] | pd.Series, out: np.ndarray | None = None):
        """Float32 image: each cut cell's pixels = its sample's value, elsewhere NaN.

        ``out`` (numpy labels only) is filled in place, to repaint an existing layer's data
        without allocating (see :func:`gather`). Dask labels give a lazy dask array: only
        the chunks napari shows are computed.
        """
        table = self.sample_table(values)
        idx = self.index_image
        if da is not None and isinstance(idx, da.Array):
            return idx.map_blocks(_take, table, dtype=np.float32)
        return gather(table, idx, out=out)

    def cell_values(self, values: Mapping[str, float] | pd.Series) -> pd.DataFrame:
        """The painted value of every cut cell (``cell_id, sample_id, class, region, value``)."""
        table = self.sample_table(values)
        out = self.cells.copy()
        out["value"] = table[self.samples.get_indexer(out["sample_id"])]
        return out

    def describe(self, cell_id: int) -> dict | None:
        """Sample, class and region of a cut cell (``None`` if it was not cut)."""
        if not 0 < int(cell_id) < len(self.cell_to_sample):
            return None
        i = int(self.cell_to_sample[int(cell_id)])
        if i >= len(self.samples):
            return None
        if self._rows is None:
            self._rows = pd.Index(self.cells["cell_id"].to_numpy())
        row = self.cells.iloc[self._rows.get_loc(int(cell_id))]
        return {"sample_id": self.samples[i], "class": row["class"], "region": row["region"]}

    def hover_text(self, cell_id: int, values: Mapping[str, Mapping[str, float]]) -> str:
        """One line for the cell under the mouse: sample, class, region, then
        ``name = value`` of each painted overlay (``values``: name -> value per sample).
        """
        info = self.describe(cell_id)
        if info is None:
            return f"cell {cell_id}: not cut"
        parts = [f"sample {info['sample_id']}", info["class"], info["region"]]
        for name, vals in values.items():
            v = vals.get(info["sample_id"], float("nan"))
            parts.append(f"{name} = {v:.2f}")
        return " · ".join(parts)


def _take(block: np.ndarray, table: np.ndarray) -> np.ndarray:
    return gather(table, block, threads=1)
