"""Shared pieces of the class and region docks: colour swatches, a class list, a legend,
a small read-only table, and the cells layer with its table.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.cells.columns import CELL_ID
from ...core.errors import DvpInputError
from .._common import cell_table_of
from .._slide import cells_layer


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
    # not selectable either: a selected row would paint over the colour
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable & ~Qt.ItemFlag.ItemIsSelectable)
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
        header = self.horizontalHeader()
        header.setSectionResizeMode(self._c0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(self._c0 + 1, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(self._c0 + 1, 56)
        if key_column:
            self.setColumnWidth(0, 36)
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
    widget.verticalHeader().setVisible(False)
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


def cells_table(viewer) -> tuple[object, pd.DataFrame]:
    """``(cells layer, its cell table)`` — the layer by the one rule of :func:`cells_layer`.

    Raises
    ------
    DvpInputError
        No cells layer, or one whose cells are not measured yet.
    """
    lay = cells_layer(viewer)
    table = cell_table_of(lay)
    if CELL_ID not in table.columns or not len(table):
        raise DvpInputError(f"the cells in '{lay.name}' are not measured yet; measure them in "
                            "the Segment dock (or open a project with a cell table)")
    return lay, table
