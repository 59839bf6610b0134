"""Checks of the labels, image and channel names given to the measurements."""

from __future__ import annotations

import numpy as np

from ..errors import DvpInputError


def _check_inputs(labels, image, channel_names):
    if labels.ndim != 2:
        raise DvpInputError(
            f"labels must be a 2-D image (rows, columns), got shape {tuple(labels.shape)}; "
            "give one plane of cell ids"
        )
    if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        raise DvpInputError(
            f"labels must hold integer cell ids, got {labels.dtype}; "
            "use the labels image written by segmentation, not an intensity image"
        )
    if image is None:
        return None, []
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3:
        raise DvpInputError(
            f"image must be (channels, rows, columns), got shape {tuple(image.shape)}"
        )
    if tuple(image.shape[1:]) != tuple(labels.shape):
        raise DvpInputError(
            f"labels shape {tuple(labels.shape)} differs from image shape "
            f"{tuple(image.shape[1:])} (rows, columns); use the labels made from this image"
        )
    names = list(channel_names) if channel_names is not None else []
    if not names:
        names = [f"ch{i}" for i in range(image.shape[0])]
    if len(names) != image.shape[0]:
        raise DvpInputError(
            f"{len(names)} channel names for an image with {image.shape[0]} channels; "
            "give one name per channel"
        )
    if len(set(names)) != len(names):
        raise DvpInputError(f"channel names must be unique, got {names}")
    return image, [str(n) for n in names]
