"""Write a synthetic sample to disk: pyramidal OME-TIFF plus its ground truth."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Generator
from pathlib import Path

from ..atomic import atomic_path, write_text_atomic
from ..csv_safe import write_csv
from ..errors import DvpInputError
from ..progress import run_to_end
from ..slide import write_labels, write_ome_tiff
from ._cells import CHANNELS
from ._layout import PIXEL_SIZE_UM
from ._sample import image_dask, iter_truth_table, labels_dask, make_spec, regions, regions_geojson

_SUFFIXES = (".ome.tif", ".ome.tiff", ".tif", ".tiff")


def sample_paths(path: str | os.PathLike[str]) -> dict[str, Path]:
    """Where :func:`write_sample` puts the image and its ground truth.

    ``FILE.ome.tif`` -> ``FILE_labels.tif``, ``FILE_cells.csv`` and
    ``FILE_regions.geojson`` in the same folder.

    Raises
    ------
    DvpInputError
        If ``path`` does not end in .ome.tif/.tif.
    """
    path = Path(path)
    name = path.name
    suffix = next((s for s in _SUFFIXES if name.lower().endswith(s)), None)
    if suffix is None or len(name) == len(suffix):
        raise DvpInputError(f"cannot write the sample to {name!r}: the file name must end in "
                            ".ome.tif (or .tif), e.g. ten_sample.ome.tif")
    stem = path.with_name(name[: -len(suffix)])
    return {
        "image": path,
        "labels": Path(f"{stem}_labels.tif"),
        "cells": Path(f"{stem}_cells.csv"),
        "regions": Path(f"{stem}_regions.geojson"),
    }


def _check_folder(folder: Path) -> None:
    """Create ``folder`` if needed and make sure a file can be written into it."""
    if folder.exists() and not folder.is_dir():
        raise DvpInputError(f"cannot write into {folder}: it is a file, not a folder; "
                            "choose another --out location")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".napari-dvp-probe"):
            pass
    except OSError as exc:
        raise DvpInputError(f"cannot write into folder {folder}: {exc.strerror or exc}; "
                            "choose another --out location") from None


def iter_write_sample(path: str | os.PathLike[str], size: int = 1024, seed: int = 0,
                      layout: str = "scaled", tile: int = 512,
                      ) -> Generator[tuple[int, int], None, dict[str, Path]]:
    """Write a synthetic TEN sample and its ground truth, yielding ``(done, total)``.

    The image is rendered chunk by chunk (dask) and written as a tiled,
    zlib-compressed, pyramidal OME-TIFF with channel names and
    PhysicalSizeX/Y = 0.5 µm; nothing is ever held whole in memory.

    Parameters
    ----------
    path
        ``FILE.ome.tif``; the ground truth goes beside it (:func:`sample_paths`).
    size, seed, layout
        As for :func:`make_spec`.
    tile
        TIFF tile size.

    Returns
    -------
    dict
        ``{"image", "labels", "cells", "regions"}`` -> written paths.

    Raises
    ------
    DvpInputError
        Bad size, seed, layout, file name or folder.
    """
    paths = sample_paths(path)
    spec = make_spec(size, seed, layout)
    _check_folder(paths["image"].parent)
    n_tiles = -(-spec.height // 2048) * -(-spec.width // 2048)
    total = 3 * n_tiles + 2
    yield 0, total
    write_ome_tiff(paths["image"], image_dask(spec), channel_names=list(CHANNELS),
                   pixel_size_um=PIXEL_SIZE_UM, tile=tile)
    yield 2 * n_tiles, total
    write_labels(paths["labels"], labels_dask(spec), pixel_size_um=PIXEL_SIZE_UM, tile=tile)
    yield 2 * n_tiles + 1, total
    gen = iter_truth_table(spec, exact_centroids=True)
    while True:
        try:
            done, _ = next(gen)
        except StopIteration as stop:
            table = stop.value
            break
        yield 2 * n_tiles + 1 + done, total
    with atomic_path(paths["cells"]) as tmp:
        write_csv(table, tmp, float_format="%.3f")
    write_text_atomic(paths["regions"], json.dumps(regions_geojson(regions(spec))))
    yield total, total
    return paths


def write_sample(path: str | os.PathLike[str], size: int = 1024, seed: int = 0,
                 layout: str = "scaled", tile: int = 512) -> dict[str, Path]:
    """Write a synthetic sample (see :func:`iter_write_sample`) and return the paths."""
    return run_to_end(iter_write_sample(path, size, seed, layout, tile))
