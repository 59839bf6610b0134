"""Tiled segmentation of images of any size, stitched without seams.

Strategy (the choice is explained in ``docs/segmentation.md``):

1. The image (or a region of it) is cut into *core* tiles that partition it;
   each core is read with a margin of ``overlap`` pixels on every side (the
   *padded* tile), so a cell near the core border is seen whole.
2. The backend segments the padded tile. A cell is **owned** by the tile whose
   core contains its centroid, so every cell is kept by exactly one tile and
   its full mask comes from the padded tile (no half cells along seams).
3. Kept cells are written into the output in tile order of arrival with
   globally unique, consecutive ids. A pixel already claimed by a cell of a
   neighbouring tile stays with that cell; a new cell that overlaps an already
   written one by more than half its area is the same cell seen twice (its
   centroid moved across the seam between two segmentations) and is dropped.

cellpose's ``contrib/distributed_segmentation.py`` instead crops the overlap
away and merges labels that touch across block faces; that merges distinct
neighbouring cells that happen to touch a face, which centroid ownership
avoids. Memory is bounded by the tile size: the output is a numpy array for
small images or a zarr v3 array on disk for big ones.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_dir
from ..errors import DvpCancelled, DvpInputError
from .backends import SegmentationBackend

Box = tuple[int, int, int, int]  #: (row0, row1, col0, col1), end-exclusive


@dataclass(frozen=True)
class Tile:
    """One tile: its core (owned area) and its padded read window, in image pixels."""

    index: int
    core: Box
    padded: Box


def make_tiles(shape: tuple[int, int], tile_size: int, overlap: int,
               region: Box | None = None) -> list[Tile]:
    """Cut ``region`` (default: the whole ``shape``) into core tiles with padded windows.

    Raises
    ------
    DvpInputError
        For a tile size < 64 px, a negative overlap or an empty region.
    """
    height, width = int(shape[0]), int(shape[1])
    if tile_size < 64:
        raise DvpInputError(f"tile size must be at least 64 pixels (got {tile_size})")
    if overlap < 0:
        raise DvpInputError(f"tile overlap must be >= 0 pixels (got {overlap})")
    r0, r1, c0, c1 = region if region is not None else (0, height, 0, width)
    r0, c0 = max(int(r0), 0), max(int(c0), 0)
    r1, c1 = min(int(r1), height), min(int(c1), width)
    if r1 <= r0 or c1 <= c0:
        raise DvpInputError(f"the region to segment {region} lies outside the image {shape}; "
                            "draw it over the image")
    tiles = []
    for tr in range(r0, r1, tile_size):
        for tc in range(c0, c1, tile_size):
            core = (tr, min(tr + tile_size, r1), tc, min(tc + tile_size, c1))
            padded = (max(core[0] - overlap, 0), min(core[1] + overlap, height),
                      max(core[2] - overlap, 0), min(core[3] + overlap, width))
            tiles.append(Tile(len(tiles), core, padded))
    return tiles


class ArrayReader:
    """Reads windows of selected channels from a (C, Y, X) numpy, dask or zarr array.

    Picklable (a dask array pickles its graph), so it can travel to dask workers.
    """

    def __init__(self, array, channels: Sequence[int]):
        if getattr(array, "ndim", 0) != 3:
            raise DvpInputError(f"expected an image with axes (channel, row, col); got shape "
                                f"{getattr(array, 'shape', None)}")
        n = array.shape[0]
        bad = [c for c in channels if not 0 <= int(c) < n]
        if bad or not channels:
            raise DvpInputError(f"channel index {bad or channels} does not exist; the image has "
                                f"{n} channel(s)")
        self.array = array
        self.channels = [int(c) for c in channels]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the image."""
        return int(self.array.shape[1]), int(self.array.shape[2])

    def read(self, box: Box) -> np.ndarray:
        """The window ``box`` of the selected channels as float32 (C_sel, h, w)."""
        r0, r1, c0, c1 = box
        return np.stack([_local(self.array[c, r0:r1, c0:c1]) for c in self.channels])

    def overview(self, max_side: int = 2048) -> np.ndarray:
        """A strided view of the whole image, at most ``max_side`` pixels per side."""
        step = max(1, math.ceil(max(self.shape) / max_side))
        return np.stack([_local(self.array[c, ::step, ::step]) for c in self.channels])


