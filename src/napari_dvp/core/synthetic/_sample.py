"""Whole samples: the spec, the ground-truth table and regions, lazy and in-memory images."""

from __future__ import annotations

import os
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from ..errors import DvpInputError
from ..progress import run_to_end
from ..regions import color_for
from ._cells import CHANNELS, CLASSES, REGIONS, cells_in_slots, slot_grid
from ._layout import PIXEL_SIZE_UM, SampleSpec, layout_of
from ._render import label_moments, render_labels, render_tile

MIN_SIZE, MAX_SIZE = 256, 40_000
LAYOUTS = ("scaled", "physical")
TRUTH_COLUMNS = ("cell_id", "true_class", "true_region", "lesional", "centroid_row",
                 "centroid_col")


@dataclass
class SyntheticSample:
    """A rendered synthetic sample held in memory (for sizes up to a few thousand pixels)."""

    image: np.ndarray  #: (C, Y, X) uint16
    labels: np.ndarray  #: (Y, X) uint32 ground-truth cell ids, 0 = background
    cells: pd.DataFrame  #: ground-truth table, columns TRUTH_COLUMNS
    regions: dict[str, Any]  #: region name -> shapely geometry (x = col, y = row)
    spec: SampleSpec
    channel_names: list[str] = field(default_factory=lambda: list(CHANNELS))
    pixel_size_um: float = PIXEL_SIZE_UM


def make_spec(size: int | tuple[int, int] = 1024, seed: int = 0,
              layout: str = "scaled") -> SampleSpec:
    """Check the parameters of a sample and return its :class:`SampleSpec`.

    Parameters
    ----------
    size
        Side length in pixels (square) or ``(height, width)``; 256 to 40,000.
    seed
        Non-negative integer.
    layout
        ``"scaled"`` (default) or ``"physical"``.

    Raises
    ------
    DvpInputError
        Size, seed or layout out of range.
    """
    h, w = (size, size) if np.isscalar(size) else tuple(size)
    for s in (h, w):
        if not float(s).is_integer() or not MIN_SIZE <= int(s) <= MAX_SIZE:
            raise DvpInputError(f"sample size {s} px is out of range; choose {MIN_SIZE} to "
                                f"{MAX_SIZE} pixels")
    if not float(seed).is_integer() or not 0 <= int(seed) < 2**63:
        raise DvpInputError(f"seed {seed} is not a non-negative integer; use e.g. --seed 0")
    if layout not in LAYOUTS:
        raise DvpInputError(f"unknown layout {layout!r}; use 'scaled' or 'physical'")
    return SampleSpec(int(h), int(w), int(seed), layout)


def _nominal(spec: SampleSpec, gi0: int, gi1: int) -> pd.DataFrame:
    cells = cells_in_slots(spec, gi0, gi1, -1, slot_grid(spec)[1] + 1)
    return pd.DataFrame({
        "cell_id": cells.cell_id,
        "true_class": pd.Categorical.from_codes(cells.cls, CLASSES),
        "true_region": pd.Categorical.from_codes(cells.region, REGIONS),
        "lesional": cells.lesion >= 0.5,
        "centroid_row": cells.cy,
        "centroid_col": cells.cx,
    })


