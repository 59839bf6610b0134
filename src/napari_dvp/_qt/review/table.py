"""The list of flagged cells (a sortable table over a DataFrame), the QC legend, paint events."""

from __future__ import annotations

import numpy as np
import pandas as pd
from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from qtpy.QtWidgets import QAbstractItemView, QTableView

from ...core.review.qc import QC_COLOURS, QC_NAMES

HEADERS = {"cell_id": "cell", "area_um2": "area (µm²)", "reasons": "why flagged",
           "qc_status": "decision"}


class DataFrameModel(QAbstractTableModel):
    """Read-only table model over a DataFrame; numbers sort as numbers."""

    def __init__(self, frame: pd.DataFrame | None = None, parent=None):
        super().__init__(parent)
        self.set_frame(pd.DataFrame() if frame is None else frame)

    @property
    def frame(self) -> pd.DataFrame:
        return self._df

    def set_frame(self, frame: pd.DataFrame) -> None:
        """Show ``frame`` (texts and sort keys are made once here, not per paint)."""
        self.beginResetModel()
        self._df = frame.reset_index(drop=True)
        columns = [self._df[c].to_numpy() for c in self._df.columns]
        self._keys = [[v.item() if isinstance(v, np.generic) else v for v in col]
                      for col in columns]
        self._texts = [[f"{v:.1f}" if isinstance(v, float) else str(v) for v in keys]
                       for keys in self._keys]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._df)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._df.shape[1]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.column()][index.row()]
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return self._keys[index.column()][index.row()]
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            name = str(self._df.columns[section])
            return HEADERS.get(name, name)
        return str(section + 1)


def cell_list_view(parent) -> tuple[DataFrameModel, QSortFilterProxyModel, QTableView]:
    """A sortable, read-only, one-row-selection table view over a :class:`DataFrameModel`.

    It shows the rows in the frame's own order (most suspicious first) until a
    column header is clicked.
    """
    model = DataFrameModel()
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(Qt.ItemDataRole.UserRole)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.horizontalHeader().setStretchLastSection(True)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    view.setMinimumHeight(180)
    return model, proxy, view


def legend_html() -> str:
    """Coloured squares naming the QC states (for a QLabel)."""
    parts = []
    for name, rgba in zip(QC_NAMES, QC_COLOURS, strict=True):
        r, g, b = (int(255 * v) for v in rgba[:3])
        parts.append(f'<span style="color:rgb({r},{g},{b})">&#9632;</span> {name}')
    return " &nbsp; ".join(parts)


def camera_of(viewer):
    """The viewer's camera (``viewer.scene.camera`` since napari 0.9)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None and hasattr(scene, "camera") else viewer.camera


def paint_extent(atoms):
    """Bounding box ``(r0, r1, c0, c1)`` and label ids of napari paint history atoms."""
    boxes, ids = [], []
    for atom in atoms:
        if hasattr(atom, "slice_key"):  # masked atom: a box, old values, one new value
            sl = atom.slice_key[-2:]
            boxes.append((sl[0].start, sl[0].stop, sl[1].start, sl[1].stop))
            ids += [int(atom.new_value), *np.unique(atom.old_values).tolist()]
        else:
            idx, old, new = atom
            rr, cc = np.asarray(idx[-2]), np.asarray(idx[-1])
            if rr.size == 0:
                continue
            boxes.append((int(rr.min()), int(rr.max()) + 1, int(cc.min()), int(cc.max()) + 1))
            ids += np.unique(old).tolist() + np.unique(np.asarray(new)).tolist()
    if not boxes:
        return None, []
    b = np.array(boxes)
    return (int(b[:, 0].min()), int(b[:, 1].max()), int(b[:, 2].min()), int(b[:, 3].max())), ids
