"""The sample plan part of the LMD dock: pooling options, Make plan, the editable plan table."""

from __future__ import annotations

import html

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.lmd import plan_samples
from ...core.lmd.options import PlanParams
from ...core.lmd.plan_common import combine_plans
from .._common import cell_table_of, notify_errors
from .._forms import ParamsForm
from .._session import session_of
from .cells import CellsBox
from .plan_table import PlanTable


class PlanBox(QWidget):
    """Pool the chosen groups into samples (replicates balanced) and edit the plan.

    The plan table's well column is editable (a chosen well per sample) and its
    first column shows each sample's colour on the preview.
    """

    status = Signal(str)

    def __init__(self, viewer, cells: CellsBox) -> None:
        super().__init__()
        self.viewer, self.cells = viewer, cells
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.form = ParamsForm(PlanParams)
        lay.addWidget(self.form.native)
        row = QHBoxLayout()
        self.plan_btn = QPushButton("Make plan")
        self.plan_btn.setToolTip("Pool the selected groups' cells into samples (region samples "
                                 "already planned stay)")
        self.drop_btn = QPushButton("Drop selected samples")
        row.addWidget(self.plan_btn)
        row.addWidget(self.drop_btn)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #e6a23c;")
        self.warning.hide()
        self.table = PlanTable()
        self.table.setMinimumHeight(130)
        lay.addLayout(row)
        lay.addWidget(self.warning)
        lay.addWidget(self.table)
        self.plan_btn.clicked.connect(self.make_plan)
        self.drop_btn.clicked.connect(self.table.drop_selected)

    @notify_errors
    def make_plan(self) -> None:
        """Pool the chosen groups into samples and show the plan (region samples stay)."""
        layer = self.cells.layer()
        opts = self.form.params().options()
        labels = np.asarray(layer.data) if opts.skip_touching else None
        plan = plan_samples(cell_table_of(layer), self.cells.groups.chosen(), opts, labels=labels)
        old = self.table.plan()
        if len(old) and "kind" in old:
            plan = combine_plans(plan, old[old["kind"] == "region"])
        self.show_warnings(plan.attrs.get("warnings", []))
        self.table.set_plan(plan)
        session_of(self.viewer).put("plans", "LMD plan", plan, source=self)
        self.status.emit(f"{len(plan)} samples planned.")

    def show_warnings(self, warnings: list[str]) -> None:
        """One warning row above the plan (too few cells for a replicate …)."""
        self.warning.setVisible(bool(warnings))
        self.warning.setText("⚠ " + html.escape("; ".join(warnings[:4]))
                             + (f" (+{len(warnings) - 4} more)" if len(warnings) > 4 else ""))