def iter_truth_table(spec: SampleSpec, exact_centroids: bool = False,
                     tile: int = 2048) -> Generator[tuple[int, int], None, pd.DataFrame]:
    """Build the ground-truth cell table, yielding ``(done, total)`` progress.

    With ``exact_centroids=False`` only the point process is evaluated (no
    pixels: seconds for 40,000²) and ``centroid_row/col`` are the cells'
    generating centres, on average ~1.5 px from their label's centroid.
    With ``exact_centroids=True`` the labels are rendered tile by tile (never
    whole) and the centroids are those of the labels, as
    ``scipy.ndimage.center_of_mass`` would give.
    """
    ngi, ngj = slot_grid(spec)
    step = max(1, 1_000_000 // max(ngj, 1))  # about a million slots at a time
    parts = [_nominal(spec, g, g + step) for g in range(0, ngi, step)]
    table = pd.concat(parts, ignore_index=True)
    if not exact_centroids:
        yield 1, 1
        return table
    n = ngi * ngj + 1
    count = np.zeros(n, np.int64)
    srow, scol = np.zeros(n), np.zeros(n)
    tiles = [(r, c) for r in range(0, spec.height, tile) for c in range(0, spec.width, tile)]
    for k, (r, c) in enumerate(tiles):
        ids, cnt, sr, sc = label_moments(spec, r, c, min(tile, spec.height - r),
                                         min(tile, spec.width - c))
        count[ids] += cnt
        srow[ids] += sr
        scol[ids] += sc
        yield k + 1, len(tiles)
    ids = table["cell_id"].to_numpy()
    table = table[count[ids] > 0].reset_index(drop=True)
    ids = table["cell_id"].to_numpy()
    table["centroid_row"] = srow[ids] / count[ids]
    table["centroid_col"] = scol[ids] / count[ids]
    return table


def truth_table(spec: SampleSpec, exact_centroids: bool = False) -> pd.DataFrame:
    """The ground-truth cell table (see :func:`iter_truth_table`)."""
    return run_to_end(iter_truth_table(spec, exact_centroids))


def regions(spec: SampleSpec) -> dict[str, Any]:
    """The true regions as shapely polygons in pixel coordinates (x = column, y = row).

    ``epidermis`` (nucleated epidermis, surface to junction), ``blister``
    (junction to blister floor, lesional part only) and ``dermis`` (below).
    """
    step = max(1.0, spec.width / 8192)
    x = np.append(np.arange(0.0, spec.width, step), float(spec.width))
    c = layout_of(spec).curves(x)
    h = float(spec.height)
    top = np.clip(c["surface"], 0, h)
    junction = np.clip(c["junction"], 0, h)
    floor = np.clip(c["floor"], 0, h)
    out: dict[str, Any] = {}
    out["epidermis"] = shapely.make_valid(shapely.Polygon(
        np.concatenate([np.c_[x, top], np.c_[x, junction][::-1]])))
    out["dermis"] = shapely.make_valid(shapely.Polygon(
        np.concatenate([np.c_[x, floor], [[x[-1], h], [x[0], h]]])))
    gap = floor - junction > 0.05
    if gap.any():
        i0, i1 = max(np.argmax(gap) - 1, 0), len(x) - np.argmax(gap[::-1])
        xs = x[i0:i1 + 1]
        out["blister"] = shapely.make_valid(shapely.Polygon(
            np.concatenate([np.c_[xs, junction[i0:i1 + 1]], np.c_[xs, floor[i0:i1 + 1]][::-1]])))
    else:
        out["blister"] = shapely.Polygon()
    return out


def regions_geojson(region_geoms: dict[str, Any]) -> dict[str, Any]:
    """Regions as a QuPath-style GeoJSON FeatureCollection of annotations.

    Coordinates in QuPath's frame (pixel corners at integers: +0.5, see
    :mod:`napari_dvp.core.geojson._pixels`), as QuPath would export them.
    """
    from ..geojson import to_qupath

    features = []
    for name, geom in region_geoms.items():
        if geom.is_empty:
            continue
        features.append({
            "type": "Feature",
            "geometry": mapping(to_qupath(geom)),
            "properties": {
                "objectType": "annotation",
                "name": name,
                # the same colours as the Regions widget's default region classes
                "classification": {"name": name, "color": list(color_for(name))},
                "isLocked": False,
            },
        })
    return {"type": "FeatureCollection", "features": features}


def _chunks(n: int, chunk: int) -> tuple[int, ...]:
    return tuple(min(chunk, n - s) for s in range(0, n, chunk))


def image_dask(spec: SampleSpec, chunk: int = 1024) -> da.Array:
    """The sample's image ``(5, Y, X)`` uint16 as a lazy dask array, rendered per chunk."""

    def block(block_info=None) -> np.ndarray:
        (_, _), (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return render_tile(spec, r0, c0, r1 - r0, c1 - c0)[0]

    chunks = ((len(CHANNELS),), _chunks(spec.height, chunk), _chunks(spec.width, chunk))
    return da.map_blocks(block, chunks=chunks, dtype=np.uint16,
                         meta=np.empty((0, 0, 0), np.uint16), name=f"synthetic-image-{spec}")


def labels_dask(spec: SampleSpec, chunk: int = 1024) -> da.Array:
    """The ground-truth labels ``(Y, X)`` uint32 as a lazy dask array."""

    def block(block_info=None) -> np.ndarray:
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        return render_labels(spec, r0, c0, r1 - r0, c1 - c0)

    chunks = (_chunks(spec.height, chunk), _chunks(spec.width, chunk))
    return da.map_blocks(block, chunks=chunks, dtype=np.uint32,
                         meta=np.empty((0, 0), np.uint32), name=f"synthetic-labels-{spec}")


def make_sample(size: int | tuple[int, int] = 1024, seed: int = 0, layout: str = "scaled",
                tile: int = 1024) -> SyntheticSample:
    """Render a whole synthetic TEN sample in memory, with its ground truth.

    Parameters
    ----------
    size
        Side length in pixels, or ``(height, width)``. Keep it to a few
        thousand pixels; bigger samples go to disk with :func:`write_sample`.
    seed
        Random seed: the same seed gives identical arrays.
    layout
        ``"scaled"`` or ``"physical"`` (see :mod:`napari_dvp.core.synthetic`).
    tile
        Rendering tile size (does not change the result).

    Returns
    -------
    SyntheticSample
        ``cells`` lists every cell of ``labels`` with its label's exact centroid.
    """
    spec = make_spec(size, seed, layout)
    image = np.empty((len(CHANNELS), spec.height, spec.width), np.uint16)
    labels = np.empty(spec.shape, np.uint32)

    def one(rc: tuple[int, int]) -> None:
        r, c = rc
        h, w = min(tile, spec.height - r), min(tile, spec.width - c)
        image[:, r:r + h, c:c + w], labels[r:r + h, c:c + w] = render_tile(spec, r, c, h, w)

    tiles = [(r, c) for r in range(0, spec.height, tile) for c in range(0, spec.width, tile)]
    with ThreadPoolExecutor(max_workers=min(len(tiles), os.cpu_count() or 1)) as pool:
        list(pool.map(one, tiles))  # numpy releases the GIL; results are tiling-independent
    table = truth_table(spec, exact_centroids=False)
    n = int(table["cell_id"].max()) + 1 if len(table) else 1
    flat = labels.ravel()
    count = np.bincount(flat, minlength=n)
    rows = np.bincount(flat, weights=np.repeat(np.arange(spec.height, dtype=np.float64),
                                               spec.width), minlength=n)
    cols = np.bincount(flat, weights=np.tile(np.arange(spec.width, dtype=np.float64),
                                             spec.height), minlength=n)
    ids = table["cell_id"].to_numpy()
    table = table[count[ids] > 0].reset_index(drop=True)
    ids = table["cell_id"].to_numpy()
    table["centroid_row"] = rows[ids] / count[ids]
    table["centroid_col"] = cols[ids] / count[ids]
    return SyntheticSample(image=image, labels=labels, cells=table, regions=regions(spec),
                           spec=spec)


