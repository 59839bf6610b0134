"""Editable sample-plan table of the LMD dock; its first column is the preview's legend.

Each row reads *colour → sample → well*: the colour is the one the sample's
cells have on the preview layer and in the export's QC picture.
"""

from __future__ import annotations

import pandas as pd
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

SHOWN = ["colour", "sample_id", "well", "class", "region", "replicate", "n_cells", "area_um2"]
HEADERS = ["", "Sample", "Well", "Class", "Region", "Rep.", "Cells", "Area µm²"]
EDITABLE = {"sample_id", "well"}


class PlanTable(QTableWidget):
    """Shows a plan; the sample name and well are editable, rows can be dropped."""

    plan_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(SHOWN), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setToolTip("Colour on the preview · sample · well. Double-click a sample name or "
                        "well to change it; an empty well is filled from the plate in order "
                        "(grey).")
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().hide()
        self._plan = pd.DataFrame()
        self._filling = False
        self.itemChanged.connect(self._edited)

    def set_plan(self, plan: pd.DataFrame) -> None:
        """Show ``plan`` (a copy is kept)."""
        self._plan = plan.reset_index(drop=True).copy()
        self._plan.attrs = dict(plan.attrs)
        self._filling = True
        self.setRowCount(len(self._plan))
        for r, row in self._plan.iterrows():
            for c, col in enumerate(SHOWN):
                val = "" if col == "colour" else row[col]
                text = f"{val:,.0f}" if col == "area_um2" else str(val)
                item = QTableWidgetItem(text)
                if col not in EDITABLE:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.setItem(r, c, item)
        self._filling = False
        self.resizeColumnsToContents()
        self.setColumnWidth(0, 18)
        self.plan_changed.emit()

    def show_wells(self, wells: dict[str, str],
                   colours: dict[str, tuple[float, float, float, float]]) -> None:
        """Show every sample's well (grey where the plate chose it) and its colour swatch."""
        self._filling = True
        wcol = SHOWN.index("well")
        for r, (sid, chosen) in enumerate(zip(self._plan["sample_id"], self._plan["well"],
                                              strict=True)):
            well = wells.get(str(sid), "")
            item = self.item(r, wcol)
            if item is not None and not str(chosen):
                item.setText(well)
                item.setForeground(QColor("gray"))
            swatch = self.item(r, 0)
            if swatch is not None and well in colours:
                rgba = colours[well]
                swatch.setBackground(QBrush(QColor.fromRgbF(*rgba[:3], 1.0)))
                swatch.setToolTip(f"{sid} → {well}")
        self._filling = False

    def legend(self) -> list[tuple[str, str, str]]:
        """``(sample, well, colour name)`` per row, as shown (for tests and screenshots)."""
        return [(self.item(r, 1).text(), self.item(r, 2).text(),
                 self.item(r, 0).background().color().name()) for r in range(self.rowCount())]

    def plan(self) -> pd.DataFrame:
        """The plan with the user's edits."""
        return self._plan.copy()

    def selected_rows(self) -> list[int]:
        """Indices of the selected rows."""
        return sorted({i.row() for i in self.selectedIndexes()})

    def drop_selected(self) -> None:
        """Remove the selected samples from the plan."""
        rows = self.selected_rows()
        if rows:
            self.set_plan(self._plan.drop(index=rows))

    def _edited(self, item: QTableWidgetItem) -> None:
        if self._filling:
            return
        col = SHOWN[item.column()]
        if col not in EDITABLE:
            return
        text = item.text().strip()
        self._plan.at[item.row(), col] = text.upper() if col == "well" else text
        if col == "well":
            self._filling = True
            item.setForeground(self.palette().text())
            self._filling = False
        self.plan_changed.emit()
