"""Writing pyramidal, tiled, compressed OME-TIFF files and labels images.

A numpy array is downsampled in memory. A dask array (possibly far larger
than memory) is computed exactly once, chunk by chunk, into a temporary zarr
store beside the target; each coarser level is built from the level stored
before it, and the TIFF is then written strip by strip from the store. The
temporary store is removed afterwards and the TIFF appears atomically.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import tifffile
import zarr
from zarr.codecs import ZstdCodec

from ..atomic import atomic_dir, atomic_path
from ..errors import DvpInputError
from ._pyramid import downsample, level_shapes, n_levels_for

__all__ = ["TIFF_SUFFIXES", "write_labels", "write_ome_tiff"]

TIFF_SUFFIXES = (".tif", ".tiff")
_IMAGE_DTYPES = {np.dtype(t) for t in ("uint8", "uint16", "uint32", "int8", "int16", "int32",
                                       "float32", "float64")}
_LABEL_DTYPES = {np.dtype(t) for t in ("uint8", "uint16", "uint32")}
_COMPRESSIONS = {"zlib", "zstd", "lzw", "lzma", "none", None}
_BIGTIFF_BYTES = 2**30

ProgressFn = Callable[[int, int], Any]


def write_ome_tiff(
    path: str | os.PathLike[str],
    data: np.ndarray | da.Array,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = None,
    tile: int = 512,
    n_levels: int | None = None,
    compression: str | None = "zlib",
    kind: str = "image",
    progress: ProgressFn | None = None,
) -> Path:
    """Write a pyramidal, tiled, compressed OME-TIFF, atomically.

    Parameters
    ----------
    path
        Target file (``.ome.tif`` recommended; any ``.tif``/``.tiff`` works).
    data
        ``(C, Y, X)`` or ``(Y, X)``; numpy or dask. A dask array is computed
        once, chunk by chunk, never held whole in memory.
    channel_names
        One name per channel (default ``"Channel 0"``, ...).
    pixel_size_um
        Physical pixel size in micrometres (written as OME PhysicalSizeX/Y
        and as TIFF resolution tags), or ``None`` if unknown.
    tile
        Tile size in pixels (a multiple of 16).
    n_levels
        Number of pyramid levels including full resolution; default: halve
        until the smaller side is at most ``tile``.
    compression
        ``"zlib"`` (default, readable everywhere), ``"zstd"``, ``"lzw"``,
        ``"lzma"`` or ``None``.
    kind
        ``"image"`` (levels are 2x2 means) or ``"labels"`` (2-D integers;
        levels keep every second pixel so no new label values appear).
    progress
        Called as ``progress(done, total)`` while writing.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    DvpInputError
        Bad shape, dtype, channel names, tile size or suffix.
    """
    path = Path(path)
    if not path.name.lower().endswith(TIFF_SUFFIXES):
        raise DvpInputError(f"cannot write {path.name}: an OME-TIFF must end in .ome.tif or .tif")
    if kind not in ("image", "labels"):
        raise DvpInputError(f"kind must be 'image' or 'labels', not {kind!r}")
    if compression not in _COMPRESSIONS:
        raise DvpInputError(f"unknown compression {compression!r}; use one of zlib, zstd, lzw, "
                            "lzma or None")
    if tile < 16 or tile % 16:
        raise DvpInputError(f"tile size must be a positive multiple of 16, not {tile}")
    lazy = isinstance(data, da.Array)
    if not lazy:
        data = np.asarray(data)
    data = _checked_dtype(data, kind)
    names = _checked_names(data, channel_names, kind)
    if pixel_size_um is not None and not (math.isfinite(pixel_size_um) and pixel_size_um > 0):
        raise DvpInputError(f"pixel size must be a positive number of µm, not {pixel_size_um}")
    shape_yx = tuple(int(s) for s in data.shape[-2:])
    if min(shape_yx) < 1:
        raise DvpInputError(f"cannot write an empty image of shape {tuple(data.shape)}")
    n = n_levels_for(shape_yx, tile) if n_levels is None else int(n_levels)
    n = max(1, min(n, n_levels_for(shape_yx, 1)))
    labels = kind == "labels"

    staging: Path | None = None
    try:
        if lazy:
            staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".staging",
                                            dir=path.parent if path.parent.exists() else None))
            levels = _stage_levels(data, staging, n, tile, labels, progress)
        else:
            levels = [data]
            for _ in range(n - 1):
                levels.append(downsample(levels[-1], labels=labels))
        _write_tiff(path, levels, names, pixel_size_um, tile, compression, progress,
                    offset=n if lazy else 0)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return path


def write_labels(
    path: str | os.PathLike[str],
    labels: np.ndarray | da.Array,
    pixel_size_um: float | None = None,
    progress: ProgressFn | None = None,
    tile: int = 512,
) -> Path:
    """Write a labels image (one integer per cell, 0 = background), atomically.

    Parameters
    ----------
    path
        ``.tif``/``.tiff``/``.ome.tif`` (pyramidal OME-TIFF, nearest-neighbour
        levels) or ``.zarr`` (a zarr v3 array, 1024² chunks, attribute
        ``pixel_size_um``).
    labels
        2-D integer array, numpy or dask. Stored as uint8/16/32; other integer
        types are converted to uint32 (values must fit).
    pixel_size_um
        Pixel size in micrometres, or ``None`` if unknown.
    progress
        Called as ``progress(done, total)``.
    tile
        TIFF tile size (pyramid levels down to about this size).

    Returns
    -------
    pathlib.Path
        The written file or folder.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(TIFF_SUFFIXES):
        return write_ome_tiff(path, labels, pixel_size_um=pixel_size_um, kind="labels",
                              progress=progress, tile=tile)
    if not name.endswith(".zarr"):
        raise DvpInputError(f"cannot write labels to {path.name}: use .tif, .ome.tif or .zarr")
    lazy = isinstance(labels, da.Array)
    arr = labels if lazy else np.asarray(labels)
    arr = _checked_dtype(arr, "labels")
    chunk = 1024
    with atomic_dir(path) as tmp:
        z = zarr.create_array(
            store=str(tmp), shape=arr.shape, dtype=arr.dtype, chunks=(chunk, chunk),
            compressors=ZstdCodec(level=3), fill_value=0,
            attributes={"pixel_size_um": None if pixel_size_um is None else float(pixel_size_um),
                        "kind": "labels"},
        )
        if lazy:
            da.store(_aligned(arr, chunk), z, lock=False)
        else:
            z[...] = arr
        if progress is not None:
            progress(1, 1)
    return path


