"""Paint one value per LMD sample onto every cell cut into that sample.

The manifest's ``cell_ids`` say which cells went into which sample. A
:class:`SampleOverlay` builds, once, a lookup table cell id -> sample index and
(for in-memory labels) a per-pixel sample-index image; painting a new value per
sample is then one gather ``values[index_image]`` from a table with one entry per
sample (fast at 1M cells). For dask labels everything stays lazy (per chunk).
Pixels of cells that were not cut, and background, are NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain

import numpy as np
import pandas as pd

from .errors import DvpInputError
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
    parts = [str(s).replace(" ", "").split(";") for s in manifest["cell_ids"]]
    tokens = np.array(list(chain.from_iterable(parts)), dtype=str)
    rows = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    ok = np.char.isdigit(tokens)
    out = pd.DataFrame({"cell_id": tokens[ok].astype(np.int64)})
    src = manifest.iloc[rows[ok]]
    out["sample_id"] = src["sample_id"].astype(str).to_numpy()
    for col in ("class", "region", "well"):
        out[col] = src[col].astype(str).to_numpy() if col in src.columns else ""
    dup = out["cell_id"].duplicated(keep="first")
    return out[~dup].reset_index(drop=True)


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

    @property
    def index_image(self):
        """Per-pixel sample index (``len(samples)`` where no cut cell); built once."""
        if self._index is None:
            if da is not None and isinstance(self.labels, da.Array):
                self._index = apply_lut(self.labels, self.cell_to_sample)
            else:
                lab = np.asarray(self.labels)
                lut = np.append(self.cell_to_sample, self._dtype(len(self.samples)))
                self._index = np.take(lut, lab, mode="clip")
        return self._index

    def sample_table(self, values: Mapping[str, float] | pd.Series) -> np.ndarray:
        """Value per sample index (float32), NaN for samples without a value, + a NaN slot."""
        s = pd.Series(values, dtype=np.float64)
        s.index = s.index.astype(str)
        vals = s.reindex(self.samples).to_numpy(dtype=np.float32)
        return np.append(vals, np.float32(np.nan))

    def paint(self, values: Mapping[str, float] | pd.Series, out: np.ndarray | None = None):
        """Float32 image: each cut cell's pixels = its sample's value, elsewhere NaN.

        ``out`` (numpy labels only) is filled in place, to repaint an existing layer's data.
        """
        table = self.sample_table(values)
        idx = self.index_image
        if da is not None and isinstance(idx, da.Array):
            return idx.map_blocks(_take, table, dtype=np.float32)
        return np.take(table, idx, out=out, mode="clip")

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
        row = self.cells[self.cells["cell_id"] == int(cell_id)].iloc[0]
        return {"sample_id": self.samples[i], "class": row["class"], "region": row["region"]}


def _take(block: np.ndarray, table: np.ndarray) -> np.ndarray:
    return np.take(table, block, mode="clip")
