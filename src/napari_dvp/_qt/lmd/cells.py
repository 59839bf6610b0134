"""Which cells the LMD dock cuts: the cells layer (the one rule) and its class x region groups."""

from __future__ import annotations

from collections.abc import Iterable

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ...core.lmd.plan_common import group_counts
from .._common import cell_table_of, watch_features
from .._slide import cells_layer


class GroupList(QListWidget):
    """The class x region groups to collect; selected ones are ticked."""

    def __init__(self) -> None:
        super().__init__()
        self.setToolTip("Select (Ctrl/Shift-click) each cell class x tissue region to collect")
        self.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.setMaximumHeight(110)
        self.itemSelectionChanged.connect(self.mark)

    def fill(self, groups: Iterable[tuple[str, str, int]], keep: set) -> None:
        """List ``(class, region, n cells)`` groups, re-selecting those in ``keep``."""
        self.clear()
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
            it.setText(("✔ " if it.isSelected() else "    ")
                       + it.data(Qt.ItemDataRole.ToolTipRole))

    def chosen(self) -> list[tuple[str, str]]:
        """The selected (class, region) pairs, in list order."""
        items = (self.item(i) for i in range(self.count()))
        return [tuple(it.data(Qt.ItemDataRole.UserRole)) for it in items if it.isSelected()]

    def select(self, groups: Iterable[tuple[str, str]]) -> None:
        """Select exactly ``groups``."""
        want = {tuple(g) for g in groups}
        for i in range(self.count()):
            self.item(i).setSelected(tuple(self.item(i).data(Qt.ItemDataRole.UserRole)) in want)


class CellsBox(QWidget):
    """Shows the cells layer every dock uses and lists its class x region groups.

    Emits ``changed`` when the cells layer or its table changes.
    """

    changed = Signal()

    def __init__(self, viewer) -> None:
        super().__init__()
        self.viewer = viewer
        self._watched = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.groups = GroupList()
        lay.addWidget(self.label)
        lay.addWidget(self.groups)
        viewer.layers.events.inserted.connect(self.refresh)
        viewer.layers.events.removed.connect(self.refresh)
        self.refresh()

    def layer(self):
        """The cells labels layer (one rule, ``_slide.cells_layer``); raises when there is none."""
        return cells_layer(self.viewer)

    def refresh(self, *_) -> None:
        """Re-read the cells layer and its groups (keeping the chosen groups)."""
        layer = cells_layer(self.viewer, required=False)
        self._watched = watch_features(self._watched, layer, self.refresh)
        keep = set(self.groups.chosen())
        if layer is None:
            self.label.setText("No cells yet: segment the slide (Segment) or open a labels "
                               "layer.")
            self.groups.fill([], keep)
        else:
            table = cell_table_of(layer)
            groups = group_counts(table)
            self.label.setText(
                f"Cells: <b>{layer.name}</b> — {len(table):,} cells"
                + (f", {len(groups)} class × region groups; select those to collect:"
                   if groups else "; no classes and regions yet (Gating/Classifier, Regions)"))
            self.groups.fill(groups, keep)
        self.changed.emit()
