"""Lazy reading of tissue images: OME-TIFF, TIFF, PNG/JPEG and zarr.

Nothing is loaded whole: every pyramid level is a dask array over
tifffile's zarr view of the file (or over the zarr store itself), so a
40k x 40k slide opens in milliseconds and napari reads only the tiles it
shows.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import tifffile
import zarr
from dask.local import get_sync

from ..errors import DvpInputError
from ..limits import check_input_file, check_pixels
from ._meta import ome_images, ome_info, pixel_size_from_tags, to_um

__all__ = ["IMAGE_SUFFIXES", "TissueImage", "check_label_ids", "is_image_path", "open_image",
           "open_labels"]

TIFF_SUFFIXES = (".tif", ".tiff")
PLAIN_SUFFIXES = (".png", ".jpg", ".jpeg")
ZARR_SUFFIXES = (".zarr",)
IMAGE_SUFFIXES = TIFF_SUFFIXES + PLAIN_SUFFIXES + ZARR_SUFFIXES
RGB_NAMES = ["red", "green", "blue"]
MAX_CHANNELS = 512  #: more planes than this are not channels of one tissue section
MIN_SIDE = 8  #: an image narrower than this (px) is not a tissue image
MAX_LABEL_ID = 2**32 - 1  #: labels are uint32 (napari-dvp's cell ids)
_SPARSE_IDS = 2**24  #: ids up to this are fine however few cells there are
_CHANNEL_AXES = "CQIELHRP"  # tifffile axis codes that can hold channels
_RGB_PHOTOMETRIC = {tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.YCBCR}


@dataclass(eq=False)
class TissueImage:
    """A lazily opened tissue image.

    Attributes
    ----------
    path
        The file (or ``.zarr`` folder) it came from.
    levels
        Pyramid levels, full resolution first, as dask arrays: ``(C, Y, X)``
        for fluorescence, ``(Y, X, 3)`` for RGB brightfield (H&E).
    channel_names
        One unique name per channel (``red/green/blue`` for RGB).
    pixel_size_um
        Physical size of a full-resolution pixel in micrometres, ``None`` if
        the file does not say.
    is_rgb
        ``True`` for brightfield/H&E colour images.
    """

    path: Path
    levels: list[da.Array]
    channel_names: list[str]
    pixel_size_um: float | None
    is_rgb: bool
    _handle: Any = field(default=None, repr=False)

    @property
    def data(self) -> da.Array:
        """Full-resolution level."""
        return self.levels[0]

    @property
    def dtype(self) -> np.dtype:
        """Pixel type."""
        return self.levels[0].dtype

    @property
    def shape(self) -> tuple[int, int]:
        """Full-resolution ``(rows, cols)``."""
        return _yx(self.levels[0].shape, self.is_rgb)

    @property
    def n_channels(self) -> int:
        """Number of channels (3 for RGB)."""
        return len(self.channel_names)

    @property
    def level_shapes(self) -> list[tuple[int, int]]:
        """``(rows, cols)`` of every pyramid level."""
        return [_yx(lev.shape, self.is_rgb) for lev in self.levels]

    def channel(self, key: str | int) -> da.Array:
        """Full-resolution ``(Y, X)`` dask array of one channel, by name or index."""
        if isinstance(key, str):
            if key not in self.channel_names:
                raise DvpInputError(f"no channel named {key!r}; the image has "
                                    f"{', '.join(self.channel_names)}")
            index = self.channel_names.index(key)
        else:
            index = int(key)
            if not -self.n_channels <= index < self.n_channels:
                raise DvpInputError(f"channel {index} does not exist; the image has "
                                    f"{self.n_channels} channels")
        return self.data[..., index] if self.is_rgb else self.data[index]

    def close(self) -> None:
        """Close the underlying file (the dask arrays become unusable)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> TissueImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a suffix :func:`open_image` understands."""
    name = str(path).rstrip("/\\").lower()
    return name.endswith(IMAGE_SUFFIXES)


def open_image(path: str | os.PathLike[str]) -> TissueImage:
    """Open a tissue image lazily.

    Parameters
    ----------
    path
        OME-TIFF (pyramidal or not), TIFF (grey, multi-channel, RGB, ImageJ),
        PNG, JPEG, or a ``.zarr`` folder (OME-Zarr multiscales or a plain array).

    Returns
    -------
    TissueImage

    Raises
    ------
    DvpInputError
        Missing, damaged or truncated file; not an image; Z stacks/time series;
        unexpected axes; 0 channels; unsupported pixel type.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise DvpInputError(f"file not found: {path}; check the path and try again")
    if not is_image_path(path):
        raise DvpInputError(f"cannot open {name}: napari-dvp reads OME-TIFF/TIFF, PNG, JPEG "
                            "and .zarr images")
    low = name.lower()
    if low.endswith(ZARR_SUFFIXES):
        return _open_zarr(path)
    if path.is_dir():
        raise DvpInputError(f"{name} is a folder, not an image file")
    check_input_file(path, "image", whole=low.endswith(PLAIN_SUFFIXES))
    if path.stat().st_size == 0:
        raise DvpInputError(f"{name} is empty (0 bytes); copy the file again")
    if low.endswith(PLAIN_SUFFIXES):
        return _open_plain(path)
    return _open_tiff(path)


