"""Controls of the review widget: QC threshold form and the accept/reject/edit buttons."""

from __future__ import annotations

from qtpy.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGridLayout, QPushButton

from ...core.review import qc
from .table import spin_box

ACTIONS = (
    ("accept", "Accept", "Keep this cell as it is (Shift+A)"),
    ("reject", "Reject", "Exclude this cell from everything downstream (Shift+R)"),
    ("delete", "Delete", "Remove the cell's pixels"),
    ("merge", "Merge with…", "Then click the other cell: the smaller id survives"),
    ("split", "Split", "Draw a line across the cell in layer 'split line', then press"),
    ("undo", "Undo", "Undo the last delete / merge / split"),
)


class QcForm(QFormLayout):
    """Layer choices and QC thresholds (defaults of :class:`.QcThresholds`)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells_combo, self.nuclear_combo = QComboBox(), QComboBox()
        self.addRow("Cells (labels)", self.cells_combo)
        self.addRow("Nuclear channel", self.nuclear_combo)
        d = qc.QcThresholds()
        self.min_area = spin_box(0, 1e5, d.min_area_um2, " µm²", "Smaller cells are flagged")
        self.max_area = spin_box(1, 1e6, d.max_area_um2, " µm²", "Larger cells are flagged")
        self.min_nuc = spin_box(0, 1, d.min_nuclear_fraction, "",
                                "Flag cells whose nuclear signal is below this fraction of the "
                                "typical cell's (a cell without a nucleus is often background)")
        self.min_sol = spin_box(0, 1, d.min_solidity, "",
                                "Flag ragged or merged shapes: area / convex area below this")
        self.border = QCheckBox("flag cells cut by the image border")
        self.border.setChecked(d.flag_border)
        for label, w in (("Smallest cell", self.min_area), ("Largest cell", self.max_area),
                         ("Min. nuclear signal", self.min_nuc), ("Min. solidity", self.min_sol)):
            self.addRow(label, w)
        self.addRow(self.border)

    def thresholds(self) -> qc.QcThresholds:
        """The thresholds as set."""
        return qc.QcThresholds(self.min_area.value(), self.max_area.value(), self.min_nuc.value(),
                               self.min_sol.value(), self.border.isChecked())


def action_buttons() -> tuple[QGridLayout, dict[str, QPushButton]]:
    """The six action buttons in a 2 x 3 grid, by action name."""
    grid = QGridLayout()
    buttons = {}
    for i, (key, text, tip) in enumerate(ACTIONS):
        b = QPushButton(text)
        b.setToolTip(tip)
        grid.addWidget(b, i // 3, i % 3)
        buttons[key] = b
    return grid, buttons
