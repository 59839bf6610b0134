"""Study results in the dock: figure tabs (plate, heatmap, PCA, volcano) and the
condition-vs-condition comparison bar with its results table."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.study.compare import DESIGNS


class FigureTabs(QTabWidget):
    """One tab per study figure; :meth:`show` replaces a tab's figure (made by core)."""

    NAMES = ("Plate", "Slides", "Heatmap", "PCA", "Volcano")

    def __init__(self) -> None:
        super().__init__()
        self.canvases: dict[str, FigureCanvasQTAgg] = {}
        self.setMinimumHeight(320)
        #: the tab bar's scroll arrows (Qt's own), kept so their Python wrappers stay the same
        self.arrows = self.tabBar().findChildren(QToolButton)

    def show(self, name: str, fig) -> None:  # type: ignore[override]
        """Show ``fig`` (a matplotlib Figure) in tab ``name`` and bring it to front."""
        fig.set_dpi(70)
        canvas = FigureCanvasQTAgg(fig)
        old = self.canvases.get(name)
        if old is not None:
            i = self.indexOf(old)
            self.removeTab(i)
            old.deleteLater()
        order = [n for n in self.NAMES if n in self.canvases or n == name]
        self.insertTab(order.index(name), canvas, name)
        self.canvases[name] = canvas
        self.setCurrentWidget(canvas)
        canvas.draw_idle()


class ComparePanel(QWidget):
    """A vs B within a cell type (design: auto = paired or patient means), Compare,
    Save results…, and the table of the most significant proteins."""

    def __init__(self, compare: Callable[[], None], save: Callable[[], None]) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self.a, self.b, self.cell_type, self.design = (QComboBox(), QComboBox(), QComboBox(),
                                                       QComboBox())
        self.design.addItems(DESIGNS)
        self.design.setToolTip("auto: paired t on patient means when patients have both "
                               "conditions, else moderated t on patient means; ols: value ~ "
                               "condition + patient; samples: replicates as independent")
        form.addRow("Condition A", self.a)
        form.addRow("vs condition B", self.b)
        form.addRow("Within cell type", self.cell_type)
        form.addRow("Design", self.design)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.compare_btn = QPushButton("Compare")
        self.compare_btn.setToolTip("volcano and table; BH-adjusted q over proteins")
        self.compare_btn.clicked.connect(compare)
        self.save_btn = QPushButton("Save results…")
        self.save_btn.setToolTip("write the table (CSV) and the volcano (PNG) into a folder")
        self.save_btn.clicked.connect(save)
        row.addWidget(self.compare_btn)
        row.addWidget(self.save_btn)
        lay.addLayout(row)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["gene", "log2 FC", "p", "q"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(120)
        lay.addWidget(self.table)

    def set_choices(self, conditions: list[str], cell_types: list[str]) -> None:
        """Fill the condition and cell type choices (A = first, B = second condition)."""
        for box, items in ((self.a, conditions), (self.b, conditions),
                           (self.cell_type, cell_types)):
            box.clear()
            box.addItems(items)
        if len(conditions) > 1:
            self.b.setCurrentIndex(1)

    def show_table(self, cmp: pd.DataFrame, n: int = 30) -> None:
        """The ``n`` proteins with the lowest p."""
        top = cmp.sort_values("p").head(n)
        self.table.setRowCount(len(top))
        for i, (_, r) in enumerate(top.iterrows()):
            for j, v in enumerate((r["gene"], f"{r['log2_fc']:.2f}", f"{r['p']:.2g}",
                                   f"{r['q']:.2g}")):
                self.table.setItem(i, j, QTableWidgetItem(str(v)))
