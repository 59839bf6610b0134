"""What the Review dock draws on the canvas: cells coloured by QC state, the current cell's outline.

Both layers are derived (role ``overlay`` / ``preview``): the Slide dock never
lists them as slides and the project rebuilds rather than saves them.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Labels

from ...core.cells import columns as ct
from ...core.overlay.lut import apply_lut
from ...core.review import qc
from ...core.review.outline import cell_outline
from .._slide import ROLE, level0

OVERLAY = "QC state"
OUTLINE = "current cell"
OUTLINE_COLOUR = "#00e5ff"
SCAN_LIMIT = 4096 * 4096
"""Largest labels image searched whole for a cell not in the table (e.g. before measuring)."""
WIDTH = 1.0
"""Outline width in pixels of the slide (thicker on screen as you zoom in)."""
"""Cyan: stands out against the QC colours (grey, orange, green, red) and the stains."""


def _look(layer: Labels) -> dict:
    return {"scale": layer.scale[-2:], "translate": layer.translate[-2:],
            "units": layer.units[-2:]}


def show_qc_overlay(viewer, layer: Labels, table, box=None, visible: bool = True) -> None:
    """Show/refresh the RGBA layer colouring ``layer``'s cells by QC state.

    With ``box`` and an existing single-scale overlay only that box is recoloured.
    """
    if not visible:
        if OVERLAY in viewer.layers:
            viewer.layers[OVERLAY].visible = False
        return
    data = layer.data
    top = int(table[ct.CELL_ID].max()) if len(table) else 0
    if OVERLAY in viewer.layers and box is not None and not layer.multiscale:
        ov = viewer.layers[OVERLAY]
        if ov.data.shape[:2] == data.shape:
            qc.refresh_rgba(ov.data, data, qc.qc_colour_lut(table, max(int(data.max()), top)),
                            box)
            ov.visible = True
            ov.refresh()
            return
    if layer.multiscale:
        lut = qc.qc_colour_lut(table, top)
        rgba = [apply_lut(d, lut) for d in data]
    else:
        rgba = qc.qc_rgba(np.asarray(data), table)
    if OVERLAY in viewer.layers:
        viewer.layers[OVERLAY].data = rgba
        viewer.layers[OVERLAY].visible = True
    else:
        active = viewer.layers.selection.active
        viewer.add_image(rgba, name=OVERLAY, rgb=True, multiscale=layer.multiscale,
                         blending="translucent", metadata={ROLE: "overlay"}, **_look(layer))
        viewer.layers.selection.active = active or layer


class CellOutline:
    """A cyan outline around the cell selected in the cells layer (a Shapes layer, role preview)."""

    def __init__(self, viewer, hint_of=lambda cid: None) -> None:
        self.viewer = viewer
        self.hint_of = hint_of  # cell id -> centroid (row, col), to find it without a scan
        self.layer: Labels | None = None

    def follow(self, layer: Labels | None) -> None:
        """Outline the selected cell of ``layer`` from now on (and now)."""
        if layer is self.layer:
            return
        if self.layer is not None:
            self.layer.events.selected_label.disconnect(self.update)
        self.layer = layer
        if layer is not None:
            layer.events.selected_label.connect(self.update)
        self.update()

    def update(self, *_) -> None:
        """Redraw the outline of the selected cell (none when no cell is selected)."""
        layer = self.layer
        cid = int(layer.selected_label) if layer is not None else 0
        hint = self.hint_of(cid) if cid > 0 else None
        labels = level0(layer) if layer is not None else None
        # without a centroid the whole labels image is searched: only when it is small
        small = labels is not None and labels.shape[-2] * labels.shape[-1] <= SCAN_LIMIT
        lines = cell_outline(labels, cid, hint=hint) if cid > 0 and (hint or small) else []
        if not lines:
            if OUTLINE in self.viewer.layers and len(self.viewer.layers[OUTLINE].data):
                self.viewer.layers[OUTLINE].data = []
            return
        if OUTLINE not in self.viewer.layers:
            active = self.viewer.layers.selection.active
            shapes = self.viewer.add_shapes(lines, shape_type="path", name=OUTLINE,
                                            edge_width=WIDTH, edge_color=OUTLINE_COLOUR,
                                            metadata={ROLE: "preview"}, **_look(layer))
            shapes.current_edge_color, shapes.current_edge_width = OUTLINE_COLOUR, WIDTH
            self.viewer.layers.selection.active = active or layer
            return
        shapes = self.viewer.layers[OUTLINE]
        for attr in ("scale", "translate"):  # setting them redraws: only when they differ
            if not np.allclose(getattr(shapes, attr), getattr(layer, attr)[-2:]):
                setattr(shapes, attr, getattr(layer, attr)[-2:])
        shapes.data = [(line, "path") for line in lines]