# --------------------------------------------------------------------------- helpers


def _checked_dtype(data: Any, kind: str) -> Any:
    """Validate the dimensionality/dtype; convert labels to an unsigned type."""
    dtype = np.dtype(data.dtype)
    if kind == "labels":
        if data.ndim != 2:
            raise DvpInputError(f"labels must be a 2-D image (rows, columns), got shape "
                                f"{tuple(data.shape)}")
        if dtype == np.bool_:
            return data.astype(np.uint8)
        if not np.issubdtype(dtype, np.integer):
            raise DvpInputError(f"labels must be integers (one id per cell), got {dtype}; "
                                "convert them with astype(uint32)")
        if dtype in _LABEL_DTYPES:
            return data
        if isinstance(data, da.Array):
            return data.map_blocks(_to_uint32, dtype=np.uint32)
        return _to_uint32(data)
    if data.ndim not in (2, 3):
        raise DvpInputError(f"image must be (C, Y, X) or (Y, X), got shape {tuple(data.shape)}")
    if data.ndim == 3 and data.shape[0] == 0:
        raise DvpInputError("image has 0 channels; nothing to write")
    if dtype == np.bool_:
        return data.astype(np.uint8)
    if dtype == np.float16:
        return data.astype(np.float32)
    if dtype not in _IMAGE_DTYPES:
        raise DvpInputError(f"cannot write {dtype} pixels to OME-TIFF; convert to uint16 or "
                            "float32 first")
    return data


def _to_uint32(block: np.ndarray) -> np.ndarray:
    if block.size and (block.min() < 0 or block.max() > np.iinfo(np.uint32).max):
        raise DvpInputError("labels must be between 0 and 4294967295 to be stored as uint32; "
                            "relabel them (skimage.segmentation.relabel_sequential)")
    return block.astype(np.uint32)


def _checked_names(data: Any, channel_names: Sequence[str] | None, kind: str) -> list[str]:
    n_ch = 1 if data.ndim == 2 else int(data.shape[0])
    if channel_names is None:
        if kind == "labels":
            return ["labels"]
        return [f"Channel {i}" for i in range(n_ch)]
    names = [str(c) for c in channel_names]
    if len(names) != n_ch:
        raise DvpInputError(f"{len(names)} channel names given for {n_ch} channels; give one "
                            "name per channel")
    return names


def _aligned(arr: da.Array, tile: int) -> da.Array:
    """Rechunk ``arr`` so its Y/X chunk edges fall on multiples of ``tile``."""
    ok = all(all(c % tile == 0 for c in chunks[:-1]) for chunks in arr.chunks[-2:])
    if ok:
        return arr
    return arr.rechunk({arr.ndim - 2: tile, arr.ndim - 1: tile})


