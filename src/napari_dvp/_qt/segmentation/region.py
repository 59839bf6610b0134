"""Where to segment: the whole slide, the visible area, or inside a selected drawn shape."""

from __future__ import annotations

import numpy as np
from napari.layers import Shapes
from qtpy.QtWidgets import QComboBox, QFormLayout, QWidget

from ...core.errors import DvpInputError
from ...core.layer_coords import vertices_to_pixels, visible_box
from .._slide import level0

WHOLE, VISIBLE, SHAPE = "Whole slide", "Visible area", "Selected shape"
REGIONS = (WHOLE, VISIBLE, SHAPE)


class RegionPicker(QWidget):
    """A drop-down of :data:`REGIONS`; :meth:`region` turns the choice into image pixels."""

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.addItems(REGIONS)
        self.combo.setToolTip("Segment everything, what the canvas shows now, or inside the "
                              "selected shape of a Shapes layer (only cells whose centre lies "
                              "inside are kept)")
        form.addRow("Region", self.combo)

    def region(self, viewer, image) -> tuple[tuple[int, int, int, int] | None, object]:
        """``(box, polygon)`` in ``image``'s pixels (``None``: the whole slide).

        Raises
        ------
        DvpInputError
            For *Selected shape* when no shape is selected.
        """
        choice = self.combo.currentText()
        data = level0(image)
        shape = data.shape[:2] if image.rgb else data.shape[-2:]
        if choice == VISIBLE:
            camera = getattr(viewer, "scene", viewer).camera
            box = visible_box(camera.center, camera.zoom, viewer.canvas.size, image.scale,
                              image.translate, shape)
            return box, None
        if choice == SHAPE:
            import shapely

            shapes = next((lay for lay in reversed(viewer.layers)
                           if isinstance(lay, Shapes) and lay.selected_data), None)
            if shapes is None:
                raise DvpInputError("no shape is selected; draw a polygon in a Shapes layer, "
                                    "select it, then press Run")
            rc = vertices_to_pixels(shapes.data[min(shapes.selected_data)], shapes.scale,
                                    shapes.translate, image.scale, image.translate)
            polygon = shapely.Polygon(rc[:, ::-1])  # x = column, y = row
            c0, r0, c1, r1 = polygon.bounds
            return (int(r0), int(np.ceil(r1)) + 1, int(c0), int(np.ceil(c1)) + 1), polygon
        return None, None
