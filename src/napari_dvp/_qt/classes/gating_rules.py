"""The class rules table of the gating widget: class, rule and colour per row."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QTableWidget, QTableWidgetItem

from ...core.classes.gating import GateRule
from ...core.classes.overlay import class_color
from .colors import color_item, rgb_of


class RulesTable(QTableWidget):
    """One row per class: name, rule (e.g. ``CD8+ and panCK-``), colour (double-click)."""

    def __init__(self) -> None:
        super().__init__(0, 3)
        self.setHorizontalHeaderLabels(["class", "rule", "colour"])
        self.horizontalHeader().setStretchLastSection(True)
        self.cellDoubleClicked.connect(self._pick_color)

    def add(self, name: str, rule: str, color=None) -> None:
        """Append a row (colour from the class name when not given)."""
        r = self.rowCount()
        self.blockSignals(True)
        self.insertRow(r)
        self.setItem(r, 0, QTableWidgetItem(name))
        self.setItem(r, 1, QTableWidgetItem(rule))
        self.setItem(r, 2, color_item(color or class_color(name, r)))
        self.blockSignals(False)

    def gate_rules(self) -> list[GateRule]:
        """The complete rows (a name and a rule) as rules, in table order."""
        rules = []
        for r in range(self.rowCount()):
            name, rule = self.item(r, 0).text().strip(), self.item(r, 1).text()
            if name and rule.strip():
                color = self.item(r, 2).data(Qt.ItemDataRole.UserRole)
                rules.append(GateRule(name, rule, rgb_of(color)))
        return rules

    def _pick_color(self, row: int, col: int) -> None:
        if col == 2:
            from qtpy.QtGui import QColor
            from qtpy.QtWidgets import QColorDialog

            old = self.item(row, 2).data(Qt.ItemDataRole.UserRole)
            c = QColorDialog.getColor(QColor(old), self)
            if c.isValid():
                self.setItem(row, 2, color_item((c.red(), c.green(), c.blue())))