def _stage_levels(data: da.Array, staging: Path, n: int, tile: int, labels: bool,
                  progress: ProgressFn | None) -> list[zarr.Array]:
    """Compute ``data`` once into a zarr store, then each coarser level from the previous.

    Chunks are stored raw (fastest) when the disk has room for them, else
    zstd-compressed. Only one chunk per worker thread is in memory at a time.
    """
    raw = sum(int(np.prod(data.shape[:-2])) * ny * nx
              for ny, nx in level_shapes(data.shape[-2:], n)) * np.dtype(data.dtype).itemsize
    roomy = shutil.disk_usage(staging).free > 1.5 * raw + 2**30
    compressors = None if roomy else ZstdCodec(level=1)
    lead = (1,) * (data.ndim - 2)
    root = zarr.open_group(str(staging), mode="w")
    total = n + _n_strips(data.shape, n, tile)
    levels: list[zarr.Array] = []
    src = _aligned(data, tile)
    for k, (ny, nx) in enumerate(level_shapes(data.shape[-2:], n)):
        z = root.create_array(str(k), shape=(*data.shape[:-2], ny, nx), dtype=data.dtype,
                              chunks=(*lead, tile, tile), compressors=compressors,
                              fill_value=0)
        if k > 0:
            prev = da.from_array(levels[-1], chunks=(*lead, 2 * tile, 2 * tile))
            out_chunks = (*prev.chunks[:-2],
                          tuple(math.ceil(c / 2) for c in prev.chunks[-2]),
                          tuple(math.ceil(c / 2) for c in prev.chunks[-1]))
            src = prev.map_blocks(downsample, labels=labels, chunks=out_chunks,
                                  dtype=data.dtype)
        da.store(src, z, lock=False)
        levels.append(z)
        if progress is not None:
            progress(k + 1, total)
    return levels


def _n_strips(shape: tuple[int, ...], n: int, tile: int) -> int:
    planes = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return sum(planes * math.ceil(ny / tile) for ny, _ in level_shapes(shape[-2:], n))


def _tiles(arr: Any, tile: int, on_strip: Callable[[], None]) -> Iterator[np.ndarray]:
    """Yield the tiles of ``arr`` (``(C, Y, X)`` or ``(Y, X)``) in TIFF order, strip by strip."""
    ny, nx = arr.shape[-2:]
    planes = [()] if arr.ndim == 2 else [(c,) for c in range(arr.shape[0])]
    for plane in planes:
        for y0 in range(0, ny, tile):
            strip = np.asarray(arr[(*plane, slice(y0, y0 + tile), slice(None))])
            on_strip()
            for x0 in range(0, nx, tile):
                yield strip[:, x0:x0 + tile]


def _write_tiff(path: Path, levels: list[Any], names: list[str], pixel_size_um: float | None,
                tile: int, compression: str | None, progress: ProgressFn | None,
                offset: int) -> None:
    first = levels[0]
    dtype = np.dtype(first.dtype)
    n = len(levels)
    total = offset + _n_strips(first.shape, n, tile)
    done = [offset]

    def on_strip() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    nbytes = sum(int(np.prod(lev.shape)) for lev in levels) * dtype.itemsize
    comp = None if compression in (None, "none") else compression
    options: dict[str, Any] = {
        "tile": (tile, tile),
        "compression": comp,
        "photometric": "minisblack",
        "dtype": dtype,
    }
    if comp is not None and np.issubdtype(dtype, np.integer):
        options["predictor"] = True
    axes = "YX" if first.ndim == 2 else "CYX"
    metadata: dict[str, Any] = {"axes": axes}
    if first.ndim == 3:
        metadata["Channel"] = {"Name": names}
    else:
        metadata["Name"] = names[0]
    resolution: dict[str, Any] = {}
    if pixel_size_um is not None:
        px = float(pixel_size_um)
        metadata.update(PhysicalSizeX=px, PhysicalSizeXUnit="µm",
                        PhysicalSizeY=px, PhysicalSizeYUnit="µm")
        resolution = {"resolution": (1e4 / px, 1e4 / px), "resolutionunit": "CENTIMETER"}
    with atomic_path(path) as tmp, \
            tifffile.TiffWriter(tmp, bigtiff=nbytes > _BIGTIFF_BYTES, ome=True) as tw:
        for k, lev in enumerate(levels):
            res = {}
            if resolution:
                f = 2**k
                res = {"resolution": (1e4 / px / f, 1e4 / px / f),
                       "resolutionunit": "CENTIMETER"}
            kw: dict[str, Any] = {"subifds": n - 1, "metadata": metadata} if k == 0 else \
                {"subfiletype": 1}
            if isinstance(lev, np.ndarray):
                tw.write(lev, **options, **res, **kw)
                for _ in range(_n_strips(lev.shape, 1, tile)):
                    on_strip()
            else:
                tw.write(_tiles(lev, tile, on_strip), shape=lev.shape, **options, **res, **kw)
