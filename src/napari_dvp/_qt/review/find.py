"""*Find suspicious cells*: measure when needed (in the background, with Cancel), then flag."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ...core.cells import columns as ct
from ...core.progress import run_to_end
from ...core.review.triage import Triage, needs_measuring, triage_iter
from .._common import notify_errors, set_cell_table, show_warning, update_cells
from .._jobs import JobRunner
from .._slide import level0
from .cells import ReviewCells
from .form import QcForm


class FlagFinder(QWidget):
    """The Find / Cancel buttons and the progress bar; ``done(message)`` after flagging."""

    def __init__(self, cells: ReviewCells, form: QcForm, done: Callable[[str], None]) -> None:
        super().__init__()
        self.cells, self.form, self.done = cells, form, done
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.find_btn = QPushButton("Find suspicious cells")
        self.find_btn.setToolTip("Measure the cells if needed, then flag those outside the "
                                 "thresholds; they are listed below, most suspicious first")
        self.find_btn.clicked.connect(self.find)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop measuring (nothing is changed)")
        row.addWidget(self.find_btn, 1)
        row.addWidget(self.cancel_btn)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(10)
        self.progress.setTextVisible(False)
        lay.addWidget(self.progress)
        self.runner = JobRunner(self.progress, self.cancel_btn, busy=[self.find_btn])

    @notify_errors
    def find(self) -> None:
        """Measure the cells if needed (in the background), then flag them."""
        layer = self.cells.layer()
        pixel = self.cells.pixel()
        table = self.cells.table()
        args = (self.form.thresholds(), self.form.nuclear.currentText() or None)
        if not needs_measuring(table, pixel.um):  # quick: flag now
            self._flagged(layer, run_to_end(triage_iter(None, None, None, pixel.um, table,
                                                        *args)))
            return
        image, names = self.cells.image(layer)
        if image is None and self.cells.channels():
            show_warning(f"no channel of the slide has the size of '{layer.name}' "
                         f"{tuple(level0(layer).shape)}: measuring shapes only, no intensities")
        self.runner.start(triage_iter, level0(layer), image, names, pixel.um, table, *args,
                          done=lambda result: self._flagged(layer, result),
                          what=f"Measuring the cells at {pixel.um:g} µm per pixel…")

    def _flagged(self, layer, result: Triage) -> None:
        if result.measured is not None:
            if ct.CELL_ID in self.cells.table().columns:
                update_cells(layer, result.measured, step="measure", parent=self)
            else:
                set_cell_table(layer, result.measured, step="measure")
        update_cells(layer, result.flags, step="review", parent=self)
        note = f" (measured first: {result.reason})" if result.reason else ""
        self.done(f"{result.n_flagged:,} of {len(result.flags):,} cells flagged for "
                  f"review{note}.")
