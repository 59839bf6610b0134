"""Export part of the LMD dock: format and cut options, Export…, Cancel, the questions it asks.

The export runs through the dock's :class:`~napari_dvp._qt._jobs.JobRunner`
(:func:`~napari_dvp.core.lmd.export_job.export_job`: the core export under
the one output policy). Before it starts, an earlier export in the chosen
folder is replaced only when the user answers "Overwrite?" with Yes; a sample
that would lose more cells than allowed stops it and asks "Export anyway?".
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import QTimer, Signal
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.lmd.export import ExportResult
from ...core.lmd.export_job import LossStop, asks_overwrite, export_job
from ...core.lmd.options import CutParams
from .._common import notify_errors, show_info
from .._forms import ParamsForm
from .._jobs import JobRunner

Prepare = Callable[[], dict]
"""Returns the export's arguments: labels, plan, calibration, wells (WellParams), inputs, image."""


class ExportBox(QWidget):
    """Format, cut options, Export… / Cancel, progress and the status line."""

    exported = Signal(object)  #: the ExportResult

    def __init__(self, prepare: Prepare) -> None:
        super().__init__()
        self.prepare = prepare
        self.result: ExportResult | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.form = ParamsForm(CutParams)
        lay.addWidget(self.form.native)
        row = QHBoxLayout()
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip("Choose a folder (new, empty, or an earlier export to "
                                   "replace) and write the cut file, manifest, plate map and "
                                   "QC picture")
        self.cancel_btn = QPushButton("Cancel")
        row.addWidget(self.export_btn)
        row.addWidget(self.cancel_btn)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        self.runner = JobRunner(self.progress, self.cancel_btn, self.status,
                                busy=[self.export_btn])
        self.export_btn.clicked.connect(self.export_clicked)

    @notify_errors
    def export_clicked(self) -> None:
        """Ask for the folder, check it under the output policy, then export."""
        args = self.prepare()  # a missing input stops here, before any dialog
        folder = QFileDialog.getExistingDirectory(
            self, "Folder for the LMD export (new or empty, or an earlier export to replace)")
        if not folder:
            return
        overwrite = False
        if asks_overwrite(folder, args["inputs"]):
            answer = QMessageBox.question(
                self, "Overwrite?", f"{folder} holds an earlier napari-dvp export. Overwrite it?")
            if answer != QMessageBox.StandardButton.Yes:
                self.status.setText("Nothing exported: the earlier export was kept.")
                return
            overwrite = True
        self.start(Path(folder), args, overwrite, accept_loss=False)

    def start(self, folder: Path, args: dict, overwrite: bool, accept_loss: bool) -> None:
        """Run the export job."""
        opts = self.form.params().options(args["wells"], accept_loss=accept_loss)
        self.runner.start(export_job, args["labels"], args["plan"], args["calibration"], folder,
                          opts, inputs=args["inputs"], overwrite=overwrite,
                          image=args.get("image"),
                          done=lambda res: self._done(res, folder, args, overwrite),
                          what="Exporting…", cancelled_text="Export cancelled; nothing was "
                          "written.")

    def _done(self, res, folder: Path, args: dict, overwrite: bool) -> None:
        if isinstance(res, LossStop):  # ask once the job has finished (bar and buttons reset)
            self._when_idle(lambda: self._ask_loss(res, folder, args, overwrite))
            return
        self._report(res)

    def _when_idle(self, func: Callable[[], None]) -> None:
        if self.runner.running:
            QTimer.singleShot(10, lambda: self._when_idle(func))
        else:
            func()

    def _ask_loss(self, res: LossStop, folder: Path, args: dict, overwrite: bool) -> None:
        rows = "\n".join(f"  {r.sample_id}: {r.n_partial + r.n_lost} of {r.n_planned} cells "
                         f"({100 * r.share:.0f} %)" for r in res.samples.head(12).itertuples())
        answer = QMessageBox.question(
            self, "Export anyway?",
            f"These samples would lose more than {self.form.params().max_loss_percent:g} % of "
            f"their planned cells:\n{rows}\n\nYes: export anyway (the manifest and "
            "lost_cells.csv list only what is cut). No: cancel, nothing is written.")
        if answer == QMessageBox.StandardButton.Yes:
            self.start(folder, args, overwrite, accept_loss=True)
        else:
            self.status.setText("Export cancelled: samples would lose cells; nothing was "
                                "written.")

    def _report(self, res: ExportResult) -> None:
        self.result = res
        m = res.manifest
        purity = m["purity"].astype(float)
        files = sorted(p.name for p in Path(res.out_dir).iterdir() if not p.name.startswith("."))
        text = (f"Exported {len(m)} samples, {res.n_shapes} shapes, "
                f"{int(m['n_cells'].sum())} of {int(m['n_planned'].sum())} planned cells cut; "
                f"purity {purity.mean():.2f} (lowest {purity.min():.2f}); to {res.out_dir}: "
                + ", ".join(files))
        self.status.setText(html.escape(text) + "".join(
            f"<br>⚠ {html.escape(w)}" for w in res.warnings[:4]))
        show_info(text)
        self.exported.emit(res)