def open_labels(path: str | os.PathLike[str]) -> tuple[da.Array, float | None]:
    """Open a labels image (one integer per cell) lazily.

    Parameters
    ----------
    path
        ``.tif``/``.ome.tif``/``.png`` with one 2-D integer plane, or a
        ``.zarr`` array (attribute ``pixel_size_um`` is read) or OME-Zarr.

    Returns
    -------
    (dask.array.Array, float or None)
        ``(Y, X)`` labels at full resolution and the pixel size in µm.
    """
    img = open_image(path)
    name = Path(path).name
    if img.is_rgb or img.n_channels != 1:
        raise DvpInputError(f"{name} has {img.n_channels} channels; labels must be one 2-D "
                            "image with an integer id per cell")
    labels = img.data[0]
    if labels.dtype == np.bool_:
        labels = labels.astype(np.uint8)
    if not np.issubdtype(labels.dtype, np.integer):
        raise DvpInputError(f"labels must be integers (one id per cell), but {name} holds "
                            f"{labels.dtype} values; is this an image rather than labels?")
    return labels, img.pixel_size_um


def check_label_ids(ids: np.ndarray, name: str) -> None:
    """Refuse label ids napari-dvp cannot use: negative, above uint32, or very sparse.

    Parameters
    ----------
    ids
        The distinct label values (``np.unique`` of the labels; 0 = background).
    name
        The labels file, for the message.

    Raises
    ------
    DvpInputError
        A negative id, an id above 2**32-1, or ids so sparse that per-id tables
        would not fit (e.g. one cell numbered 4,000,000,000).
    """
    ids = np.asarray(ids)
    if ids.size == 0:
        return
    low, high = ids.min(), ids.max()
    if low < 0:
        raise DvpInputError(f"labels {name} hold the negative id {int(low)}; cell ids must be "
                            "0 (background) or positive integers: relabel the cells")
    if int(high) > MAX_LABEL_ID:
        raise DvpInputError(f"labels {name} hold the id {int(high)}, above {MAX_LABEL_ID:,} "
                            "(uint32); relabel the cells with consecutive ids "
                            "(skimage.segmentation.relabel_sequential)")
    n = int((ids > 0).sum())
    if int(high) > _SPARSE_IDS and int(high) > 64 * max(n, 1):
        raise DvpInputError(f"labels {name} number {n} cell(s) with ids up to {int(high):,}; "
                            "ids this sparse would need gigabytes of per-id tables: relabel the "
                            "cells with consecutive ids (skimage.segmentation.relabel_sequential)")


# --------------------------------------------------------------------------- TIFF


