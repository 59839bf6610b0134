"""A small Qt model showing a pandas DataFrame (the flagged cells) in a QTableView."""

from __future__ import annotations

import numpy as np
import pandas as pd
from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt

from ..core.qc import QC_COLOURS, QC_NAMES

HEADERS = {"cell_id": "cell", "area_um2": "area (µm²)", "reasons": "why flagged",
           "qc_status": "decision"}


class DataFrameModel(QAbstractTableModel):
    """Read-only table model over a DataFrame; numbers sort as numbers."""

    def __init__(self, frame: pd.DataFrame | None = None, parent=None):
        super().__init__(parent)
        self._df = pd.DataFrame() if frame is None else frame.reset_index(drop=True)

    @property
    def frame(self) -> pd.DataFrame:
        return self._df

    def set_frame(self, frame: pd.DataFrame) -> None:
        self.beginResetModel()
        self._df = frame.reset_index(drop=True)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._df)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._df.shape[1]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        value = self._df.iat[index.row(), index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, float | np.floating):
                return f"{value:.1f}"
            return str(value)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return value.item() if isinstance(value, np.generic) else value
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            name = str(self._df.columns[section])
            return HEADERS.get(name, name)
        return str(section + 1)


def legend_html() -> str:
    """Coloured squares naming the QC states (for a QLabel)."""
    parts = []
    for name, rgba in zip(QC_NAMES, QC_COLOURS, strict=True):
        r, g, b = (int(255 * v) for v in rgba[:3])
        parts.append(f'<span style="color:rgb({r},{g},{b})">&#9632;</span> {name}')
    return " &nbsp; ".join(parts)