def calibration_sample(reader: ArrayReader, max_side: int = 2048, crop: int = 512) -> np.ndarray:
    """Full-resolution pixels that stand for the whole image, for ``backend.calibrate``.

    An image no larger than ``max_side`` is returned whole. A bigger one gives a
    mosaic of ``(max_side // crop)²`` crops of ``crop²`` pixels, read at full
    resolution where a strided overview varies most (tissue rather than empty
    glass), so sizes and textures are those the tiles will see.
    """
    height, width = reader.shape
    if max(height, width) <= max_side:
        return reader.read((0, height, 0, width))
    k = max(1, max_side // crop)
    ov = reader.overview(256)[0]
    step_r, step_c = height / ov.shape[0], width / ov.shape[1]
    grid = max(k, 8)
    rows = np.linspace(0, ov.shape[0], grid + 1).astype(int)
    cols = np.linspace(0, ov.shape[1], grid + 1).astype(int)
    score = np.array([[ov[rows[i]:rows[i + 1], cols[j]:cols[j + 1]].std()
                       for j in range(grid)] for i in range(grid)])
    best = np.argsort(score.ravel())[::-1][:k * k]
    crops = []
    for flat in sorted(best.tolist()):
        i, j = divmod(flat, grid)
        cr = int((rows[i] + rows[i + 1]) / 2 * step_r)
        cc = int((cols[j] + cols[j + 1]) / 2 * step_c)
        r0 = min(max(cr - crop // 2, 0), max(height - crop, 0))
        c0 = min(max(cc - crop // 2, 0), max(width - crop, 0))
        window = reader.read((r0, min(r0 + crop, height), c0, min(c0 + crop, width)))
        padded = np.zeros((window.shape[0], crop, crop), np.float32)
        padded[:, :window.shape[1], :window.shape[2]] = window
        crops.append(padded)
    while len(crops) < k * k:
        crops.append(crops[-1])
    rows_of = [np.concatenate(crops[i * k:(i + 1) * k], axis=2) for i in range(k)]
    return np.concatenate(rows_of, axis=1)


def _local(window) -> np.ndarray:
    """Compute a window here (never on a dask.distributed client that may be active)."""
    if hasattr(window, "compute"):
        window = window.compute(scheduler="synchronous")
    return np.asarray(window, dtype=np.float32)


@dataclass
class TileResult:
    """The cells one tile owns: a crop of relabelled (1..n) int32 labels and its origin."""

    tile: Tile
    labels: np.ndarray
    origin: tuple[int, int]

    @property
    def n_cells(self) -> int:
        """Number of cells in this result."""
        return int(self.labels.max()) if self.labels.size else 0


def segment_tile(reader: ArrayReader, tile: Tile, backend: SegmentationBackend,
                 polygon=None) -> TileResult:
    """Segment one padded tile and keep the cells whose centroid lies in its core.

    Parameters
    ----------
    polygon
        Optional shapely geometry (x = col, y = row): cells whose centroid is
        outside it are dropped too.
    """
    pr0, _pr1, pc0, _pc1 = tile.padded
    labels = np.asarray(backend.segment(reader.read(tile.padded)))
    flat = labels.ravel().astype(np.intp, copy=False)
    n = int(flat.max()) if flat.size else 0
    if n == 0:
        return TileResult(tile, np.zeros((0, 0), np.int32), (pr0, pc0))
    rows, cols = np.indices(labels.shape)
    area = np.bincount(flat, minlength=n + 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = np.bincount(flat, weights=rows.ravel(), minlength=n + 1) / area + pr0
        cx = np.bincount(flat, weights=cols.ravel(), minlength=n + 1) / area + pc0
    r0, r1, c0, c1 = tile.core
    keep = (area > 0) & (cy >= r0) & (cy < r1) & (cx >= c0) & (cx < c1)
    keep[0] = False
    if polygon is not None and keep.any():
        import shapely

        keep[keep] = shapely.contains_xy(polygon, cx[keep], cy[keep])
    lut = np.zeros(n + 1, np.int32)
    lut[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    kept = lut[flat].reshape(labels.shape)
    if not keep.any():
        return TileResult(tile, np.zeros((0, 0), np.int32), (pr0, pc0))
    rr = np.flatnonzero(kept.any(axis=1))
    cc = np.flatnonzero(kept.any(axis=0))
    crop = kept[rr[0]:rr[-1] + 1, cc[0]:cc[-1] + 1]
    return TileResult(tile, np.ascontiguousarray(crop), (pr0 + int(rr[0]), pc0 + int(cc[0])))


class LabelsWriter:
    """Writes tile results into one labels array with consecutive global ids."""

    def __init__(self, out, duplicate_fraction: float = 0.5):
        self.out = out
        self.next_id = 1
        self.duplicate_fraction = duplicate_fraction

    def add(self, result: TileResult) -> int:
        """Write the cells of ``result``; return how many were written."""
        new = result.labels
        if new.size == 0:
            return 0
        r, c = result.origin
        window = (slice(r, r + new.shape[0]), slice(c, c + new.shape[1]))
        current = np.asarray(self.out[window])
        n = int(new.max())
        flat = new.ravel()
        taken = (flat > 0) & (current.ravel() > 0)
        area = np.bincount(flat, minlength=n + 1)
        lost = np.bincount(flat[taken], minlength=n + 1)
        keep = (area > 0) & (lost <= self.duplicate_fraction * area)
        keep[0] = False
        n_keep = int(keep.sum())
        if n_keep == 0:
            return 0
        lut = np.zeros(n + 1, np.uint32)
        lut[keep] = np.arange(self.next_id, self.next_id + n_keep, dtype=np.uint32)
        mapped = lut[new]
        free = current == 0
        current[free] = mapped[free]
        self.out[window] = current
        self.next_id += n_keep
        return n_keep


#: Maps (reader, tiles, backend, polygon) to an iterator of TileResult in any order.
TileRunner = Callable[[ArrayReader, list[Tile], SegmentationBackend, object], Iterator[TileResult]]


def run_in_process(reader: ArrayReader, tiles: list[Tile], backend: SegmentationBackend,
                   polygon=None) -> Iterator[TileResult]:
    """Segment the tiles one after the other in this process."""
    for tile in tiles:
        yield segment_tile(reader, tile, backend, polygon)


def default_overlap(backend: SegmentationBackend) -> int:
    """Two cell diameters (at least 32 px): every cell near a core border is seen whole."""
    return max(32, math.ceil(2 * backend.cell_diameter_px))


def segment_tiled(
    image,
    backend: SegmentationBackend,
    channels: Sequence[int] = (0,),
    *,
    tile_size: int = 1024,
    overlap: int | None = None,
    region: Box | None = None,
    polygon=None,
    out: str | os.PathLike[str] | None = None,
    overview: np.ndarray | None = None,
    calibrate: bool = True,
    runner: TileRunner | None = None,
    attrs: dict | None = None,
) -> Generator[tuple[int, int], None, object]:
    """Segment ``image`` tile by tile; yield ``(tiles_done, tiles_total)``; return the labels.

    Parameters
    ----------
    image
        (C, Y, X) numpy, dask or zarr array (e.g. ``open_image(path).levels[0]``).
    backend
        A :class:`~.backends.SegmentationBackend`.
    channels
        Channel indices handed to the backend: ``[nuclear]`` or ``[nuclear, cytoplasm]``.
    tile_size, overlap
        Core tile side and margin in pixels (default overlap: two cell diameters).
    region, polygon
        Segment only this box (rows/cols, end-exclusive) and keep only cells whose
        centroid lies inside ``polygon`` (shapely, x = col, y = row).
    out
        ``None``: return a numpy uint32 array. A ``.zarr`` path: write a zarr v3
        array there atomically (chunks of ``tile_size``) and return it opened read-only.
    overview, calibrate
        Image-wide statistics for :meth:`backend.calibrate` (default:
        :func:`calibration_sample` of ``image``); ``calibrate=False`` skips
        calibration (pass a backend calibrated already).
    runner
        How tiles are executed (default in-process; see :mod:`.distributed`).
    attrs
        Extra attributes stored in the zarr output (e.g. ``pixel_size_um``).

    Returns
    -------
    numpy.ndarray or zarr.Array
        (Y, X) uint32 labels, ids 1..n consecutive, 0 = background.
    """
    reader = image if isinstance(image, ArrayReader) else ArrayReader(image, channels)
    if calibrate:  # first: a backend may learn the cell size here, which sets the overlap
        ov = calibration_sample(reader) if overview is None else np.asarray(overview, np.float32)
        backend = backend.calibrate(ov)
    if overlap is None:
        overlap = default_overlap(backend)
    tiles = make_tiles(reader.shape, tile_size, overlap, region)
    run = runner or run_in_process
    total = len(tiles)
    if out is None:
        labels = np.zeros(reader.shape, np.uint32)
        yield from _fill(LabelsWriter(labels), run(reader, tiles, backend, polygon), total)
        return labels
    import zarr

    target = Path(out)
    if target.suffix.lower() != ".zarr":
        raise DvpInputError(f"tiled output must be a .zarr folder (got {target.name}); "
                            "use a name ending in .zarr")
    with atomic_dir(target) as tmp:
        arr = zarr.create_array(store=os.fspath(tmp), shape=reader.shape, dtype="uint32",
                                chunks=(min(tile_size, 2048),) * 2, fill_value=0)
        n_cells = yield from _fill(LabelsWriter(arr), run(reader, tiles, backend, polygon), total)
        arr.attrs.update({**(attrs or {}), "n_cells": n_cells})
    return zarr.open_array(os.fspath(target), mode="r")


def _fill(writer: LabelsWriter, results: Iterable[TileResult],
          total: int) -> Generator[tuple[int, int], None, int]:
    yield 0, total
    done = 0
    for result in results:
        writer.add(result)
        done += 1
        yield done, total
    if done != total:
        raise DvpCancelled(f"segmentation stopped after {done} of {total} tiles")
    return writer.next_id - 1