@contextmanager
def _tifffile_log() -> Iterator[list[str]]:
    """Collect tifffile's log messages (it logs, not raises, on many defects)."""
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("tifffile")
    handler = _Collect(level=logging.WARNING)
    old_propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate


def _open_tiff(path: Path) -> TissueImage:
    name = path.name
    with _tifffile_log() as log:
        try:
            tf = tifffile.TiffFile(path)
        except tifffile.TiffFileError as exc:
            if "not a TIFF" in str(exc):
                raise DvpInputError(f"{name} is not a TIFF file although it ends in "
                                    f"{path.suffix}; export it again as (OME-)TIFF") from None
            raise DvpInputError(f"{name} is damaged ({exc}); copy or export it again") from None
        except OSError as exc:
            raise DvpInputError(f"cannot read {name}: {exc.strerror or exc}") from None
        except Exception as exc:  # struct.error, ValueError … from a header cut short
            raise DvpInputError(f"{name} is damaged ({type(exc).__name__}: {exc}); copy or "
                                "export it again") from None
        try:
            image = _tiff_image(path, tf, log)
        except DvpInputError:
            tf.close()
            raise
        except Exception as exc:
            tf.close()
            raise DvpInputError(f"{name} could not be read ({type(exc).__name__}: {exc}); the "
                                "file may be damaged or use an unsupported compression") from None
    return image


def _tiff_image(path: Path, tf: tifffile.TiffFile, log: list[str]) -> TissueImage:
    name = path.name
    damaged = f"{name} is damaged or truncated; copy or export it again"
    if tf.is_ome:  # before tf.series: a lying OME header makes tifffile allocate per plane
        _check_ome_pages(tf, name)
    elif len(tf.pages) > 4 * MAX_CHANNELS:
        raise DvpInputError(f"{name} holds {len(tf.pages)} pages; napari-dvp reads one section "
                            f"of at most {MAX_CHANNELS} channels and does not combine pages into "
                            "an image: save the slide as one multi-channel (OME-)TIFF")
    if not tf.series:
        raise DvpInputError(f"{name} contains no image ({'; '.join(log[:1]) or 'no pages'})")
    series = tf.series[0]
    check_pixels((series.keyframe.imagelength, series.keyframe.imagewidth), name)
    if tf.is_ome and series.kind.lower() != "ome":
        raise DvpInputError(f"{damaged} (its OME metadata does not match the pages)")
    _check_complete(series, tf.filehandle.size, damaged)
    page = series.keyframe
    rgb = page.photometric in _RGB_PHOTOMETRIC
    node = zarr.open(series.aszarr(), mode="r")
    if isinstance(node, zarr.Array):
        arrays = [node]
    else:
        arrays = [node[k] for k in sorted(node.array_keys(), key=int)]
    levels = [da.from_zarr(a) for a in arrays]
    names: list[str] = []
    pixel = None
    if tf.is_ome:
        names, pixel = ome_info(tf.ome_metadata or "")
    imagej = tf.imagej_metadata if tf.is_imagej else None
    if imagej and not names:
        labels = imagej.get("Labels")
        names = [str(s) for s in labels] if isinstance(labels, list | tuple) else []
    if pixel is None:
        pixel = pixel_size_from_tags(page, imagej)
    # tifffile's shaped metadata records the array as written, e.g. (Y, X, 5) float
    channels_last = series.kind.lower() == "shaped"
    levels, is_rgb = _normalize(levels, series.axes, rgb, channels_last, name)
    image = _make(path, levels, names, pixel, is_rgb, tf)
    _probe(image)
    return image


