"""The class rules of the Gating dock: one row per class (name, rule, colour), add/remove."""

from __future__ import annotations

from collections.abc import Iterable

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.classes.gating_scheme import GateRule
from ...core.classes.overlay import class_color
from .colors import color_item, rgb_of

__all__ = ["RulesEditor", "RulesTable"]


class RulesTable(QTableWidget):
    """One row per class: name, rule (e.g. ``CD8+ and panCK-``), colour (double-click)."""

    def __init__(self) -> None:
        super().__init__(0, 3)
        self.setHorizontalHeaderLabels(["class", "rule", "colour"])
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(0, 130)
        self.setColumnWidth(2, 56)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
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
            c = QColorDialog.getColor(QColor(old), self, "Class colour")
            if c.isValid():
                self.setItem(row, 2, color_item((c.red(), c.green(), c.blue())))


class RulesEditor(QWidget):
    """The rules table with *Add class* / *Remove class*; emits :attr:`changed` on any edit."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        hint = QLabel("Classes — a cell gets the first class whose rule it meets, e.g. "
                      "<i>CD8+ and panCK-</i> (<i>and</i>, <i>or</i>, <i>not</i>, brackets). "
                      "Double-click a colour to change it.")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.table = RulesTable()
        self.table.setMinimumHeight(120)
        lay.addWidget(self.table)
        row = QHBoxLayout()
        self.add_btn = QPushButton("Add class")
        self.add_btn.setToolTip("Add a class at the end; type its name and its rule")
        self.remove_btn = QPushButton("Remove class")
        self.remove_btn.setToolTip("Remove the selected class")
        row.addWidget(self.add_btn)
        row.addWidget(self.remove_btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.add_btn.clicked.connect(self._add_clicked)
        self.remove_btn.clicked.connect(self._remove_clicked)
        self.table.itemChanged.connect(lambda *_: self.changed.emit())

    def rules(self) -> list[GateRule]:
        """The complete rules, in table order."""
        return self.table.gate_rules()

    def set_rules(self, rules: Iterable[GateRule | tuple[str, str]]) -> None:
        """Replace every row."""
        self.table.setRowCount(0)
        for rule in rules:
            if isinstance(rule, GateRule):
                self.table.add(rule.name, rule.expr, rule.color)
            else:
                self.table.add(*rule)
        self.changed.emit()

    def _add_clicked(self) -> None:
        n = self.table.rowCount()
        self.table.add(f"class {n + 1}", "")
        self.table.setCurrentCell(n, 0)
        self.table.editItem(self.table.item(n, 0))
        self.changed.emit()

    def _remove_clicked(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self.changed.emit()
