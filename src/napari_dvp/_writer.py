"""npe2 writer: a labels layer to a pyramidal OME-TIFF or a zarr array.

The pixel size travels with the file: it is taken from the layer's
``metadata["pixel_size_um"]`` (set by the napari-dvp reader and the Slide
widget) or, failing that, from the layer's scale when that is not 1.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np

from .core.errors import DvpError, one_line
from .core.slide import write_labels

__all__ = ["write_labels_layer"]


def write_labels_layer(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """Write one labels layer to ``path`` (.tif, .ome.tif or .zarr).

    Parameters
    ----------
    path
        Target chosen by the user in napari's save dialog.
    data
        ``layer.data``: an array, or a list of levels for multiscale labels
        (the full-resolution level is written; the pyramid is rebuilt).
    attributes
        Layer attributes (``scale``, ``metadata``...).

    Returns
    -------
    list of str
        The written path, or an empty list if nothing was written (the reason
        is shown as a napari notification).
    """
    if isinstance(data, list | tuple):
        data = data[0]
    if not isinstance(data, da.Array):
        data = np.asarray(data)
    try:
        written = write_labels(path, data, pixel_size_um=_pixel_size(attributes))
    except DvpError as exc:
        from napari.utils.notifications import show_error

        show_error(f"napari-dvp: {one_line(exc)}")
        return []
    return [str(written)]


def _pixel_size(attributes: dict[str, Any]) -> float | None:
    meta = attributes.get("metadata") or {}
    px = meta.get("pixel_size_um")
    if px:
        return float(px)
    scale = attributes.get("scale")
    if scale is not None and len(scale) >= 2:
        sy, sx = float(scale[-2]), float(scale[-1])
        if sy == sx and sx > 0 and sx != 1.0:
            return sx
    return None
