"""The ``regions`` Shapes layer the Regions dock draws into (no widget; handed the viewer).

Every shape added by hand (polygon, rectangle, ellipse tool) is stamped with the
class chosen in the dock as soon as napari finishes it — napari would otherwise
copy the class, group and id of the shape selected or imported last. A polygon
being drawn is never read as a region, and :attr:`RegionsLayer.finished` fires
only when a shape is finished, moved, edited or deleted (not while drawing).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from napari.layers import Shapes
from napari.layers.base import ActionType
from psygnal import Signal

from ...core.layer_coords import data_to_data
from ...core.regions import Region, color_for
from ...core.regions.drawn import (
    append_shapes,
    drawn_regions,
    empty_shape_table,
    new_shape_defaults,
    stamp_drawn,
)

__all__ = ["LAYER", "RegionsLayer"]

LAYER = "regions"
FACE_ALPHA = 0.3

_DONE = (ActionType.ADDED, ActionType.REMOVED, ActionType.CHANGED)


class RegionsLayer:
    """The dock's view of the ``regions`` layer.

    Parameters
    ----------
    viewer
        The napari viewer.
    current_class
        Returns the class chosen in the dock (new shapes take it).
    colors
        Returns ``{class: (r, g, b)}`` of the dock's class list.
    """

    finished = Signal()
    """A shape was finished, changed or removed (not emitted while drawing)."""
    drawn = Signal(str, int)
    """Shapes were drawn by hand: their class and how many."""

    def __init__(self, viewer, current_class: Callable[[], str],
                 colors: Callable[[], Mapping[str, tuple[int, int, int]]]) -> None:
        self.viewer = viewer
        self.current_class = current_class
        self.colors = colors
        self._n_before: int | None = None
        self._importing = False
        self._watched: weakref.WeakSet = weakref.WeakSet()
        if LAYER in viewer.layers:
            self._watch(viewer.layers[LAYER])

    # ------------------------------------------------------------------ the layer
    def get(self) -> Shapes | None:
        """The ``regions`` layer, if there is one."""
        layer = self.viewer.layers[LAYER] if LAYER in self.viewer.layers else None
        if layer is not None:
            self._watch(layer)
        return layer

    def ensure(self, grid: Mapping) -> Shapes:
        """The ``regions`` layer, made on ``grid`` (scale, translate, units) if missing."""
        layer = self.get()
        if layer is None:
            layer = self.viewer.add_shapes(name=LAYER, ndim=2, features=empty_shape_table(),
                                           opacity=1.0, edge_width=3, **grid)
            self._watch(layer)
        return layer

    def _watch(self, layer: Shapes) -> None:
        if layer in self._watched:
            return
        self._watched.add(layer)
        layer.events.data.connect(self._on_data)

    def _on_data(self, event) -> None:
        layer = event.source
        action = getattr(event, "action", None)
        if action == ActionType.ADDING:
            self._n_before = len(layer.data) if self._n_before is None else self._n_before
            return
        if action not in _DONE:
            return
        if action == ActionType.ADDED:
            before, self._n_before = self._n_before, None
            if not self._importing and before is not None and len(layer.data) > before:
                self._stamp(layer, range(before, len(layer.data)))
        self.finished.emit()

    def _stamp(self, layer: Shapes, rows) -> None:
        cls, rows = self.current_class(), list(rows)
        layer.features = stamp_drawn(layer.features, rows, cls, n_shapes=len(layer.data))
        self.arm(cls)
        self.recolor()
        self.drawn.emit(cls, len(rows))

    # ------------------------------------------------------------------ drawing
    def arm(self, region_class: str) -> None:
        """Make the next shape drawn take ``region_class`` (defaults and colours)."""
        layer = self.get()
        if layer is None:
            return
        rgb = np.asarray(self.colors().get(region_class, color_for(region_class))) / 255
        layer.feature_defaults = new_shape_defaults(region_class)
        with layer.block_update_properties():  # the selected shapes keep their colour
            layer.current_edge_color = [*rgb, 1.0]
            layer.current_face_color = [*rgb, FACE_ALPHA]

    def draw(self, region_class: str, grid: Mapping) -> Shapes:
        """Select the layer in polygon mode, ready to draw a region of ``region_class``."""
        layer = self.ensure(grid)
        self.arm(region_class)
        self.viewer.layers.selection.active = layer
        layer.mode = "add_polygon"
        return layer

    def set_class(self, region_class: str) -> int:
        """Give the selected shapes ``region_class``; returns how many."""
        layer = self.get()
        if layer is None or not layer.selected_data:
            return 0
        rows = sorted(layer.selected_data)
        table = layer.features.copy()
        table.loc[rows, "region"] = region_class
        layer.features = table
        self.recolor()
        self.finished.emit()
        return len(rows)

    def recolor(self) -> None:
        """Colour every shape by its class (holes see-through)."""
        layer = self.get()
        if layer is None or not len(layer.data) or "region" not in layer.features:
            return
        cmap = self.colors()
        edge = np.array([[*np.asarray(cmap.get(str(r), color_for(str(r)))) / 255, 1.0]
                         for r in layer.features["region"]])
        face = edge.copy()
        face[:, 3] = FACE_ALPHA
        if "hole" in layer.features:
            face[layer.features["hole"].fillna(False).to_numpy(bool), 3] = 0.0
        layer.face_color = face
        layer.edge_color = edge

    # ------------------------------------------------------------------ contents
    def regions(self, ref) -> list[Region]:
        """The finished regions, in the pixel grid of layer ``ref`` (the cells or the slide)."""
        layer = self.get()
        if layer is None or not len(layer.data):
            return []
        verts = [data_to_data(v, layer.scale, layer.translate, ref.scale, ref.translate)
                 for v in layer.data]
        return drawn_regions(verts, layer.shape_type, layer.features,
                             default_class=self.current_class())

    def add(self, data: list[np.ndarray], types: list[str], table: pd.DataFrame, ref,
            grid: Mapping) -> Shapes:
        """Add imported shapes (``(row, col)`` pixels of layer ``ref``) with their own classes."""
        layer = self.ensure(grid)
        if ref is not None:
            data = [data_to_data(d, ref.scale, ref.translate, layer.scale, layer.translate)
                    for d in data]
        merged = append_shapes(layer.features, table)
        self._importing = True
        try:
            layer.add(data, shape_type=types)
        finally:
            self._importing = False
        layer.features = merged
        self.arm(self.current_class())
        self.recolor()
        self.finished.emit()
        return layer
