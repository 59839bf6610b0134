"""One line saying which cells a dock works on: the layer, how many cells, whether measured."""

from __future__ import annotations

from html import escape

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ...core.cells.columns import CELL_ID
from ...core.classes.gating_view import markers_of
from .._common import cell_table_of, watch_features
from .._slide import cells_layer

__all__ = ["CellsLine"]


class CellsLine(QWidget):
    """``Cells: 'cells' — 1,234 measured cells, 5 markers`` (+ an optional button).

    The layer is the one every dock uses (:func:`napari_dvp._qt._slide.cells_layer`);
    the line follows layers being added or removed and the table being rewritten.

    Parameters
    ----------
    viewer
        The napari viewer.
    button, tooltip
        Text and tooltip of a button at the end of the line (``None``: no button).
    """

    def __init__(self, viewer, button: str | None = None, tooltip: str = "") -> None:
        super().__init__()
        self.viewer = viewer
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        row.addWidget(self.label, 1)
        self.button = None
        if button is not None:
            self.button = QPushButton(button)
            self.button.setToolTip(tooltip)
            row.addWidget(self.button)
        self._watched = None
        viewer.layers.events.inserted.connect(self.refresh)
        viewer.layers.events.removed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_) -> None:
        """Show the current cells layer and its number of measured cells."""
        layer = cells_layer(self.viewer, required=False)
        self._watched = watch_features(self._watched, layer, self.refresh)
        if layer is None:
            text = "Cells: <i>none yet</i> — segment the slide (Segment dock) or open a project"
        else:
            table = cell_table_of(layer)
            if CELL_ID not in table.columns or not len(table):
                text = (f"Cells: <b>{escape(layer.name)}</b> — <i>not measured yet</i> "
                        "(measure them in the Segment dock)")
            else:
                markers = markers_of(table)
                text = (f"Cells: <b>{escape(layer.name)}</b> — {len(table):,} measured cells, "
                        f"{len(markers)} marker{'s' if len(markers) != 1 else ''}")
        self.label.setText(text)
