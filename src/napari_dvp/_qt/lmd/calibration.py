"""Calibration marks of the LMD dock: three numbered crosses, picked or read from QuPath.

The marks live in the points layer ``calibration`` (role ``calibration``) on the
cells' pixel grid, drawn as large red crosses numbered 1, 2, 3. They come from
clicks on the image or from a QuPath GeoJSON (points ``calib1``-``calib3`` or
the three points of a class, :func:`~napari_dvp.core.lmd.qupath.calibration_points`).
For the Zeiss PALM format a small table takes the stage positions of the marks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QAbstractScrollArea,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import DvpInputError, one_line
from ...core.layer_coords import data_to_data
from ...core.lmd.calibration import check_marks
from .._common import notify_errors
from .._slide import ROLE, level0
from .cells import CellsBox

CAL_LAYER = "calibration"
STAGE_HELP = ("the Zeiss PALM format needs the stage positions (X, Y in µm, as PALMRobo shows "
              "them) of calibration marks 1-3; type them in the 'Stage positions' table")


class CalibrationBox(QWidget):
    """Pick three marks (or read them from QuPath); PALM stage positions; the status line."""

    changed = Signal()

    def __init__(self, viewer, cells: CellsBox) -> None:
        super().__init__()
        self.viewer, self.cells = viewer, cells
        self.source: Path | None = None  #: the GeoJSON the marks came from
        self._watched = None  #: the marks layer whose changes update the status
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.pick_btn = QPushButton("Pick marks on the image")
        self.pick_btn.setToolTip("Click the three marks of the slide on the image, in the "
                                 "order you will find them under the microscope")
        self.qupath_btn = QPushButton("From QuPath GeoJSON…")
        self.qupath_btn.setToolTip("Read the marks from point annotations named calib1, calib2, "
                                   "calib3 (or the three points of the class below)")
        row.addWidget(self.pick_btn)
        row.addWidget(self.qupath_btn)
        self.qupath_class = QLineEdit()
        self.qupath_class.setPlaceholderText("QuPath: points calib1-3; a class; or names a,b,c")
        self.qupath_class.setToolTip("Empty: the points named calib1, calib2, calib3. A class "
                                     "name: the three points of that class (in name order). "
                                     "Three names separated by commas: marks 1, 2, 3.")
        self.status = QLabel("No calibration marks yet.")
        self.status.setWordWrap(True)
        self.stage = QTableWidget(3, 2)
        self.stage.setHorizontalHeaderLabels(["Stage X (µm)", "Stage Y (µm)"])
        self.stage.setVerticalHeaderLabels(["Mark 1", "Mark 2", "Mark 3"])
        self.stage.setToolTip("PALM only: where each mark is on the stage (µm), read off PALMRobo")
        self.stage.horizontalHeader().setStretchLastSection(True)
        # as tall as its three rows under the viewer's style (a fixed 3 x 26 + 28 px cut
        # the third mark off under napari's 30 px rows)
        self.stage.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.stage.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.stage.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stage_label = QLabel("Stage positions of the marks (PALM):")
        lay.addLayout(row)
        lay.addWidget(self.qupath_class)
        lay.addWidget(self.status)
        lay.addWidget(self.stage_label)
        lay.addWidget(self.stage)
        self.set_format("leica")
        self.pick_btn.clicked.connect(self.pick)
        self.qupath_btn.clicked.connect(self.from_qupath)
        viewer.layers.events.inserted.connect(self._layer_added)

    def _layer_added(self, event) -> None:
        """Marks opened with File › Open (a QuPath GeoJSON's calibration points) count too."""
        if getattr(event.value, "name", None) == CAL_LAYER:
            self._watch(event.value)
            self._marks_changed()

    # ------------------------------------------------------------------ the layer
    def _layer(self, create: bool):
        if CAL_LAYER in self.viewer.layers:
            return self.viewer.layers[CAL_LAYER]
        if not create:
            return None
        ref = self.cells.layer()
        h, w = level0(ref).shape[-2:]
        size = max(12.0, 0.05 * max(h, w))
        layer = self.viewer.add_points(
            np.empty((0, 2)), name=CAL_LAYER, symbol="cross", size=size, face_color="red",
            border_color="white", border_width=0.08, features=pd.DataFrame({"mark": []}),
            text={"string": "{mark}", "size": 18, "color": "red", "anchor": "upper_left",
                  "translation": [-size / 2, size / 2]},
            scale=ref.scale[-2:], translate=ref.translate[-2:], units=ref.units[-2:],
            metadata={ROLE: "calibration"})
        self._watch(layer)
        return layer

    def _watch(self, layer) -> None:
        if layer is not self._watched:
            self._watched = layer
            layer.events.data.connect(self._marks_changed)

    def _number(self, layer) -> None:
        n = len(layer.data)
        if list(layer.features.get("mark", [])) != list(range(1, n + 1)):
            layer.features = pd.DataFrame({"mark": np.arange(1, n + 1)})

    def marks(self) -> np.ndarray:
        """The marks, (row, col) in pixels of the cells layer."""
        layer = self._layer(create=False)
        if layer is None or not len(layer.data):
            return np.empty((0, 2))
        ref = self.cells.layer()
        pts = np.asarray(layer.data, dtype=float)[:, -2:]
        return data_to_data(pts, layer.scale, layer.translate, ref.scale, ref.translate)

    def set_marks(self, marks_rc: np.ndarray) -> None:
        """Show ``marks_rc`` (pixels of the cells layer) as the marks."""
        layer = self._layer(create=True)
        ref = self.cells.layer()
        layer.data = data_to_data(np.asarray(marks_rc, float), ref.scale, ref.translate,
                                  layer.scale, layer.translate)
        layer.mode = "pan_zoom"

    # ------------------------------------------------------------------ actions
    @notify_errors
    def pick(self) -> None:
        """Select the marks layer in "add" mode; the status line guides the clicks."""
        layer = self._layer(create=True)
        self._watch(layer)
        self.source = None  # the marks are now the ones clicked
        self.viewer.layers.selection.active = layer
        layer.mode = "add"
        self._marks_changed()

    @notify_errors
    def from_qupath(self) -> None:
        """Read the marks from a QuPath GeoJSON (points calib1-3, or of a class)."""
        from ...core.geojson import read_geojson
        from ...core.lmd.qupath import calibration_points

        path, _ = QFileDialog.getOpenFileName(self, "QuPath GeoJSON with the calibration "
                                              "points", "", "GeoJSON (*.geojson *.json)")
        if not path:
            return
        text = self.qupath_class.text().strip()
        names = [n.strip() for n in text.split(",")] if "," in text else None
        cls = text if text and names is None else None
        marks = calibration_points(read_geojson(path, outside="keep"), names=names,
                                   class_name=cls)
        self.source = Path(path)
        self.set_marks(marks)

    # ------------------------------------------------------------------ checks
    def _marks_changed(self, *_) -> None:
        layer = self._layer(create=False)
        if layer is not None:
            self._number(layer)
        self.status.setText(self.describe())
        self.changed.emit()

    def describe(self) -> str:
        """One line: what is missing, or whether the marks are usable."""
        try:
            m = self.marks()
        except DvpInputError as exc:
            return one_line(exc)
        if len(m) < 3:
            return (f"Click calibration mark {len(m) + 1} of 3 on the image (the same marks, in "
                    "the same order, as on the slide).")
        if len(m) > 3:
            return "More than 3 marks: delete the extra ones."
        try:
            warn = check_marks(m, level0(self.cells.layer()).shape[-2:])
        except DvpInputError as exc:
            return f"Not usable: {one_line(exc)}"
        layer = self._layer(create=False)
        if layer is not None and layer.mode == "add":
            layer.mode = "pan_zoom"
        src = f" (from {self.source.name})" if self.source else ""
        return "Calibration marks 1-3 OK" + src + ". " + " ".join(warn)

    def set_format(self, fmt: str) -> None:
        """Show the stage table only for the PALM format."""
        self.stage.setVisible(fmt == "palm")
        self.stage_label.setVisible(fmt == "palm")

    def set_stage(self, stage_um: np.ndarray) -> None:
        """Fill the stage table with ``(3, 2)`` X, Y µm."""
        for r in range(3):
            for c in range(2):
                self.stage.setItem(r, c, QTableWidgetItem(f"{stage_um[r][c]:g}"))

    def stage_um(self) -> np.ndarray | None:
        """The typed stage positions ``(3, 2)``, ``None`` when the table is empty."""
        texts = [[(self.stage.item(r, c).text().strip() if self.stage.item(r, c) else "")
                  for c in range(2)] for r in range(3)]
        if not any(t for row in texts for t in row):
            return None
        try:
            return np.array([[float(t) for t in row] for row in texts])
        except ValueError:
            raise DvpInputError("a stage position of the marks is missing or not a number; "
                                + STAGE_HELP) from None
