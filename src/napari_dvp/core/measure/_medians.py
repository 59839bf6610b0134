"""Exact per-cell medians (and sums) from one sort of packed (label, value) keys."""

from __future__ import annotations

import numpy as np


def _medians(comp: np.ndarray, vals: np.ndarray, counts: np.ndarray, cache: dict
             ) -> tuple[np.ndarray, np.ndarray]:
    """Median and sum of ``vals`` per compact label ``comp`` (``counts`` pixels each).

    Integer values are packed with the label into one 32/64-bit key and sorted
    once; the sums come from the same sorted keys (``reduceat`` minus the
    label part, exact integers). Other values use ``np.lexsort``. ``cache``
    keeps the shifted labels between channels.
    """
    if np.issubdtype(vals.dtype, np.integer) and vals.size:
        if np.issubdtype(vals.dtype, np.unsignedinteger) and vals.dtype.itemsize <= 2:
            vmin, bits = 0, 8 * vals.dtype.itemsize
        else:
            vmin = int(vals.min())
            bits = max((int(vals.max()) - vmin).bit_length(), 1)
        need = int(counts.size).bit_length() + bits
        if need <= 63:
            kt = np.uint32 if need <= 32 else np.uint64
            if (bits, kt) not in cache:
                cache[bits, kt] = comp.astype(kt) << kt(bits)
            v = vals.astype(kt) if vmin == 0 else (vals.astype(np.int64) - vmin).astype(kt)
            key = cache[bits, kt] | v
            key.sort()
            lo, hi = _middles(counts)
            mask = kt((1 << bits) - 1)
            med = ((key[lo] & mask).astype(np.float64)
                   + (key[hi] & mask).astype(np.float64)) / 2 + vmin
            starts = lo - (counts - 1) // 2
            total = np.add.reduceat(key, starts, dtype=np.uint64) - (
                counts.astype(np.uint64) * (np.arange(counts.size, dtype=np.uint64)
                                            << np.uint64(bits)))
            return med, total.astype(np.float64) + vmin * counts
    order = np.lexsort((vals, comp))
    srt = vals[order]
    sums = np.add.reduceat(srt.astype(np.float64), np.cumsum(counts) - counts) if srt.size \
        else np.zeros(0)
    return _run_medians(srt, counts), sums


def _middles(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.cumsum(counts) - counts
    return starts + (counts - 1) // 2, starts + counts // 2


def _run_medians(sorted_vals: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each consecutive run of ``counts`` values (counts > 0)."""
    lo, hi = _middles(counts)
    return (sorted_vals[lo].astype(np.float64) + sorted_vals[hi].astype(np.float64)) / 2
