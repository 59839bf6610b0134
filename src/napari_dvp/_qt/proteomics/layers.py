"""Layers of the "Proteins on tissue" dock: the overlay image layer (repainted in place)
and the values painted so far (for hover).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...core.overlay.proteins import SampleOverlay, symmetric_limits

CMAP = "RdBu_r"
VALUES_KEY = "dvp_sample_values"


def show_overlay(viewer, labels_layer, overlays: Sequence[SampleOverlay], values: pd.Series,
                 name: str):
    """Paint ``values`` (one per sample) on the cut cells as the image layer ``name``.

    An existing in-memory layer of that name is repainted into its own buffer (no
    new array, one ``refresh``); otherwise the layer is (re)placed, with the labels'
    scale, translate and pyramid levels. Returns ``(layer, contrast_limits)``.
    """
    lim = symmetric_limits(values)
    multiscale = labels_layer.multiscale
    layer = viewer.layers[name] if name in viewer.layers else None
    old = None if layer is None or multiscale else layer.data
    idx = overlays[0].index_image
    if isinstance(old, np.ndarray) and isinstance(idx, np.ndarray) \
            and old.dtype == np.float32 and old.shape == idx.shape:
        overlays[0].paint(values, out=old)
        layer.contrast_limits = lim
        layer.refresh()
    else:
        data = [ov.paint(values) for ov in overlays]
        data = data if multiscale else data[0]
        if layer is not None:
            layer.data = data
            layer.contrast_limits = lim
        else:
            layer = viewer.add_image(
                data, name=name, colormap=CMAP, contrast_limits=lim,
                scale=labels_layer.scale, translate=labels_layer.translate,
                multiscale=multiscale, opacity=0.9, blending="translucent",
                units=labels_layer.units)
    layer.metadata[VALUES_KEY] = values.to_dict()
    return layer, lim


def painted_values(viewer) -> dict[str, dict]:
    """``{layer name: {sample id: value}}`` of every overlay painted so far."""
    return {lay.name: lay.metadata[VALUES_KEY] for lay in viewer.layers
            if lay.metadata.get(VALUES_KEY) is not None}