def _check_ome_pages(tf: tifffile.TiffFile, name: str) -> None:
    """The OME-XML must describe the pages the file holds (sizes and number of planes)."""
    try:
        images = ome_images(tf.pages.first.description or "")
    except ValueError as exc:
        raise DvpInputError(f"{name}: its OME metadata gives an invalid size ({exc}); export "
                            "it again") from None
    if not images:
        return
    first = images[0]
    check_pixels((first["SizeY"], first["SizeX"]), name)
    if any(im["files"] for im in images):
        raise DvpInputError(f"{name} is part of a multi-file OME-TIFF dataset; napari-dvp reads "
                            "single-file OME-TIFF: convert it (e.g. bfconvert) to one file")
    page = tf.pages.first
    if (page.imagelength, page.imagewidth) != (first["SizeY"], first["SizeX"]):
        raise DvpInputError(
            f"{name}: its OME metadata declares {first['SizeX']}x{first['SizeY']} pixels but the "
            f"image stored is {page.imagewidth}x{page.imagelength}; the file is damaged or its "
            "metadata was edited: export it again")
    declared = sum(im["planes"] for im in images)
    n_pages = len(tf.pages)
    if declared != n_pages:
        c = first
        raise DvpInputError(
            f"{name}: its OME metadata declares {declared} plane(s) (SizeC={c['SizeC']}, "
            f"SizeZ={c['SizeZ']}, SizeT={c['SizeT']}) but the file holds {n_pages} page(s); the "
            "channels cannot be told apart: export it again")


def _check_complete(series: Any, file_size: int, damaged: str) -> None:
    """Every tile/strip of every level must lie inside the file."""
    checked = 0
    for level in series.levels:
        for page in level.pages:
            if page is None:
                raise DvpInputError(f"{damaged} (pages are missing)")
            offsets, counts = page.dataoffsets, page.databytecounts
            expected = math.prod(page.chunked)
            if len(offsets) < expected:  # e.g. 10^6 x 10^6 pixels declared, 1 strip stored
                shape = "x".join(map(str, page.shape))
                raise DvpInputError(f"{damaged} (it declares {shape} pixels in {expected} "
                                    f"tiles/strips but stores {len(offsets)})")
            if len(offsets) and max(o + c for o, c in zip(offsets, counts, strict=False)) > \
                    file_size:
                raise DvpInputError(f"{damaged} (image data ends after the end of the file)")
            checked += 1
            if checked > 4096:
                return


def _probe(image: TissueImage) -> None:
    """Decode a corner of the smallest level: fails now, not later in napari."""
    low = image.levels[-1]
    index = (slice(0, 64), slice(0, 64)) if image.is_rgb else (slice(None), slice(0, 64),
                                                               slice(0, 64))
    try:
        low[index].compute(scheduler=get_sync)
    except DvpInputError:
        raise
    except Exception as exc:
        raise DvpInputError(f"{image.path.name}: pixels could not be decoded ({exc}); the file "
                            "may be damaged or use a compression that is not installed") from None


# --------------------------------------------------------------------------- axes


