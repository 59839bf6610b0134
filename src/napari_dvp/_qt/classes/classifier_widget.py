"""Classifier dock: mark example cells, a random forest classifies the rest, apply to the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
)

from ...core.cells.columns import CELL_ID, CLASS
from ...core.classes.classifier import (
    CellClassifier,
    is_executable_payload,
    load_classifier,
    save_classifier,
)
from ...core.classes.overlay import (
    DEFAULT_CLASS_COLORS,
    class_codes,
    class_color,
    class_region_summary,
    legend_entries,
)
from ...core.classes.training import apply_columns, predict_steps, train_and_predict
from ...core.errors import DvpInputError
from ...core.limits import check_input_file
from .._common import notify_errors, show_info, show_warning, update_cells
from .._jobs import JobRunner
from .._session import session_of
from .._workspace import DvpDock
from .cells_line import CellsLine
from .colors import Legend, cells_table, fill_table
from .examples import EXAMPLES, ExamplePicker
from .overlay_layer import ClassOverlay

__all__ = ["EXAMPLES", "ClassifierWidget"]

FILES = "Classifier (*.npz);;Old pickle classifier (*.joblib);;All files (*)"


class ClassifierWidget(DvpDock):
    """Coordinates the example picker, the training job, the class overlay and the summary."""

    STEP = "Classifier"
    GUIDE = ("<b>6 Classifier</b> — needs measured cells. Mark a few typical cells per class; "
             "a random forest classifies every cell; <i>Apply to cells</i> writes the classes. "
             "Next: <i>LMD</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.classifier: CellClassifier | None = None
        self.prediction: pd.DataFrame | None = None  #: cell_id, class, probabilities
        self._pending = False
        self.overlay = ClassOverlay(napari_viewer)
        lay = self.body
        self.cells = CellsLine(napari_viewer)
        lay.addWidget(self.cells)
        self.picker = ExamplePicker(napari_viewer, lambda: cells_table(self.viewer),
                                    list(DEFAULT_CLASS_COLORS.items()))
        lay.addWidget(self.picker)
        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop the training or classification; nothing is changed")
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_btn)
        lay.addLayout(row)
        self.status = QLabel("No classifier yet.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.legend = Legend()
        lay.addWidget(self.legend)
        lay.addWidget(QLabel("Cells per class (rows) and tissue region (columns):"))
        self.summary = QTableWidget(0, 0)
        self.summary.setMaximumHeight(160)
        lay.addWidget(self.summary)
        row = QHBoxLayout()
        self.apply_btn = QPushButton("Apply to cells")
        self.apply_btn.setToolTip("Write the predicted classes and probabilities into the "
                                  "cell table")
        self.save_btn = QPushButton("Save classifier…")
        self.save_btn.setToolTip("Keep the trained classifier, for other slides or "
                                 "'napari-dvp classify --classifier'")
        self.load_btn = QPushButton("Load classifier…")
        self.load_btn.setToolTip("Classify these cells with a classifier saved before")
        for b in (self.apply_btn, self.save_btn, self.load_btn):
            row.addWidget(b)
        lay.addLayout(row)
        lay.addStretch(1)
        self.runner = JobRunner(self.progress, self.cancel_btn, self.status,
                                busy=[self.apply_btn, self.save_btn, self.load_btn])
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.retrain)
        self.picker.changed.connect(self._timer.start)
        self.cancel_btn.clicked.connect(self._cancelled)
        self.apply_btn.clicked.connect(self.apply)
        self.save_btn.clicked.connect(self._save_clicked)
        self.load_btn.clicked.connect(self._load_clicked)
        session_of(napari_viewer).changed.connect(self._session_changed)

    # ------------------------------------------------------------------ training
    @notify_errors
    def retrain(self) -> None:
        """Train on the examples and classify every cell (a job: progress and Cancel)."""
        if self.runner.running:
            self._pending = True  # train again with the new marks when this job ends
            return
        examples = dict(self.picker.examples)
        if len(set(examples.values())) < 2:
            self.status.setText("Mark cells of at least two classes to train the classifier.")
            return
        layer, table = cells_table(self.viewer)
        worker = self.runner.start(train_and_predict, table, examples, what="Training…",
                                   done=lambda res: self._show(layer, table, *res))
        worker.finished.connect(self._job_ended)

    def _job_ended(self, *_) -> None:
        if self._pending:
            self._pending = False
            self._timer.start()

    def _cancelled(self, *_) -> None:
        self._pending = False

    def _show(self, layer, table: pd.DataFrame, clf: CellClassifier, pred: pd.DataFrame,
              what: str | None = None) -> None:
        """Preview the classes of ``pred`` (overlay, legend, class × region table)."""
        self.classifier, self.prediction = clf, pred
        session_of(self.viewer).set("classifier", clf, source=self)
        for name in dict.fromkeys(pred[CLASS]):
            if name and name not in self.picker.classes.names():
                self.picker.classes.add(name, class_color(name, self.picker.classes.rowCount()))
        names, colors = self.picker.classes.names(), self.picker.classes.colors()
        self.overlay.update(layer, pred[CELL_ID].to_numpy(), class_codes(pred[CLASS], names),
                            colors)
        self.legend.set_entries(legend_entries(names, colors, pred[CLASS].value_counts()))
        preview = table.assign(**{CLASS: pred[CLASS].to_numpy()})
        fill_table(self.summary, class_region_summary(preview))
        what = what or f"trained on {clf.n_examples} example cells"
        self.status.setText(f"Classifier {what}; {len(pred):,} cells classified. Preview only "
                            "— <i>Apply to cells</i> writes the classes.")

    # ------------------------------------------------------------------ apply
    @notify_errors
    def apply(self) -> None:
        """Write the classes into the cell table (asks before replacing gating classes)."""
        if self.classifier is None:
            raise DvpInputError("no classifier yet: mark example cells of two classes, or "
                                "load a classifier")
        layer, table = cells_table(self.viewer)
        pred = self.prediction
        if pred is not None and np.array_equal(pred[CELL_ID].to_numpy(),
                                               table[CELL_ID].to_numpy()):
            self._write(layer, table, pred)
            return
        self.runner.start(predict_steps, self.classifier, table, what="Classifying…",
                          done=lambda p: self._write(layer, table, p))

    def _write(self, layer, table: pd.DataFrame, pred: pd.DataFrame) -> None:
        merged = update_cells(layer, apply_columns(table, pred), step="classifier", parent=self)
        if merged is None:
            self.status.setText("Nothing written: the cells keep their earlier classes.")
            return
        self.prediction = pred
        self.status.setText(f"Classes written for {len(pred):,} cells (column 'class', "
                            "with 'class_probability' and one 'prob_<class>' per class).")
        show_info(f"classifier classes written for {len(pred):,} cells")

    # ------------------------------------------------------------------ files and session
    @notify_errors
    def _save_clicked(self) -> None:
        if self.classifier is None:
            raise DvpInputError("nothing to save yet: mark example cells of two classes first")
        path, _ = QFileDialog.getSaveFileName(self, "Save classifier", "classifier.npz", FILES)
        if path:
            save_classifier(path, self.classifier)
            show_info(f"classifier saved to {path}")

    @notify_errors
    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load classifier", "", FILES)
        if not path:
            return
        layer, table = cells_table(self.viewer)
        data = check_input_file(path, "classifier file").read_bytes()
        if not data.startswith(b"PK\x03\x04") and is_executable_payload(data):
            answer = QMessageBox.question(
                self, "Open an old classifier?",
                f"{path.rsplit('/', 1)[-1]} is an old pickle (.joblib) classifier. Pickles can "
                "run any program when opened. Open it only if you or your lab made it. Open it?")
            if answer != QMessageBox.StandardButton.Yes:
                show_info("classifier not opened")
                return
            clf = load_classifier(path, table, trust=True)
            show_warning("old pickle classifier opened; save it again to get a safe .npz file")
        else:
            clf = load_classifier(path, table)
        what = f"from {path.rsplit('/', 1)[-1]} ({', '.join(clf.classes)})"
        self.runner.start(predict_steps, clf, table, what="Classifying…",
                          done=lambda p: self._show(layer, table, clf, p, what))

    def _session_changed(self, slot: str, source) -> None:
        """A classifier restored with a project can be applied or saved from here."""
        if slot == "classifier" and source is not self:
            self.classifier = session_of(self.viewer).get("classifier")
            self.prediction = None
