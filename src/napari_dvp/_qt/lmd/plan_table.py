"""Editable sample-plan table for the LMD widget: rename, drop, move to another well."""

from __future__ import annotations

import pandas as pd
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

SHOWN = ["sample_id", "well", "class", "region", "replicate", "n_cells", "area_um2"]
HEADERS = ["Sample", "Well", "Class", "Region", "Rep.", "Cells", "Area µm²"]
EDITABLE = {"sample_id", "well"}


class PlanTable(QTableWidget):
    """Shows a plan; the sample name and well are editable, rows can be dropped."""

    plan_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(SHOWN), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setToolTip("Double-click a sample name or well to change it; "
                        "leave the well empty to fill it from the plate in order.")
        self.horizontalHeader().setStretchLastSection(True)
        self._plan = pd.DataFrame()
        self._filling = False
        self.itemChanged.connect(self._edited)

    def set_plan(self, plan: pd.DataFrame) -> None:
        """Show ``plan`` (a copy is kept)."""
        self._plan = plan.reset_index(drop=True).copy()
        self._filling = True
        self.setRowCount(len(self._plan))
        for r, row in self._plan.iterrows():
            for c, col in enumerate(SHOWN):
                val = row[col]
                text = f"{val:,.0f}" if col == "area_um2" else str(val)
                item = QTableWidgetItem(text)
                if col not in EDITABLE:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.setItem(r, c, item)
        self._filling = False
        self.resizeColumnsToContents()
        self.plan_changed.emit()

    def show_wells(self, wells: dict[str, str]) -> None:
        """Show the wells the plate will give to samples without a chosen well (grey)."""
        from qtpy.QtGui import QColor

        self._filling = True
        col = SHOWN.index("well")
        for r, (sid, chosen) in enumerate(zip(self._plan["sample_id"], self._plan["well"],
                                              strict=True)):
            item = self.item(r, col)
            if item is not None and not str(chosen):
                item.setText(wells.get(sid, ""))
                item.setForeground(QColor("gray"))
        self._filling = False

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
        text = item.text().strip()
        self._plan.at[item.row(), col] = text.upper() if col == "well" else text
        if col == "well":
            from qtpy.QtGui import QColor

            self._filling = True
            item.setForeground(QColor("white"))
            self._filling = False
        self.plan_changed.emit()
