"""Small Qt parts of the "Proteins on tissue" dock: processing options, the editable
match table, the paint controls, the group comparison bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.proteomics.processing import ProcessingParams
from ...core.proteomics.study import MATCH_HEADERS


def button(text: str, tip: str, slot) -> QPushButton:
    """A push button with a tooltip, connected to ``slot``."""
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


class ProcessingBox(QWidget):
    """Normalisation, minimum share of samples a protein is measured in, imputation."""

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.normalise = QCheckBox("median normalisation")
        self.normalise.setChecked(True)
        self.min_valid = QSpinBox()
        self.min_valid.setRange(0, 100)
        self.min_valid.setValue(50)
        self.min_valid.setSuffix(" % of samples")
        self.impute = QCheckBox("fill missing values (imputed, marked)")
        for w in (self.normalise, self.impute):
            w.toggled.connect(self.changed)
        self.min_valid.editingFinished.connect(self.changed)
        form.addRow("Processing:", self.normalise)
        form.addRow("Keep proteins measured in", self.min_valid)
        form.addRow("", self.impute)

    def params(self) -> ProcessingParams:
        """The chosen processing parameters."""
        return ProcessingParams(normalise="median" if self.normalise.isChecked() else "none",
                                min_valid=self.min_valid.value() / 100,
                                impute=self.impute.isChecked())


class MatchTable(QTableWidget):
    """MS run -> LMD sample; only the sample column can be edited (``edited(row, text)``)."""

    edited = Signal(int, str)
    EDITABLE = 1

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(MATCH_HEADERS), parent)
        self.setHorizontalHeaderLabels(list(MATCH_HEADERS))
        self.setToolTip("Which MS run belongs to which LMD sample. Type a sample id "
                        "in the 'sample' column to correct a match (empty = none).")
        self.setMaximumHeight(150)
        self.itemChanged.connect(self._changed)

    def show_rows(self, rows: pd.DataFrame, tips: Sequence[str]) -> None:
        """Show ``rows`` (one tooltip per row) without emitting ``edited``."""
        self.blockSignals(True)
        self.setRowCount(len(rows))
        for i, (values, tip) in enumerate(zip(rows.itertuples(index=False), tips,
                                              strict=True)):
            for j, v in enumerate(values):
                it = QTableWidgetItem(str(v))
                if j != self.EDITABLE:
                    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
                it.setToolTip(tip)
                self.setItem(i, j, it)
        self.blockSignals(False)

    def _changed(self, item: QTableWidgetItem) -> None:
        if item.column() == self.EDITABLE:
            self.edited.emit(item.row(), item.text().strip())


class PaintBox(QWidget):
    """Which cells, which pathway score or protein, and the buttons that paint them."""

    def __init__(self, paint_set, paint_protein, add_sets, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self.cells = QComboBox()
        self.cells.setToolTip("The cell outlines (labels layer) whose cut cells are painted")
        form.addRow("Cells layer:", self.cells)
        self.sets = QComboBox()
        self.sets.setToolTip("Pathway scores: mean z-score of the set's proteins per sample")
        form.addRow("Pathway score:", self.sets)
        self.protein = QLineEdit()
        self.protein.setPlaceholderText("gene name, e.g. STAT1")
        form.addRow("Protein:", self.protein)
        lay.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(button("Paint score", "Colour every cut cell by its sample's score",
                             paint_set))
        row.addWidget(button("Paint protein", "Colour every cut cell by the protein's z-score",
                             lambda: paint_protein(self.protein.text())))
        row.addWidget(button("Add gene sets…", "Your own gene sets (GMT file)", add_sets))
        lay.addLayout(row)

    def set_layers(self, names: Sequence[str]) -> None:
        """Offer these labels layers, keeping the current choice when it still exists."""
        current = self.cells.currentText()
        self.cells.clear()
        self.cells.addItems(list(names))
        if current:
            self.cells.setCurrentText(current)

    def set_choices(self, sets: Sequence[tuple[str, str]], genes: Sequence[str]) -> None:
        """Offer the gene sets (``(text, name)``) and complete protein search from ``genes``."""
        self.sets.clear()
        for text, name in sets:
            self.sets.addItem(text, name)
        self.protein.setCompleter(QCompleter(list(genes), self))
        self.protein.completer().setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)


class CompareBar(QWidget):
    """Group A vs group B and the Compare (volcano) button."""

    def __init__(self, compare, parent=None) -> None:
        super().__init__(parent)
        grp = QHBoxLayout(self)
        grp.setContentsMargins(0, 0, 0, 0)
        self.group_a, self.group_b = QComboBox(), QComboBox()
        grp.addWidget(self.group_a)
        grp.addWidget(QLabel("vs"))
        grp.addWidget(self.group_b)
        grp.addWidget(button("Compare", "Volcano plot: Welch t-test, BH-adjusted", compare))

    def set_groups(self, groups: Sequence[str], others: str) -> None:
        """Offer ``groups`` (B also offers ``others``: every sample not in A)."""
        for box, extra in ((self.group_a, []), (self.group_b, [others])):
            box.clear()
            box.addItems(extra + list(groups))