def _normalize(levels: list[da.Array], axes: str, rgb: bool, channels_last_ok: bool,
               name: str) -> tuple[list[da.Array], bool]:
    """Bring every level to ``(C, Y, X)`` or RGB ``(Y, X, 3)``."""
    axes = axes.upper()
    shape = levels[0].shape
    if len(axes) != len(shape):
        raise DvpInputError(f"{name}: axes {axes!r} do not match its shape {shape}")
    if any(n == 0 for n in shape):
        raise DvpInputError(f"{name} has an empty axis (shape {shape}, axes {axes}): 0 channels "
                            "or 0 pixels; nothing to show")
    index = tuple(0 if (a not in "YXS" and n == 1) else slice(None)
                  for a, n in zip(axes, shape, strict=True))
    keep = [a for a, n in zip(axes, shape, strict=True) if not (a not in "YXS" and n == 1)]
    levels = [lev[index] for lev in levels] if any(i == 0 for i in index) else levels
    sizes = dict(zip(keep, levels[0].shape, strict=True))
    if "Y" not in keep or "X" not in keep:
        raise DvpInputError(f"{name}: unexpected axis order {axes!r}; need rows (Y) and "
                            "columns (X)")
    # a (Y, X, C) array that tifffile saw as C-planes of X-by-C images
    if (channels_last_ok and keep in (["Q", "Y", "X"], ["I", "Y", "X"]) and sizes["X"] <= 4
            and sizes["Y"] >= 16 and sizes[keep[0]] >= 16):
        keep = ["Y", "X", "S"]
        sizes = dict(zip(keep, levels[0].shape, strict=True))
        rgb = sizes["S"] in (3, 4) and levels[0].dtype == np.uint8
    if min(sizes["Y"], sizes["X"]) < MIN_SIDE:
        raise DvpInputError(f"{name} is only {sizes['X']}x{sizes['Y']} pixels (shape {shape}); "
                            "that is not a tissue image")
    others = [a for a in keep if a not in "YXS"]
    if others and sizes[others[0]] > MAX_CHANNELS:
        raise DvpInputError(
            f"{name} holds {sizes[others[0]]} planes of {sizes['X']}x{sizes['Y']} pixels; "
            f"napari-dvp reads at most {MAX_CHANNELS} channels of one section and does not "
            "combine pages into an image: save the slide as one multi-channel (OME-)TIFF")
    for a in others:
        if a in "ZT":
            what = "Z planes" if a == "Z" else "time points"
            raise DvpInputError(f"{name} has {sizes[a]} {what}; napari-dvp needs one 2-D tissue "
                                "section: save a single plane or a maximum projection")
    if len(others) > 1 or ("S" in keep and others):
        raise DvpInputError(f"{name}: unexpected axis order {axes!r} (shape {shape}); save it "
                            "as channels x rows x columns (CYX)")
    dtype = levels[0].dtype
    if dtype.kind not in "uifb":
        raise DvpInputError(f"{name}: unsupported pixel type {dtype}; save it as 8/16-bit "
                            "integers or float32")
    if "S" in keep and rgb and sizes["S"] in (3, 4):
        levels = _transposed(levels, [keep.index(a) for a in "YXS"])
        return ([lev[..., :3] for lev in levels] if sizes["S"] == 4 else levels), True
    if "S" in keep:
        return _transposed(levels, [keep.index(a) for a in "SYX"]), False
    if others:
        return _transposed(levels, [keep.index(a) for a in (others[0], "Y", "X")]), False
    return [lev[None] for lev in _transposed(levels, [keep.index("Y"), keep.index("X")])], False


def _transposed(levels: list[da.Array], order: list[int]) -> list[da.Array]:
    if order == sorted(order):
        return levels
    return [lev.transpose(order) for lev in levels]


def _make(path: Path, levels: list[da.Array], names: list[str], pixel: float | None,
          is_rgb: bool, handle: Any) -> TissueImage:
    if is_rgb:
        final = list(RGB_NAMES)
    else:
        n = int(levels[0].shape[0])
        final = [str(s).strip() for s in names] if len(names) == n else []
        if not final or any(not s for s in final):
            final = [f"Channel {i}" for i in range(n)]
        final = _unique(final)
    return TissueImage(path=path, levels=levels, channel_names=final, pixel_size_um=pixel,
                       is_rgb=is_rgb, _handle=handle)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for s in names:
        if s in seen:
            seen[s] += 1
            s = f"{s} ({seen[s]})"
        else:
            seen[s] = 1
        out.append(s)
    return out


def _yx(shape: tuple[int, ...], is_rgb: bool) -> tuple[int, int]:
    y, x = shape[:2] if is_rgb else shape[-2:]
    return int(y), int(x)


# --------------------------------------------------------------------------- PNG / JPEG


def _open_plain(path: Path) -> TissueImage:
    import imageio.v3 as iio

    name = path.name
    try:
        arr = np.asarray(iio.imread(path))
    except Exception as exc:
        raise DvpInputError(f"{name} is not a readable {path.suffix.lstrip('.').upper()} image "
                            f"({type(exc).__name__}); export it again") from None
    if arr.ndim == 3 and arr.shape[-1] == 2:  # grey + alpha
        arr = arr[..., 0]
    if arr.ndim == 2:
        levels, axes, rgb = [da.from_array(arr, chunks=2048)], "YX", False
    elif arr.ndim == 3 and arr.shape[-1] in (3, 4):
        levels, axes, rgb = [da.from_array(arr, chunks=(2048, 2048, -1))], "YXS", True
    else:
        raise DvpInputError(f"{name}: unexpected image shape {arr.shape}; expected grey or RGB")
    levels, is_rgb = _normalize(levels, axes, rgb, False, name)
    return _make(path, levels, [], None, is_rgb, None)


