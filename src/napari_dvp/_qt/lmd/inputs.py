"""Small input factories and the class x region group list of the LMD widget."""

from __future__ import annotations

from collections.abc import Iterable

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QDoubleSpinBox, QListWidget, QListWidgetItem


def combo(items, tip: str) -> QComboBox:
    """A combo box with ``items`` and a tooltip."""
    box = QComboBox()
    box.addItems(items)
    box.setToolTip(tip)
    return box


def spin(lo, hi, val, tip, step=1.0, dec=1) -> QDoubleSpinBox:
    """A decimal spin box."""
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(dec)
    box.setSingleStep(step)
    box.setValue(val)
    box.setToolTip(tip)
    return box


class GroupList(QListWidget):
    """The class x region groups to collect; selected ones are ticked."""

    def __init__(self) -> None:
        super().__init__()
        self.setToolTip("Select (Ctrl/Shift-click) each cell class x tissue region to collect")
        self.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.setMaximumHeight(120)
        self.itemSelectionChanged.connect(self.mark)

    def fill(self, groups: Iterable[tuple[str, str, int]], keep: set) -> None:
        """List ``(class, region, n cells)`` groups, re-selecting those in ``keep``."""
        for c, r, n in groups:
            item = QListWidgetItem(f"    {c} · {r}  ({n} cells)")
            item.setData(Qt.ItemDataRole.ToolTipRole, f"{c} · {r}  ({n} cells)")
            item.setData(Qt.ItemDataRole.UserRole, (c, r))
            self.addItem(item)
            item.setSelected((c, r) in keep)

    def mark(self, *_) -> None:
        """Tick the selected groups."""
        for i in range(self.count()):
            it = self.item(i)
            base = it.data(Qt.ItemDataRole.ToolTipRole)
            it.setText(("✔ " if it.isSelected() else "    ") + base)

    def chosen(self) -> list[tuple[str, str]]:
        """The selected (class, region) pairs, in list order."""
        items = (self.item(i) for i in range(self.count()))
        return [it.data(Qt.ItemDataRole.UserRole) for it in items if it.isSelected()]
