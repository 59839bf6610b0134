"""The "cell classes" overlay: one uint8 image of class codes over the cells, recoloured in place.

A recolouring is one gather ``lut[labels]`` into a kept buffer and a layer
refresh (:mod:`napari_dvp.core.classes.overlay`), never one colour per cell.
The layer is marked as an overlay, so the Slide dock never takes it for a
slide and a project rebuilds it instead of saving it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...core.classes.overlay import categorical_colormap, class_code_lut, recolor_into
from .._slide import level0, set_role

__all__ = ["OVERLAY_NAME", "ClassOverlay"]

OVERLAY_NAME = "cell classes"


class ClassOverlay:
    """The class overlay layer of a viewer (shared by the Gating and Classifier docks)."""

    def __init__(self, viewer, name: str = OVERLAY_NAME):
        self.viewer = viewer
        self.name = name
        self._labels_id: int | None = None
        self._max_label = 0

    def layer(self):
        """The overlay layer, if present."""
        return self.viewer.layers[self.name] if self.name in self.viewer.layers else None

    def update(self, labels_layer, cell_ids: np.ndarray, codes: np.ndarray,
               colors: Sequence[Sequence[int]]) -> None:
        """Show ``codes`` (1..K per cell, 0 none) with ``colors`` (K RGB) over the labels."""
        from napari.utils.colormaps import Colormap

        labels = np.asarray(level0(labels_layer))
        if id(labels) != self._labels_id:
            self._labels_id = id(labels)
            self._max_label = int(labels.max(initial=0))
        lut = class_code_lut(cell_ids, codes, max_id=self._max_label)
        key = hash(tuple(tuple(int(v) for v in c[:3]) for c in colors)) & 0xFFFFFFFF
        cmap = Colormap(**categorical_colormap(colors), name=f"dvp-classes-{key:08x}")
        k = max(len(colors), 1)
        lay = self.layer()
        if lay is None or lay.data.shape != labels.shape:
            if lay is not None:
                self.viewer.layers.remove(lay)
            active = self.viewer.layers.selection.active
            buf = np.zeros(labels.shape, np.uint8)
            recolor_into(buf, labels, lut, self._max_label)
            lay = self.viewer.add_image(
                buf, name=self.name, colormap=cmap, contrast_limits=(0, k), opacity=0.6,
                blending="translucent", scale=labels_layer.scale[-2:],
                units=labels_layer.units[-2:], translate=labels_layer.translate[-2:],
                interpolation2d="nearest")
            set_role(lay, "overlay")
            if "slide" in labels_layer.metadata:
                lay.metadata["slide"] = labels_layer.metadata["slide"]
            self.viewer.layers.selection.active = active  # adding a layer selects it: undo that
            return
        recolor_into(lay.data, labels, lut, self._max_label)
        if list(lay.contrast_limits) != [0, k]:
            lay.contrast_limits = (0, k)
        lay.colormap = cmap
        lay.refresh()
