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
import re
import shutil
import tempfile
from collections.abc import Generator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DvpInputError
from .backends import SegmentationBackend
from .tiling import ArrayReader, segment_tiled

#: labels images up to this many pixels are stitched in memory (512 MB as uint32)
IN_MEMORY_PIXELS = 128 * 1024 * 1024

NUCLEAR_PATTERN = re.compile(r"dapi|hoechst|nuc|dna|draq|sytox|h3|hematox", re.I)
CYTO_PATTERN = re.compile(r"panck|keratin|\bck\b|ck\d|cytok|membr|wga|atpase|e-?cad|cd45|"
                          r"actin|tubulin|cyto|eosin", re.I)


def guess_channels(names: Sequence[str]) -> tuple[str, str | None]:
    """Guess (nuclear, cytoplasm-or-None) channel names from their names."""
    names = list(names)
    nuclear = next((n for n in names if NUCLEAR_PATTERN.search(n)), names[0])
    cyto = next((n for n in names if n != nuclear and CYTO_PATTERN.search(n)), None)
    return nuclear, cyto


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
    import dask.array as da
    from skimage.color import rgb2hed

    rgb = da.asarray(rgb)
    hed = rgb.map_blocks(lambda b: rgb2hed(b).astype(np.float32), dtype=np.float32)
    return da.moveaxis(hed[..., :2], -1, 0)


class FileReader(ArrayReader):
    """An :class:`ArrayReader` over an image file; re-opens the file where it is unpickled."""

    def __init__(self, path: str | os.PathLike[str], channels: Sequence[int], level: int = 0):
        from ..slide import open_image

        self.path = os.fspath(path)
        self.level = level
        self.image = open_image(self.path)
        data = self.image.levels[level]
        super().__init__(hed_stack(data) if self.image.is_rgb else data, channels)

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
        reader = ArrayReader(hed_stack(data) if self.image.is_rgb else data, self.channels)
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
        ``{"path", "n_cells", "shape", "pixel_size_um", "channels"}``.
    """
    from ..slide import open_image, write_labels

    out = Path(out)
    name = out.name.lower()
    if not name.endswith((".zarr", ".tif", ".tiff")):
        raise DvpInputError(f"cannot write labels to {out.name}: use .tif, .ome.tif or .zarr")
    image = open_image(image_path)
    names = list(image.channel_names)
    if image.is_rgb:
        names = ["hematoxylin", "eosin"]
    guess_nuc, guess_cyto = guess_channels(names)
    nuc_i = channel_index(names, nuclear if nuclear is not None else guess_nuc)
    channels = [nuc_i, *cyto_indices(names, cyto if cyto is not None else guess_cyto, nuc_i)]
    reader = FileReader(image_path, channels)
    pixel = pixel_size_um or image.pixel_size_um
    info = {"path": out, "shape": image.shape, "pixel_size_um": pixel,
            "channels": [names[c] for c in channels]}
    attrs = {"pixel_size_um": pixel, "kind": "labels"}
    kwargs = dict(tile_size=tile_size, overlap=overlap, runner=runner, attrs=attrs)
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
