"""Shared pieces of the class and region widgets: colour swatches, a class list,
a legend, and the class overlay layer (uint8 codes = lut[labels], categorical colormap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.cells.columns import CELL_ID
from ...core.classes.overlay import categorical_colormap, class_code_lut, recolor_into
from ...core.errors import DvpInputError
from .._common import cell_table_of, labels_layers

OVERLAY_NAME = "cell classes"


def hex_of(rgb: Sequence[int]) -> str:
    """'#rrggbb' of an RGB 0-255 triple."""
    return "#{:02x}{:02x}{:02x}".format(*map(int, rgb[:3]))


def rgb_of(hex_color: str) -> tuple[int, int, int]:
    """RGB 0-255 of '#rrggbb'."""
    c = QColor(hex_color)
    return (c.red(), c.green(), c.blue())


def color_item(rgb: Sequence[int]) -> QTableWidgetItem:
    """A read-only table cell filled with a colour (double-click to change)."""
    item = QTableWidgetItem("")
    item.setBackground(QColor(*map(int, rgb[:3])))
    item.setData(Qt.ItemDataRole.UserRole, hex_of(rgb))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    item.setToolTip("double-click to change the colour")
    return item


class ClassList(QTableWidget):
    """Editable list of class names with colours (name editable, colour by double-click)."""

    changed = Signal()

    def __init__(self, entries: Sequence[tuple[str, Sequence[int]]] = (), key_column: bool = False,
                 parent: QWidget | None = None):
        self._keys = key_column
        headers = (["key"] if key_column else []) + ["class", "colour"]
        super().__init__(0, len(headers), parent)
        self.setHorizontalHeaderLabels(headers)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setVisible(False)
        for name, rgb in entries:
            self.add(name, rgb)
        self.cellDoubleClicked.connect(self._pick)
        self.itemChanged.connect(lambda *_: self.changed.emit())

    @property
    def _c0(self) -> int:
        return 1 if self._keys else 0

    def add(self, name: str, rgb: Sequence[int]) -> None:
        """Append a class."""
        r = self.rowCount()
        self.blockSignals(True)
        self.insertRow(r)
        if self._keys:
            key = QTableWidgetItem(str(r + 1) if r < 9 else "")
            key.setFlags(key.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.setItem(r, 0, key)
        self.setItem(r, self._c0, QTableWidgetItem(name))
        self.setItem(r, self._c0 + 1, color_item(rgb))
        self.blockSignals(False)
        self.changed.emit()

    def remove_selected(self) -> None:
        """Remove the selected row."""
        r = self.currentRow()
        if r >= 0:
            self.removeRow(r)
            for k in range(self.rowCount()):
                if self._keys:
                    self.item(k, 0).setText(str(k + 1) if k < 9 else "")
            self.changed.emit()

    def names(self) -> list[str]:
        """Class names, top to bottom."""
        return [self.item(r, self._c0).text().strip() for r in range(self.rowCount())]

    def colors(self) -> list[tuple[int, int, int]]:
        """RGB per class."""
        return [rgb_of(self.item(r, self._c0 + 1).data(Qt.ItemDataRole.UserRole))
                for r in range(self.rowCount())]

    def color_map(self) -> dict[str, tuple[int, int, int]]:
        """{name: rgb}."""
        return dict(zip(self.names(), self.colors(), strict=True))

    def _pick(self, row: int, col: int) -> None:
        if col != self._c0 + 1:
            return
        c = QColorDialog.getColor(QColor(self.item(row, col).data(Qt.ItemDataRole.UserRole)),
                                  self, "Class colour")
        if c.isValid():
            self.setItem(row, col, color_item((c.red(), c.green(), c.blue())))
            self.changed.emit()


class Legend(QWidget):
    """Coloured squares with class names (and counts)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)

    def set_entries(self, entries: Sequence[tuple[str, str]]) -> None:
        """``(label, '#rrggbb')`` per class."""
        while self._lay.count():
            w = self._lay.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for label, color in entries:
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            sw = QLabel()
            sw.setFixedSize(14, 14)
            sw.setStyleSheet(f"background-color: {color}; border: 1px solid #222;")
            h.addWidget(sw)
            h.addWidget(QLabel(label), 1)
            self._lay.addWidget(row)

    def texts(self) -> list[str]:
        """Labels shown (for tests)."""
        out = []
        for k in range(self._lay.count()):
            w = self._lay.itemAt(k).widget()
            if w is not None:
                out.extend(lbl.text() for lbl in w.findChildren(QLabel) if lbl.text())
        return out


def fill_table(widget: QTableWidget, df: pd.DataFrame) -> None:
    """Show a small DataFrame in a read-only QTableWidget."""
    widget.clear()
    widget.setRowCount(len(df))
    widget.setColumnCount(len(df.columns))
    widget.setHorizontalHeaderLabels([str(c) for c in df.columns])
    for r, row in enumerate(df.itertuples(index=False)):
        for c, v in enumerate(row):
            if isinstance(v, float):
                text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
            else:
                text = str(v)
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            widget.setItem(r, c, item)
    widget.resizeColumnsToContents()


def cells_layer(viewer):
    """The labels layer carrying the cell table (newest first)."""
    layers = labels_layers(viewer)
    for lay in layers:
        if CELL_ID in lay.features.columns and len(lay.features):
            return lay
    if layers:
        raise DvpInputError(f"labels layer '{layers[0].name}' has no cell table; "
                            "measure the cells first")
    raise DvpInputError("no cell segmentation (labels layer) open; segment or open one first")


def cells_table(viewer) -> tuple[object, pd.DataFrame]:
    """``(labels layer, cell table)``."""
    lay = cells_layer(viewer)
    return lay, cell_table_of(lay)


class ClassOverlay:
    """The overlay image layer of cell classes; recolours in place.

    One uint8 buffer the size of the labels is kept; a recolouring is one
    gather ``lut[labels]`` into it and a layer refresh.
    """

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
        labels = np.asarray(labels_layer.data)
        if id(labels) != self._labels_id:
            self._labels_id = id(labels)
            self._max_label = int(labels.max(initial=0))
        lut = class_code_lut(cell_ids, codes, max_id=self._max_label)
        from napari.utils.colormaps import Colormap

        key = hash(tuple(tuple(int(v) for v in c[:3]) for c in colors)) & 0xFFFFFFFF
        cmap = Colormap(**categorical_colormap(colors), name=f"dvp-classes-{key:08x}")
        k = max(len(colors), 1)
        lay = self.layer()
        if lay is None or lay.data.shape != labels.shape:
            if lay is not None:
                self.viewer.layers.remove(lay)
            buf = np.zeros(labels.shape, np.uint8)
            recolor_into(buf, labels, lut, self._max_label)
            lay = self.viewer.add_image(
                buf, name=self.name, colormap=cmap, contrast_limits=(0, k), opacity=0.6,
                blending="translucent", scale=labels_layer.scale, units=labels_layer.units,
                translate=labels_layer.translate, interpolation2d="nearest")
            return
        recolor_into(lay.data, labels, lut, self._max_label)
        if lay.contrast_limits != [0, k]:
            lay.contrast_limits = (0, k)
        lay.colormap = cmap
        lay.refresh()
