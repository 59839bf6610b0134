"""The plate map after an export: the used part of the plate, sample names in their colours."""

from __future__ import annotations

import pandas as pd
from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem


def used_part(pmap: pd.DataFrame) -> pd.DataFrame:
    """The rows and columns of a plate map that hold at least one sample (a list stays whole)."""
    if "sample_id" in pmap.columns:
        return pmap
    full = pmap.astype(str) != ""
    return pmap.loc[full.any(axis=1), full.any(axis=0)]


class PlateMapView(QTableWidget):
    """Read-only grid: well rows x columns with the sample in each well (empty wells blank)."""

    def __init__(self) -> None:
        super().__init__(0, 0)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setToolTip("Plate map of the last export (also written as plate_map.csv)")
        self.hide()

    def set_map(self, pmap: pd.DataFrame, colours: dict[str, tuple] | None = None) -> None:
        """Show ``pmap`` (from :func:`~napari_dvp.core.lmd.collectors.plate_map`)."""
        part = used_part(pmap)
        self.setRowCount(len(part.index))
        self.setColumnCount(len(part.columns))
        self.setVerticalHeaderLabels([str(i) for i in part.index])
        self.setHorizontalHeaderLabels([str(c) for c in part.columns])
        well_of = {}
        if "sample_id" not in part.columns:
            well_of = {f"{r}{c}": (i, j) for i, r in enumerate(part.index)
                       for j, c in enumerate(part.columns)}
        for i, (_, row) in enumerate(part.iterrows()):
            for j, val in enumerate(row):
                item = QTableWidgetItem(str(val))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.setItem(i, j, item)
        for well, rgba in (colours or {}).items():
            if well in well_of:
                i, j = well_of[well]
                self.item(i, j).setBackground(QBrush(QColor.fromRgbF(*rgba[:3], 0.55)))
        self.resizeColumnsToContents()
        rows = sum(self.rowHeight(i) for i in range(self.rowCount()))
        self.setFixedHeight(min(rows + self.horizontalHeader().height() + 6, 170))
        self.show()

    def samples(self) -> dict[str, str]:
        """Well -> sample as shown (plates only)."""
        out = {}
        for i in range(self.rowCount()):
            for j in range(self.columnCount()):
                text = self.item(i, j).text() if self.item(i, j) else ""
                if text:
                    out[self.verticalHeaderItem(i).text()
                        + self.horizontalHeaderItem(j).text()] = text
        return out
