"""Calibration marks of the LMD widget: a points layer, read back on the cells' pixel grid."""

from __future__ import annotations

import numpy as np

from ...core.errors import DvpInputError, one_line
from ...core.layer_coords import data_to_world, world_to_data
from ...core.lmd.calibration import check_marks

CAL_LAYER = "calibration"


class LmdCalibrationMixin:
    """Calibration part of :class:`~napari_dvp._qt.lmd.widget.LmdWidget`.

    Uses the widget's ``viewer``, ``cal_status`` and ``_layer()`` (the cells).
    """

    def pick_calibration(self, *_):
        """Create (or select) the "calibration" points layer and guide the user."""
        if CAL_LAYER not in self.viewer.layers:
            ref = self._layer()
            pts = self.viewer.add_points(np.empty((0, 2)), name=CAL_LAYER, symbol="cross",
                                         size=12, face_color="red", border_color="red",
                                         scale=ref.scale[-2:], translate=ref.translate[-2:],
                                         units=ref.units[-2:])
            pts.events.data.connect(self._marks_changed)
        pts = self.viewer.layers[CAL_LAYER]
        self.viewer.layers.selection.active = pts
        pts.mode = "add"
        self._marks_changed()

    def marks(self) -> np.ndarray:
        """The picked marks, (row, col) in pixels (first three)."""
        if CAL_LAYER not in self.viewer.layers:
            raise DvpInputError("no calibration marks; click 'Pick calibration marks' first")
        layer = self.viewer.layers[CAL_LAYER]
        pts = np.asarray(layer.data, dtype=float)[:, -2:]
        if not len(pts):
            return pts
        # points layer data -> world -> pixels of the cells layer (any scale/translate)
        ref = self._layer()
        return world_to_data(data_to_world(pts, layer.scale, layer.translate),
                             ref.scale, ref.translate)

    def _marks_changed(self, *_):
        m = self.marks()
        if len(m) < 3:
            self.cal_status.setText(f"Click calibration mark {len(m) + 1} of 3 on the image "
                                    "(the same marks, in the same order, as on the slide).")
            return
        if len(m) > 3:
            self.cal_status.setText("More than 3 marks: delete the extra ones.")
            return
        try:
            warn = check_marks(m, np.asarray(self._layer().data).shape)
            self.cal_status.setText("Calibration marks OK. " + " ".join(warn))
            self.viewer.layers[CAL_LAYER].mode = "pan_zoom"
        except DvpInputError as exc:
            self.cal_status.setText(f"Not usable: {one_line(exc)}")
