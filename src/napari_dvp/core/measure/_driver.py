"""The block-wise driver: :func:`measure_cells` and its generator and box forms."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from ..cells import columns as ct
from ..errors import DvpInputError
from ..progress import run_to_end
from ._block_stats import _Acc, _block_stats, _finish_cut_cells
from ._inputs import _check_inputs
from ._table import _table

try:
    import dask.array as da
except ImportError:  # pragma: no cover
    da = None


#: Shape and position columns (the intensity columns depend on the channels).
MEASURE_COLUMNS = (
    ct.CELL_ID, ct.ROW, ct.COL, ct.Y_UM, ct.X_UM, ct.AREA_UM2,
    "eccentricity", "solidity", "perimeter_um", "touches_border",
)

#: Default block edge (pixels) for images processed block-wise.
BLOCK_SIZE = 1024


def _blocks(shape, block_size, chunks=None):
    """Yield ``(r0, r1, c0, c1)`` blocks covering ``shape``."""
    if chunks is not None:  # dask: follow the labels' chunk grid, merged up to block_size
        def edges(ch):
            out, acc_, pos = [0], 0, 0
            for c in ch:
                pos += c
                acc_ += c
                if acc_ >= block_size:
                    out.append(pos)
                    acc_ = 0
            if out[-1] != pos:
                out.append(pos)
            return out
        re_, ce_ = edges(chunks[0]), edges(chunks[1])
    else:
        re_ = [*range(0, shape[0], block_size), shape[0]]
        ce_ = [*range(0, shape[1], block_size), shape[1]]
    for a, b in itertools.pairwise(re_):
        for c, d in itertools.pairwise(ce_):
            yield a, b, c, d


def _load(arr) -> np.ndarray:
    """A block as numpy (computes dask arrays)."""
    return np.asarray(arr.compute() if hasattr(arr, "compute") else arr)


def _read_padded(labels, r0, r1, c0, c1, m):
    H, W = labels.shape
    a, b = max(r0 - m, 0), min(r1 + m, H)
    c, d = max(c0 - m, 0), min(c1 + m, W)
    blk = _load(labels[a:b, c:d])
    if blk.dtype == bool:
        blk = blk.astype(np.uint8)
    out = np.zeros((r1 - r0 + 2 * m, c1 - c0 + 2 * m), dtype=blk.dtype)
    out[a - (r0 - m):a - (r0 - m) + blk.shape[0], c - (c0 - m):c - (c0 - m) + blk.shape[1]] = blk
    return out


# ------------------------------------------------------------------- public
def measure_cells_iter(
    labels,
    image=None,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = 1.0,
    *,
    border: bool = True,
    block_size: int = BLOCK_SIZE,
) -> Iterator[tuple[int, int]]:
    """Generator form of :func:`measure_cells`: yields ``(blocks done, total)``.

    Returns the cell table (``StopIteration.value``); see :func:`measure_cells`.
    """
    image, names = _check_inputs(labels, image, channel_names)
    px = float(pixel_size_um) if pixel_size_um else 1.0
    if px <= 0 or not np.isfinite(px):
        raise DvpInputError(f"pixel size must be a positive number of µm, got {pixel_size_um}")
    chunks = labels.chunks if (da is not None and isinstance(labels, da.Array)) else None
    shape = tuple(int(s) for s in labels.shape)
    blocks = list(_blocks(shape, block_size, chunks))
    acc = _Acc(nch=len(names))
    m = 2
    H, W = shape
    for i, (r0, r1, c0, c1) in enumerate(blocks):
        lab_pad = _read_padded(labels, r0, r1, c0, c1, m)
        img_blk = None
        if image is not None:
            img_blk = _load(image[:, r0:r1, c0:c1])
        cut_edges = (r0 > 0, r1 < H, c0 > 0, c1 < W)
        _block_stats(acc, lab_pad, img_blk, m, r0, c0, shape, cut_edges)
        yield i + 1, len(blocks)
    if acc.nblocks.size and ((acc.nblocks > 1) & (acc.ncut < acc.nblocks)).any():
        # a cell split into pieces that sit in different blocks without touching
        # a block edge: gather its pixels in a second, targeted pass (rare)
        _regather(acc, labels, image, blocks)
    _finish_cut_cells(acc, None)
    return _table(acc, names, px, border)


def _regather(acc: _Acc, labels, image, blocks) -> None:
    bad = np.flatnonzero((acc.nblocks > 1) & (acc.ncut < acc.nblocks))
    # drop the partial pieces of these cells and collect all their pixels/corners
    keep_l, keep_v, keep_runs = [], [], []
    for lab, val in zip(acc.cut_labels, acc.cut_values, strict=True):
        sel = ~np.isin(lab, bad)
        keep_l.append(lab[sel])
        keep_v.append(val[sel])
    for runs in acc.hull_runs:
        keep_runs.append(runs[~np.isin(runs[:, 0], bad)])
    for r0, r1, c0, c1 in blocks:
        blk = _load(labels[r0:r1, c0:c1])
        sel = np.isin(blk, bad)
        if not sel.any():
            continue
        rr, cc = np.nonzero(sel)
        lab = blk[rr, cc].astype(np.int64)
        if image is not None:
            ib = _load(image[:, r0:r1, c0:c1])
            keep_l.append(lab)
            keep_v.append(ib[:, rr, cc].T)
        keep_runs.append(np.column_stack([lab, rr + r0, cc + c0, cc + c0]).astype(np.int64))
    acc.cut_labels, acc.cut_values = keep_l, keep_v
    acc.hull_runs = keep_runs


def measure_cells(
    labels,
    image=None,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = 1.0,
    *,
    border: bool = True,
    block_size: int = BLOCK_SIZE,
) -> pd.DataFrame:
    """Measure every cell of ``labels`` (vectorised over all cells).

    Parameters
    ----------
    labels
        ``(Y, X)`` integer cell ids, 0 = background; numpy, dask or zarr.
    image
        ``(C, Y, X)`` (or ``(Y, X)``) intensities on the same grid, numpy or
        dask; ``None`` for shape features only.
    channel_names
        One name per channel (columns ``mean_<name>``/``median_<name>``);
        default ``ch0, ch1, …``.
    pixel_size_um
        Micrometres per pixel (``None`` = 1).
    border
        Compute ``touches_border`` (else all False).
    block_size
        Edge of the blocks an image is processed in; dask arrays follow their
        chunk grid (merged up to this size). Memory is bounded by one block.

    Returns
    -------
    pandas.DataFrame
        One row per label value present, sorted by ``cell_id``; columns as in
        the module docstring.

    Raises
    ------
    DvpInputError
        Non-integer labels, shape mismatch with the image, wrong channel names.
    """
    return run_to_end(measure_cells_iter(labels, image, channel_names, pixel_size_um,
                                         border=border, block_size=block_size))


def measure_cells_in_box(
    labels: np.ndarray,
    image,
    channel_names: Sequence[str] | None,
    pixel_size_um: float | None,
    cell_ids: Sequence[int],
    box: tuple[int, int, int, int],
) -> pd.DataFrame:
    """Re-measure the cells ``cell_ids`` that lie inside ``box`` only.

    Used after an edit: reads ``labels``/``image`` within ``box`` = ``(r0, r1,
    c0, c1)`` grown by 2 pixels, so the cost is that of the edited cells.
    Cells listed but absent are omitted from the result.
    """
    H, W = labels.shape
    r0, r1, c0, c1 = box
    a, b, c, d = max(r0 - 2, 0), min(r1 + 2, H), max(c0 - 2, 0), min(c1 + 2, W)
    sub = np.asarray(labels[a:b, c:d])
    keep = np.isin(sub, np.asarray(cell_ids, dtype=sub.dtype))
    sub = np.where(keep, sub, 0)
    img = None if image is None else np.asarray(
        (image[None] if image.ndim == 2 else image)[:, a:b, c:d])
    tab = measure_cells(sub, img, channel_names, pixel_size_um, border=False,
                        block_size=max(sub.shape) + 1)
    pxs = float(pixel_size_um) if pixel_size_um else 1.0
    tab[ct.ROW] += a
    tab[ct.COL] += c
    tab[ct.Y_UM] = tab[ct.ROW] * pxs
    tab[ct.X_UM] = tab[ct.COL] * pxs
    edge = np.concatenate([
        np.asarray(labels[0, c:d]), np.asarray(labels[H - 1, c:d]),
        np.asarray(labels[a:b, 0]), np.asarray(labels[a:b, W - 1])])
    tab["touches_border"] = np.isin(tab[ct.CELL_ID].to_numpy(), edge[edge != 0])
    return tab
