"""Export part of the LMD widget: the background export job, its progress and Cancel."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
from qtpy.QtWidgets import QFileDialog

from ...core.errors import DvpInputError
from ...core.lmd import Calibration, ExportOptions
from ...core.lmd.export import export_lmd_steps
from .._common import cell_table_of, notify_errors, show_info
from .._session import session_of


class LmdExportMixin:
    """Export part of :class:`~napari_dvp._qt.lmd.widget.LmdWidget`.

    Uses the widget's option inputs, ``table`` (the plan), ``marks()``,
    ``_layer()``, ``progress``, ``status`` and the export/cancel buttons.
    """

    def _export_clicked(self, *_):
        folder = QFileDialog.getExistingDirectory(self, "Folder for the LMD export")
        if folder:
            self.export_to(Path(folder) / f"lmd_{_dt.datetime.now():%Y%m%d-%H%M%S}")

    @notify_errors
    def export_to(self, out_dir: Path):
        """Export the plan into ``out_dir`` in a background thread."""
        from napari.qt.threading import create_worker

        layer = self._layer()
        plan = self.table.plan()
        marks = self.marks()
        if len(marks) != 3:
            raise DvpInputError(f"{len(marks)} calibration marks; pick exactly 3")
        cal = Calibration(marks, self.pixel.value())
        opts = ExportOptions(fmt=self.fmt.currentText(), plate=self.plate.currentText(),
                             skip_outer=self.skip_outer.isChecked(),
                             fill_order=self.order.currentText(),
                             dilate_um=self.dilate.value(), simplify_um=self.simplify.value())
        gen = export_lmd_steps(np.asarray(layer.data), plan, cal, out_dir, opts,
                               cells=cell_table_of(layer))
        def work():
            return (yield from gen)

        self.worker = create_worker(work)
        self.worker.finished.connect(gen.close)  # a cancelled export removes its temp folder
        self.worker.yielded.connect(self._progress)
        self.worker.returned.connect(self._done)
        self.worker.errored.connect(lambda e: self.status.setText(f"Export failed: {e}"))
        self.worker.errored.connect(notify_errors(_raise))
        self.worker.finished.connect(lambda: self._busy(False))
        self._busy(True)
        self.worker.start()

    def _busy(self, busy: bool) -> None:
        self.export_btn.setEnabled(not busy)
        self.cancel_btn.setEnabled(busy)

    def _progress(self, step) -> None:
        done, total, what = step
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.status.setText(what)

    def _done(self, result) -> None:
        self.result = result
        session_of(self.viewer).put("manifests", Path(result.out_dir).name, result.manifest,
                                    source=self)
        self.status.setText(f"Exported {result.n_shapes} shapes in {len(result.manifest)} wells "
                            f"to {result.out_dir}")
        show_info(f"LMD export written to {result.out_dir}")

    def cancel(self, *_):
        """Stop the running export; nothing is written."""
        if self.worker is not None:
            self.worker.quit()
            self.status.setText("Export cancelled; nothing was written.")


def _raise(exc):
    raise exc
