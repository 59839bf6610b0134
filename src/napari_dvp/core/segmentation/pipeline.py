"""Segment an image file into a labels file: what ``napari-dvp segment`` runs.

Opens the image lazily (:func:`napari_dvp.core.slide.open_image`), picks the
nuclear and cytoplasm channels, runs :func:`.tiling.segment_tiled` in this
process or on dask.distributed, and writes the labels atomically with the
image's pixel size: ``.zarr`` directly tile by tile; ``.tif``/``.ome.tif``
through a temporary zarr (big images) or from memory (small ones).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Generator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DvpInputError
from .backends import SegmentationBackend
from .stains import (
    CYTO_PATTERN,
    NUCLEAR_PATTERN,
    ChannelChoices,
    brightfield_stack,
    channel_choices,
    guess_channels,
    resolve_channels,
)
from .tiling import ArrayReader, calibration_sample, segment_tiled

#: labels images up to this many pixels are stitched in memory (512 MB as uint32)
IN_MEMORY_PIXELS = 128 * 1024 * 1024

__all__ = ["CYTO_PATTERN", "NUCLEAR_PATTERN", "guess_channels"]  # moved to .stains


def channel_index(names: Sequence[str], key: str | int) -> int:
    """Index of a channel given by name (case-insensitive) or number."""
    names = list(names)
    if isinstance(key, int) or str(key).isdigit():
        index = int(key)
        if not 0 <= index < len(names):
            raise DvpInputError(f"channel {index} does not exist; the image has {len(names)} "
                                f"channels ({', '.join(names)})")
        return index
    lower = [n.lower() for n in names]
    if str(key).lower() not in lower:
        raise DvpInputError(f"the image has no channel {key!r}; it has {', '.join(names)}")
    return lower.index(str(key).lower())


def cyto_indices(names: Sequence[str], key: str | int | None, nuclear: int) -> list[int]:
    """Cytoplasm/membrane channel indices from a name, number, ``"a,b"``, ``"all"`` or ``None``.

    ``"all"`` means every channel except the nuclear one; ``None``/``"none"``: nuclei only.
    """
    if key is None or str(key).strip().lower() in ("", "none"):
        return []
    if str(key).strip().lower() == "all":
        return [i for i in range(len(names)) if i != nuclear]
    parts = [key] if isinstance(key, int) else [k.strip() for k in str(key).split(",")]
    found = [channel_index(names, k) for k in parts if str(k)]
    return [i for i in dict.fromkeys(found) if i != nuclear]


def hed_stack(rgb):
    """(Y, X, 3) RGB brightfield -> lazy (2, Y, X) float32 hematoxylin, eosin optical densities."""
    return brightfield_stack(rgb)[:2]


def segmentation_input(data, is_rgb: bool, channel_names: Sequence[str] = (),
                       nuclear: str | int | None = None, cytoplasm: str | int | None = None,
                       backend: str = "builtin"):
    """What a backend reads for an image and a channel choice: ``(array, channels, rgb)``.

    Parameters
    ----------
    data
        ``(C, Y, X)`` fluorescence or ``(Y, X, 3)`` RGB array (numpy, dask or zarr).
    is_rgb, channel_names
        As the image reader says.
    nuclear, cytoplasm
        Choices from :func:`.stains.channel_choices` (``None`` = its defaults).
    backend
        ``"builtin"`` or ``"cellpose"`` (sets the RGB default).

    Returns
    -------
    tuple
        ``(C, Y, X)`` array (lazy :func:`.stains.brightfield_stack` for RGB),
        channel indices into it, and whether those channels are an RGB image.

    Raises
    ------
    DvpInputError
        For a channel the image does not have, or RGB for the built-in method.
    """
    choices = channel_choices(channel_names, is_rgb, backend)
    channels, rgb = resolve_channels(choices, nuclear, cytoplasm)
    if rgb and backend != "cellpose":
        raise DvpInputError("the built-in method segments the hematoxylin channel of a colour "
                            "image, not RGB; choose 'hematoxylin' (RGB is for cellpose)")
    return (brightfield_stack(data) if is_rgb else data), channels, rgb


def prepare_backend(backend: SegmentationBackend, rgb: bool) -> SegmentationBackend:
    """Tell a backend that its input channels are an RGB image (cellpose only)."""
    if rgb and hasattr(backend, "for_rgb"):
        return backend.for_rgb()
    return backend


def scale_report(backend: SegmentationBackend, pixel_size_um: float | None,
                 pixel_source: str = "") -> str | None:
    """One line on the nucleus size a calibrated built-in backend used, or ``None``.

    Says whether the size was estimated from the image and how to correct it.
    """
    estimate = getattr(backend, "size_estimate", None)
    if estimate is None:
        return None
    return (estimate.describe(pixel_size_um, pixel_source)
            + "; if nuclei look split or merged, give the size (--diameter-um, or "
              "'Nucleus diameter' in the Segment dock)")


class FileReader(ArrayReader):
    """An :class:`ArrayReader` over an image file; re-opens the file where it is unpickled."""

    def __init__(self, path: str | os.PathLike[str], channels: Sequence[int], level: int = 0):
        from ..slide import open_image

        self.path = os.fspath(path)
        self.level = level
        self.image = open_image(self.path)
        data = self.image.levels[level]
        super().__init__(brightfield_stack(data) if self.image.is_rgb else data, channels)

    def __getstate__(self) -> dict:
        return {"path": self.path, "channels": self.channels, "level": self.level}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["channels"], state["level"])

    def overview(self, max_side: int = 2048) -> np.ndarray:
        """A strided view of the smallest pyramid level that is still >= ``max_side``."""
        levels = self.image.levels
        shapes = self.image.level_shapes
        pick = max((i for i, s in enumerate(shapes) if max(s) >= max_side), default=0)
        data = levels[pick]
        reader = ArrayReader(brightfield_stack(data) if self.image.is_rgb else data,
                             self.channels)
        return reader.overview(max_side)


def segment_file(
    image_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    backend: SegmentationBackend,
    nuclear: str | int | None = None,
    cyto: str | int | None = None,
    *,
    tile_size: int = 1024,
    overlap: int | None = None,
    runner=None,
    pixel_size_um: float | None = None,
) -> Generator[tuple[int, int], None, dict]:
    """Segment an image file and write its labels; yield ``(tiles_done, tiles_total)``.

    Returns
    -------
    dict
        ``{"path", "n_cells", "shape", "pixel_size_um", "channels", "scale", "backend"}``:
        ``scale`` is :func:`scale_report` (the nucleus size estimated from the
        image, or ``None``), ``backend`` the calibrated backend.
    """
    from ..slide import open_image, write_labels

    out = Path(out)
    name = out.name.lower()
    if not name.endswith((".zarr", ".tif", ".tiff")):
        raise DvpInputError(f"cannot write labels to {out.name}: use .tif, .ome.tif or .zarr")
    image = open_image(image_path)
    choices = file_channel_choices(image, getattr(backend, "name", "builtin"))
    channels, rgb = resolve_channels(choices, nuclear, cyto)
    if rgb and getattr(backend, "name", "") != "cellpose":
        raise DvpInputError("the built-in method segments the hematoxylin channel of a colour "
                            "image, not RGB; use --nuclear-channel hematoxylin "
                            "(RGB is for cellpose)")
    backend = prepare_backend(backend, rgb)
    names = list(choices.channel_names)
    reader = FileReader(image_path, channels)
    pixel = pixel_size_um or image.pixel_size_um
    backend = backend.calibrate(calibration_sample(reader))
    info = {"path": out, "shape": image.shape, "pixel_size_um": pixel,
            "channels": ["RGB"] if rgb else [names[c] for c in channels],
            "scale": scale_report(backend, pixel_size_um=pixel), "backend": backend}
    attrs = {"pixel_size_um": pixel, "kind": "labels"}
    kwargs = dict(tile_size=tile_size, overlap=overlap, runner=runner, attrs=attrs,
                  calibrate=False)
    if name.endswith(".zarr"):
        labels = yield from segment_tiled(reader, backend, channels, out=out, **kwargs)
        info["n_cells"] = int(labels.attrs["n_cells"])
        return info
    if math.prod(image.shape) <= IN_MEMORY_PIXELS:
        labels = yield from segment_tiled(reader, backend, channels, **kwargs)
        write_labels(out, labels, pixel)
        info["n_cells"] = int(labels.max())
        return info
    import dask.array as da

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.stem}.", suffix=".staging", dir=out.parent))
    try:
        labels = yield from segment_tiled(reader, backend, channels, out=staging / "labels.zarr",
                                          **kwargs)
        import dask

        with dask.config.set(scheduler="threads"):  # here, not on a cluster's workers
            write_labels(out, da.from_zarr(labels), pixel)
        info["n_cells"] = int(labels.attrs["n_cells"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


def file_channel_choices(image, backend: str = "builtin") -> ChannelChoices:
    """:func:`.stains.channel_choices` for an opened image (``open_image``)."""
    return channel_choices(list(image.channel_names), bool(image.is_rgb), backend)


def segment_array(
    image,
    backend: SegmentationBackend,
    channels: Sequence[int],
    *,
    tile_size: int = 1024,
    region=None,
    polygon=None,
    runner=None,
    workdir: str | os.PathLike[str] | None = None,
) -> Generator[tuple[int, int], None, object]:
    """Segment an in-memory or lazy (C, Y, X) array; numpy result for small images.

    Images over :data:`IN_MEMORY_PIXELS` pixels are stitched into a zarr array
    under ``workdir`` (default: a new temporary folder), so memory stays
    bounded by the tile size.
    """
    shape = tuple(int(s) for s in image.shape[-2:])
    out = None
    if math.prod(shape) > IN_MEMORY_PIXELS:
        folder = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="napari-dvp-"))
        out = folder / "labels.zarr"
    return (yield from segment_tiled(image, backend, channels, tile_size=tile_size,
                                     region=region, polygon=polygon, runner=runner, out=out))


def labels_pyramid(labels, min_side: int = 1024) -> list:
    """Multiscale levels of a labels array by striding (nearest neighbour, lazy with dask).

    Returns ``[labels]`` when the image is already small.
    """
    import dask.array as da

    if max(labels.shape) <= 2 * min_side:
        return [labels]
    base = labels if isinstance(labels, (np.ndarray, da.Array)) else da.from_zarr(labels)
    levels = [base]
    step = 2
    while max(labels.shape) // step >= min_side:
        levels.append(base[::step, ::step])
        step *= 2
    return levels
