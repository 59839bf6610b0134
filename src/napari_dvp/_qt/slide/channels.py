"""The slide's channels: marker names (renamed on the slide and its layers), colours, contrast."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleRangeSlider

from ...core.slide.model import Slide
from .._common import notify_errors

COLORMAPS = ["blue", "green", "magenta", "yellow", "cyan", "red", "gray", "bop orange",
             "bop purple", "bop blue"]


class ChannelTable(QWidget):
    """One row per channel: its name (double-click to rename) and colour; contrast below."""

    def __init__(self) -> None:
        super().__init__()
        self.slide: Slide | None = None
        self.layers: list = []
        self._updating = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Channels (double-click a name to rename it):"))
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Channel", "Colour"])
        self.table.setToolTip("Marker name of each channel and the colour it is shown in")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(1, 130)
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._on_renamed)
        self.table.currentCellChanged.connect(self._on_row_selected)
        lay.addWidget(self.table)
        self.contrast_label = QLabel("Contrast")
        lay.addWidget(self.contrast_label)
        self.contrast = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.contrast.setToolTip("Darkest and brightest intensity shown for the selected channel")
        self.contrast.valueChanged.connect(self._on_contrast)
        lay.addWidget(self.contrast)

    def show_layers(self, slide: Slide | None, layers: list) -> None:
        """Show the channels (image layers) of ``slide``."""
        self.slide, self.layers = slide, list(layers)
        self._updating = True
        self.table.setRowCount(len(self.layers))
        for row, layer in enumerate(self.layers):
            self.table.setItem(row, 0, QTableWidgetItem(layer.name))
            combo = QComboBox()
            name = layer.colormap.name
            combo.addItems(COLORMAPS if name in COLORMAPS else [name, *COLORMAPS])
            combo.setCurrentText(name)
            combo.setEnabled(not layer.rgb)
            combo.setToolTip("Colour of this channel" if not layer.rgb else
                             "A colour (H&E) image keeps its own colours")
            combo.currentTextChanged.connect(lambda cmap, r=row: self.set_colormap(r, cmap))
            self.table.setCellWidget(row, 1, combo)
        self._updating = False
        shown = sum(self.table.rowHeight(r) for r in range(min(len(self.layers), 8)))
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + shown + 4)
        if self.layers:
            self.table.setCurrentCell(0, 0)
            self._on_row_selected(0)
        else:
            self.contrast.setEnabled(False)

    def rename(self, row: int, name: str) -> None:
        """Rename channel ``row``: its layer and the slide's channel list."""
        layer = self.layers[row]
        layer.name = name.strip() or layer.name
        layer.metadata["channel"] = layer.name
        if self.slide is not None and not self.slide.is_rgb:
            self.slide.set_channels(tuple(lay.name for lay in self.layers))
        self._updating = True
        self.table.item(row, 0).setText(layer.name)  # napari may have made it unique
        self._updating = False
        self._on_row_selected(self.table.currentRow())

    def set_colormap(self, row: int, colormap: str) -> None:
        """Colour channel ``row``."""
        self.layers[row].colormap = colormap

    @notify_errors
    def _on_renamed(self, item) -> None:
        if not self._updating and item.column() == 0:
            self.rename(item.row(), item.text())

    def _on_row_selected(self, row, *_) -> None:
        if not 0 <= row < len(self.layers) or self.layers[row].rgb:
            self.contrast.setEnabled(False)
            self.contrast_label.setText("Contrast")
            return
        layer = self.layers[row]
        self.contrast.setEnabled(True)
        self.contrast_label.setText(f"Contrast of {layer.name}")
        lo, hi = layer.contrast_limits_range
        dtype = np.dtype(layer.dtype)
        top = hi * 2 if hi > 0 else 1.0
        if dtype.kind in "ui":
            top = min(top, float(np.iinfo(dtype).max))
        self._updating = True
        self.contrast.setDecimals(0 if dtype.kind in "uib" else 3)
        self.contrast.setRange(min(lo, 0.0), max(top, hi))
        self.contrast.setValue(tuple(layer.contrast_limits))
        self._updating = False

    def _on_contrast(self, value) -> None:
        row = self.table.currentRow()
        if not self._updating and 0 <= row < len(self.layers):
            self.layers[row].contrast_limits = tuple(value)
