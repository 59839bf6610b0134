"""The parts of the Regions dock, each a small widget handed only what it needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from qtpy.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.regions import RegionClass, color_for
from ..classes.colors import ClassList, fill_table

__all__ = ["ClassesPanel", "CountsPanel", "DrawPanel", "FilesPanel"]


def _vbox(widget: QWidget) -> QVBoxLayout:
    lay = QVBoxLayout(widget)
    lay.setContentsMargins(0, 0, 0, 0)
    return lay


class ClassesPanel(QWidget):
    """The region classes with their colours; *Add class*, *Remove class*."""

    def __init__(self, classes: Sequence[RegionClass], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = _vbox(self)
        title = QLabel("Region classes — pick one, then draw (double-click a colour to change "
                       "it):")
        title.setWordWrap(True)
        lay.addWidget(title)
        self.list = ClassList([(c.name, c.color) for c in classes])
        self.list.setToolTip("Kinds of tissue region. Cells in an 'exclude' region are never "
                             "cut (folds, tears, artefacts).")
        self.list.setMaximumHeight(150)
        self.list.setCurrentCell(0, 0)
        lay.addWidget(self.list)
        row = QHBoxLayout()
        self.add_btn = QPushButton("Add class")
        self.remove_btn = QPushButton("Remove class")
        self.add_btn.setToolTip("Add a region class (double-click its name to rename it)")
        self.remove_btn.setToolTip("Remove the selected class from the list (drawn regions keep "
                                   "their class)")
        row.addWidget(self.add_btn)
        row.addWidget(self.remove_btn)
        lay.addLayout(row)
        self.changed = self.list.changed
        self.add_btn.clicked.connect(self._add)
        self.remove_btn.clicked.connect(self.list.remove_selected)

    def _add(self) -> None:
        names = self.list.names()
        n = len(names) + 1
        while f"region {n}" in names:
            n += 1
        self.list.add(f"region {n}", color_for(f"region {n}"))
        self.list.setCurrentCell(self.list.rowCount() - 1, 0)

    def current(self) -> str:
        """The selected class (the first when none is selected)."""
        names = self.list.names()
        if not names:
            return "region"
        r = self.list.currentRow()
        return names[r] if 0 <= r < len(names) else names[0]

    def colors(self) -> dict[str, tuple[int, int, int]]:
        """``{class: (r, g, b)}``."""
        return self.list.color_map()

    def ensure(self, name: str, rgb: Sequence[int] | None = None) -> None:
        """Add class ``name`` unless listed (with ``rgb`` or its usual colour)."""
        if name and name not in self.list.names():
            self.list.add(name, tuple(rgb) if rgb else color_for(name))


class DrawPanel(QWidget):
    """*Draw new region of the selected class*; *Give selected shapes the selected class*."""

    def __init__(self, on_draw: Callable[[], None], on_set_class: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = _vbox(self)
        self.draw_btn = QPushButton("Draw new region of the selected class")
        self.draw_btn.setToolTip("Click around the region on the image; double-click (or press "
                                 "Esc) to close it. Draw as many as you like.")
        self.set_btn = QPushButton("Give selected shapes the selected class")
        self.set_btn.setToolTip("Select shapes in the 'regions' layer (select tool, S), pick a "
                                "class above, then click here")
        lay.addWidget(self.draw_btn)
        lay.addWidget(self.set_btn)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.draw_btn.clicked.connect(on_draw)
        self.set_btn.clicked.connect(on_set_class)


class CountsPanel(QWidget):
    """Which cells are used, *Assign cells to regions*, and the cells and area per region."""

    def __init__(self, on_assign: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = _vbox(self)
        self.source = QLabel("")
        self.source.setWordWrap(True)
        lay.addWidget(self.source)
        self.assign_btn = QPushButton("Assign cells to regions")
        self.assign_btn.setToolTip("Every cell gets the region its centre lies in (done "
                                   "automatically whenever a region is finished or changed)")
        lay.addWidget(self.assign_btn)
        self.table = QTableWidget(0, 0)
        self.table.setMinimumHeight(120)
        self.table.verticalHeader().setVisible(False)
        lay.addWidget(self.table)
        self.assign_btn.clicked.connect(on_assign)

    def show_counts(self, df: pd.DataFrame) -> None:
        """Show the per-region table."""
        fill_table(self.table, df)

    def rows(self) -> dict[str, list[str]]:
        """``{region: [cell texts…]}`` as shown (for tests and screenshots)."""
        t = self.table
        return {t.item(r, 0).text(): [t.item(r, c).text() for c in range(1, t.columnCount())]
                for r in range(t.rowCount())}

    def headers(self) -> list[str]:
        """Column titles as shown."""
        return [self.table.horizontalHeaderItem(c).text()
                for c in range(self.table.columnCount())]


class FilesPanel(QWidget):
    """*Import GeoJSON…* and *Export GeoJSON…* (QuPath)."""

    FILTER = "GeoJSON (*.geojson *.json)"

    def __init__(self, on_import: Callable[[str], None], on_export: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.import_btn = QPushButton("Import GeoJSON…")
        self.export_btn = QPushButton("Export GeoJSON…")
        self.import_btn.setToolTip("Regions, points and calibration marks drawn in QuPath "
                                   "(File › Export objects as GeoJSON)")
        self.export_btn.setToolTip("The regions for QuPath (drag the file onto the image there)")
        grid.addWidget(self.import_btn, 0, 0)
        grid.addWidget(self.export_btn, 0, 1)
        self._on_import, self._on_export = on_import, on_export
        self.import_btn.clicked.connect(self._import)
        self.export_btn.clicked.connect(self._export)

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import regions (QuPath GeoJSON)", "",
                                              self.FILTER)
        if path:
            self._on_import(path)

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export regions (QuPath GeoJSON)",
                                              "regions.geojson", "GeoJSON (*.geojson)")
        if path:
            self._on_export(path)