# --------------------------------------------------------------------------- zarr


def _open_zarr(path: Path) -> TissueImage:
    name = path.name
    try:
        node = zarr.open(str(path), mode="r")
    except Exception as exc:
        raise DvpInputError(f"{name} is not a readable zarr store ({type(exc).__name__}: "
                            f"{exc})") from None
    attrs = dict(node.attrs)
    raw_names = attrs.get("channel_names")
    names: list[str] = [str(s) for s in raw_names] if isinstance(raw_names, list) else []
    pixel = to_um(attrs.get("pixel_size_um"), "µm")
    if isinstance(node, zarr.Array):
        arrays = [node]
        axes = "YX" if node.ndim == 2 else "CYX" if node.ndim == 3 else ""
        if node.ndim == 3 and node.shape[-1] in (3, 4) and node.dtype == np.uint8:
            axes = "YXS"
    else:
        try:
            arrays, axes, names, pixel = _zarr_group(node, attrs, names, pixel, name)
        except DvpInputError:
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            raise DvpInputError(f"{name}: its OME-Zarr metadata is damaged or points to a "
                                f"missing array ({type(exc).__name__}: {exc}); write it "
                                "again") from None
        if not axes:
            axes = {2: "YX", 3: "CYX"}.get(arrays[0].ndim, "")
    if not axes:
        raise DvpInputError(f"{name}: cannot tell the axes of a {arrays[0].ndim}-D array; "
                            "expected (Y, X) or (C, Y, X)")
    if len(arrays[0].shape) >= 2:
        yx = arrays[0].shape[:2] if axes.endswith("S") else arrays[0].shape[-2:]
        check_pixels(yx, name)
    levels = [da.from_zarr(a) for a in arrays]
    levels, is_rgb = _normalize(levels, axes, axes.endswith("S"), False, name)
    image = _make(path, levels, names, pixel, is_rgb, None)
    _probe(image)
    return image


def _zarr_group(node: Any, attrs: dict, names: list[str], pixel: float | None,
                name: str) -> tuple[list[Any], str, list[str], float | None]:
    """Arrays, axes, channel names and pixel size of a zarr group (OME-Zarr or plain)."""
    ome = attrs.get("ome", attrs)
    multiscales = ome.get("multiscales") or []
    if multiscales:
        ms = multiscales[0]
        paths = [d["path"] for d in ms.get("datasets", [])]
        axes_meta = ms.get("axes") or []
        axes = "".join((a["name"] if isinstance(a, dict) else str(a))[0].upper()
                       for a in axes_meta)
        pixel = pixel or _ome_zarr_pixel(ms, axes_meta)
        omero = ome.get("omero") or {}
        names = names or [str(c.get("label", "")) for c in omero.get("channels", [])]
    else:
        paths = sorted((k for k in node.array_keys() if k.isdigit()), key=int)
        axes = ""
    if not paths:
        raise DvpInputError(f"{name} holds no image arrays (no multiscales, no '0' array)")
    return [node[p] for p in paths], axes, names, pixel


def _ome_zarr_pixel(ms: dict, axes_meta: list) -> float | None:
    try:
        transforms = ms["datasets"][0].get("coordinateTransformations", [])
        scale = next(t["scale"] for t in transforms if t.get("type") == "scale")
        unit = axes_meta[-1].get("unit", "micrometer") if isinstance(axes_meta[-1], dict) \
            else "micrometer"
        value = float(scale[-1])
    except (StopIteration, KeyError, IndexError, TypeError, ValueError):
        return None
    return to_um(value, unit) if math.isfinite(value) else None
