"""napari layer data for a :class:`TissueImage`, as plain tuples (no napari import).

One image layer per fluorescence channel (name, colour, additive blending,
contrast limits computed from the smallest pyramid level, scale in µm,
multiscale when there is a pyramid), or a single RGB layer for brightfield.

Every layer is in micrometres: a file that does not record its pixel size gets
the value of the one rule (:func:`~napari_dvp.core.slide.model.pixel_size_rule`,
an assumed 0.5 µm) and says so in ``metadata["pixel_size_source"]``
(``"file"`` or ``"assumed"``), so the Slide dock can warn and the user can
correct it there.
"""

from __future__ import annotations

import re
from typing import Any

import dask.array as da
import numpy as np
from dask.threaded import get as get_threaded

from ._read import TissueImage
from .model import pixel_size_rule

__all__ = ["CHANNEL_COLORMAPS", "PALETTE", "channel_colormap", "contrast_limits", "layer_data"]

#: marker name (regular expression, case-insensitive) -> napari colormap
CHANNEL_COLORMAPS: list[tuple[str, str]] = [
    (r"dapi|hoechst|dna|nuc|draq|sytox", "blue"),
    (r"pan.?ck|keratin|^ck|krt|e.?cad|epcam", "green"),
    (r"^cd8|^cd3|^cd4\b|granzyme|gzm", "magenta"),
    (r"cd163|cd68|cd14|iba1", "yellow"),
    (r"stat|ifn|mx1|isg", "cyan"),
    (r"cd20|cd19|ki.?67", "red"),
    (r"sma|vim|collagen|cd31", "bop orange"),
]
#: colours for channels whose marker is not known, in order
PALETTE = ["green", "magenta", "cyan", "yellow", "red", "bop orange", "bop purple", "blue"]
#: contrast limits are computed from at most this many pixels per channel
_MAX_SAMPLE = 2048 * 2048


def channel_colormap(name: str, index: int, n_channels: int = 2) -> str:
    """A sensible napari colormap for a channel (``gray`` for a lone unknown channel)."""
    for pattern, cmap in CHANNEL_COLORMAPS:
        if re.search(pattern, name.strip(), flags=re.IGNORECASE):
            return cmap
    if n_channels == 1:
        return "gray"
    return PALETTE[index % len(PALETTE)]


def contrast_limits(level: da.Array, low: float = 0.5, high: float = 99.8) -> list[tuple[float,
                                                                                         float]]:
    """Per-channel percentile contrast limits of a ``(C, Y, X)`` level.

    Only a window of at most 2048² pixels in the middle of ``level`` is read,
    so calling it on a non-pyramidal slide stays cheap.
    """
    _, ny, nx = level.shape
    if ny * nx > _MAX_SAMPLE:
        h, w = min(ny, 2048), min(nx, 2048)
        y0, x0 = (ny - h) // 2, (nx - w) // 2
        level = level[:, y0:y0 + h, x0:x0 + w]
    # a callable scheduler: small reads, and dask need not import distributed to choose one
    sample = np.asarray(level.compute(scheduler=get_threaded), dtype=np.float64)
    out = []
    for plane in sample:
        finite = plane[np.isfinite(plane)]
        if finite.size == 0:
            out.append((0.0, 1.0))
            continue
        lo, hi = (float(v) for v in np.percentile(finite, [low, high]))
        if hi <= lo:
            lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:
            hi = lo + 1.0
        out.append((lo, hi))
    return out


def layer_data(image: TissueImage) -> list[tuple[Any, dict[str, Any], str]]:
    """napari ``LayerData`` tuples for ``image``.

    Parameters
    ----------
    image
        An opened image.

    Returns
    -------
    list of (data, kwargs, "image")
        Fluorescence: one tuple per channel; RGB: one tuple.
    """
    pixel = pixel_size_rule(recorded=image.pixel_size_um)
    multiscale = len(image.levels) > 1
    common: dict[str, Any] = {"scale": (pixel.um, pixel.um), "units": ("um", "um"),
                              "multiscale": multiscale}
    base_meta = {"path": str(image.path), "pixel_size_um": pixel.um,
                 "pixel_size_source": pixel.source, "slide": str(image.path),
                 "is_rgb": image.is_rgb, "level_shapes": image.level_shapes}
    stem = _stem(image.path.name)
    if image.is_rgb:
        data = image.levels if multiscale else image.levels[0]
        kwargs = {**common, "name": stem, "rgb": True,
                  "metadata": {**base_meta, "channel": None}}
        return [(data, kwargs, "image")]
    limits = contrast_limits(image.levels[-1])
    out = []
    for c, name in enumerate(image.channel_names):
        levels = [lev[c] for lev in image.levels]
        kwargs = {
            **common,
            "name": name,
            "colormap": channel_colormap(name, c, image.n_channels),
            "blending": "additive",
            "contrast_limits": limits[c],
            "metadata": {**base_meta, "channel": name, "channel_index": c},
        }
        out.append((levels if multiscale else levels[0], kwargs, "image"))
    return out


def _stem(name: str) -> str:
    for suffix in (".ome.tiff", ".ome.tif", ".ome.zarr"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name.rsplit(".", 1)[0]
