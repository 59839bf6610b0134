"""The match table: every MS run, its guessed sample, and a per-run choice of the sample."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.proteomics.study import MATCH_HEADERS
from .source import button

SAMPLE = MATCH_HEADERS.index("sample")
STATUS = MATCH_HEADERS.index("status")
TROUBLE = QColor(255, 214, 170)  # unmatched / ambiguous / conflict rows


class MatchBox(QWidget):
    """Manifest line, "Open manifest…" and the run → sample table.

    Each row's sample is an editable drop-down of the manifest's samples: choose one or
    type it (Enter); an empty choice unassigns the run.

    Signals
    -------
    assigned(run, sample_id)
        The user changed the sample of a run (full run name).
    """

    assigned = Signal(str, str)

    def __init__(self, open_manifest, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.manifest_label = QLabel("Manifest: none — export the LMD plan or open one.")
        self.manifest_label.setWordWrap(True)
        row.addWidget(self.manifest_label, 1)
        row.addWidget(button("Open manifest…", "manifest.csv of an LMD export (samples, "
                             "wells, classes, regions, cells)", open_manifest))
        lay.addLayout(row)
        self.table = QTableWidget(0, len(MATCH_HEADERS))
        self.table.setHorizontalHeaderLabels(list(MATCH_HEADERS))
        self.table.setToolTip("Which MS run belongs to which LMD sample. Pick or type the "
                              "sample per run; orange rows are not matched.")
        self.table.setMinimumHeight(140)
        self.table.setMaximumHeight(220)
        self.table.verticalHeader().setVisible(False)
        lay.addWidget(self.table)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        self.runs: list[str] = []

    def show_rows(self, rows: pd.DataFrame, runs: Sequence[str], tips: Sequence[str],
                  samples: Sequence[str]) -> None:
        """One row per run, runs without a sample first; ``samples`` are the manifest's
        (empty before a manifest)."""
        order = sorted(range(len(rows)), key=lambda i: rows["status"].iloc[i] == "matched")
        rows = rows.iloc[order]
        tips = [tips[i] for i in order]
        self.runs = [str(runs[i]) for i in order]
        self.table.setRowCount(len(rows))
        for i, (values, tip) in enumerate(zip(rows.itertuples(index=False), tips,
                                              strict=True)):
            trouble = values[STATUS] != "matched"
            for j, v in enumerate(values):
                if j == SAMPLE:
                    self.table.setCellWidget(i, j, self._combo(i, str(v), samples))
                    continue
                it = QTableWidgetItem(str(v))
                it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
                it.setToolTip(tip)
                if trouble:
                    it.setBackground(QBrush(TROUBLE))
                    it.setForeground(QBrush(QColor("black")))  # readable on any theme
                self.table.setItem(i, j, it)
        self.table.resizeColumnsToContents()
        bad = int((rows["status"] != "matched").sum())
        self.note.setText(f"{len(rows) - bad} of {len(rows)} runs matched"
                          + (f"; {bad} not matched (orange): choose their sample or leave "
                             "them out" if bad else ""))

    def combo(self, row: int) -> QComboBox:
        """The sample drop-down of ``row``."""
        return self.table.cellWidget(row, SAMPLE)

    def row_of(self, label: str) -> int:
        """Row of the run shown as ``label`` (its short name)."""
        col = MATCH_HEADERS.index("MS run")
        return [self.table.item(i, col).text() for i in range(self.table.rowCount())
                ].index(label)

    def _combo(self, row: int, current: str, samples: Sequence[str]) -> QComboBox:
        box = QComboBox()
        box.setEditable(True)
        box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        box.addItems(["", *samples])
        box.setCurrentText(current)
        box.setEnabled(bool(samples))
        box.setToolTip("The LMD sample of this run: choose or type it (empty = none)")
        box.activated.connect(lambda *_: self._picked(row, box))
        box.lineEdit().returnPressed.connect(lambda: self._picked(row, box))
        box.setProperty("assigned", current)
        return box

    def _picked(self, row: int, box: QComboBox) -> None:
        text = box.currentText().strip()
        if text != box.property("assigned"):
            box.setProperty("assigned", text)
            self.assigned.emit(self.runs[row], text)
