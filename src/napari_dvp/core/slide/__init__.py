"""Lazy reading of whole-slide images and pyramidal OME-TIFF writing.

Reading (:func:`open_image`, :func:`open_labels`) never loads a big image
whole: every level is a dask array over tifffile's zarr store. Writing
(:func:`write_ome_tiff`, :func:`write_labels`) produces tiled, compressed,
pyramidal OME-TIFF (or zarr for labels), atomically.
"""

from __future__ import annotations

from ._read import (
    IMAGE_SUFFIXES,
    TissueImage,
    check_label_ids,
    is_image_path,
    open_image,
    open_labels,
)
from ._write import write_labels, write_ome_tiff

__all__ = [
    "IMAGE_SUFFIXES",
    "TissueImage",
    "check_label_ids",
    "is_image_path",
    "open_image",
    "open_labels",
    "write_labels",
    "write_ome_tiff",
]
