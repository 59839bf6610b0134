"""Cell classifier dock widget: mark example cells with number keys; a random forest learns."""

from __future__ import annotations

import numpy as np
import pandas as pd
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
)

from ...core.cells.columns import CELL_ID, CLASS, COL, ROW
from ...core.classes.classifier import CellClassifier, load_classifier, save_classifier
from ...core.classes.overlay import (
    DEFAULT_CLASS_COLORS,
    class_codes,
    class_color,
    class_region_matrix,
    legend_entries,
)
from ...core.errors import DvpInputError
from .._common import notify_errors, set_cell_table, show_info
from .._session import session_of
from .._workspace import DvpDock
from .colors import ClassList, ClassOverlay, Legend, cells_table, fill_table, hex_of

EXAMPLES = "classifier examples"
THREAD_ABOVE = 20_000  #: cells; bigger tables retrain in a worker thread


class ClassifierWidget(DvpDock):
    """Classes with keys 1-9, example cells, live random-forest predictions."""

    STEP = "Classifier"
    GUIDE = ("<b>6 Classifier</b> — needs measured cells; click examples, the forest "
             "classifies the rest. Next: <i>LMD</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.examples: dict[int, str] = {}
        self.classifier: CellClassifier | None = None
        self.overlay = ClassOverlay(napari_viewer)
        self._worker = None
        lay = self.body
        help_ = QLabel("Point at a cell and press its class number (1-9) to mark it as an "
                       "example; 0 removes the mark. The classifier retrains after each mark.")
        help_.setWordWrap(True)
        lay.addWidget(help_)
        self.classes = ClassList(list(DEFAULT_CLASS_COLORS.items()), key_column=True)
        self.classes.setMaximumHeight(170)
        lay.addWidget(self.classes)
        row = QHBoxLayout()
        self.add_btn, self.remove_btn = QPushButton("Add class"), QPushButton("Remove class")
        row.addWidget(self.add_btn)
        row.addWidget(self.remove_btn)
        lay.addLayout(row)
        self.status = QLabel("No examples yet.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.legend = Legend()
        lay.addWidget(self.legend)
        lay.addWidget(QLabel("Cells per class × region:"))
        self.summary = QTableWidget(0, 0)
        lay.addWidget(self.summary)
        row = QHBoxLayout()
        self.save_btn = QPushButton("Save classifier…")
        self.load_btn = QPushButton("Load classifier…")
        self.clear_btn = QPushButton("Clear examples")
        for b in (self.save_btn, self.load_btn, self.clear_btn):
            row.addWidget(b)
        lay.addLayout(row)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.retrain)
        self.add_btn.clicked.connect(self._add_class)
        self.remove_btn.clicked.connect(self.classes.remove_selected)
        self.save_btn.clicked.connect(self._save_clicked)
        self.load_btn.clicked.connect(self._load_clicked)
        self.clear_btn.clicked.connect(self.clear_examples)
        # layers bind 1-6 to their modes (and win over the viewer): bind on every layer
        self._bind(self.viewer)
        for layer in self.viewer.layers:
            self._bind(layer)
        self.viewer.layers.events.inserted.connect(lambda e: self._bind(e.value))

    def _bind(self, target) -> None:
        """Number keys 0-9 mark the cell under the cursor (overrides layer mode keys)."""
        for k in range(10):
            target.bind_key(str(k), self._key_handler(k), overwrite=True)

    def _add_class(self) -> None:
        n = self.classes.rowCount()
        self.classes.add(f"class {n + 1}", class_color(f"class {n + 1}", n))

    def _key_handler(self, k: int):
        def handler(viewer):
            self.mark_cell_under_cursor(k)

        handler.__doc__ = f"napari-dvp: mark the cell under the cursor as class {k}"
        return handler

    # ------------------------------------------------------------------ examples
    @notify_errors
    def mark_cell_under_cursor(self, key: int) -> None:
        """Mark the cell under the mouse as class number ``key`` (0: unmark)."""
        layer, _ = cells_table(self.viewer)
        value = layer.get_value(self.viewer.cursor.position, world=True)
        cid = int(value) if value is not None and np.isscalar(value) else 0
        if cid <= 0:
            self.status.setText("No cell under the mouse pointer.")
            return
        names = self.classes.names()
        if key == 0:
            self.examples.pop(cid, None)
        elif key <= len(names):
            self.examples[cid] = names[key - 1]
        else:
            raise DvpInputError(f"no class number {key}; add classes to the list first")
        self._show_examples()
        self._timer.start()

    def clear_examples(self) -> None:
        """Forget every example."""
        self.examples.clear()
        self._show_examples()

    def _show_examples(self) -> None:
        layer, table = cells_table(self.viewer)
        t = table.set_index(CELL_ID)
        ids = [c for c in self.examples if c in t.index]
        pts = t.loc[ids, [ROW, COL]].to_numpy() if ids else np.zeros((0, 2))
        cmap = self.classes.color_map()
        cols = [hex_of(cmap.get(self.examples[c], (255, 255, 255))) for c in ids] or "white"
        feats = pd.DataFrame({"cell_id": ids, "class": [self.examples[c] for c in ids]})
        if EXAMPLES in self.viewer.layers:
            pl = self.viewer.layers[EXAMPLES]
            pl.data = pts
            pl.features = feats
            pl.border_color = cols
        else:
            self.viewer.add_points(pts, name=EXAMPLES, features=feats, size=8,
                                   face_color="transparent", border_color=cols,
                                   border_width=0.3, scale=layer.scale[-2:], units=layer.units[-2:],
                                   translate=layer.translate[-2:])
            self.viewer.layers.selection.active = layer
        counts = pd.Series(list(self.examples.values()), dtype=object).value_counts()
        self.status.setText("Examples: " + (", ".join(f"{k} {v}" for k, v in counts.items())
                                            or "none"))

    # ------------------------------------------------------------------ training
    @notify_errors
    def retrain(self) -> None:
        """Train on the examples and predict every cell (in a thread for big tables)."""
        layer, table = cells_table(self.viewer)
        if len(set(self.examples.values())) < 2:
            self.status.setText(self.status.text() + " — mark cells of at least two classes.")
            return
        examples = dict(self.examples)
        if len(table) <= THREAD_ABOVE:
            self._show(layer, table, *_train_predict(table, examples))
            return
        from napari.qt.threading import thread_worker

        if self._worker is not None:
            self._worker.quit()
        worker = thread_worker(_train_predict)(table, examples)
        # quit() cannot stop a running fit: drop results of a superseded retraining
        worker.returned.connect(
            lambda res, w=worker: self._show(layer, table, *res) if w is self._worker else None)
        worker.errored.connect(notify_errors(_raise))
        self._worker = worker
        worker.start()

    def _show(self, layer, table: pd.DataFrame, clf: CellClassifier, pred: pd.DataFrame) -> None:
        self.classifier = clf
        session_of(self.viewer).set("classifier", clf, source=self)
        old = [c for c in table.columns if c.startswith("prob_")]
        table = table.drop(columns=old)
        for c in pred.columns:
            table[c] = pred[c].to_numpy()
        set_cell_table(layer, table)
        self._paint(layer, table)
        self.status.setText(self.status.text().split(" — ")[0] +
                            f" — trained on {clf.n_examples} cells; predicted {len(table)}.")

    def _paint(self, layer, table: pd.DataFrame) -> None:
        for c in dict.fromkeys(table[CLASS]):
            if c and c not in self.classes.names():
                self.classes.add(c, class_color(c, self.classes.rowCount()))
        names, colors = self.classes.names(), self.classes.colors()
        codes = class_codes(table[CLASS], names)
        self.overlay.update(layer, table[CELL_ID].to_numpy(), codes, colors)
        counts = table[CLASS].value_counts().to_dict()
        self.legend.set_entries(legend_entries(names, colors, counts))
        fill_table(self.summary, class_region_matrix(table).reset_index())

    # ------------------------------------------------------------------ files
    @notify_errors
    def save(self, path: str) -> None:
        """Save the trained classifier."""
        if self.classifier is None:
            raise DvpInputError("nothing to save yet: mark example cells first")
        save_classifier(path, self.classifier)
        show_info(f"classifier saved to {path}")

    @notify_errors
    def load(self, path: str) -> None:
        """Load a classifier (checked against this cell table) and predict every cell."""
        layer, table = cells_table(self.viewer)
        clf = load_classifier(path, table)
        self._show(layer, table, clf, clf.predict(table))
        show_info(f"classifier from {path}: {', '.join(clf.classes)}")

    def _save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save classifier", "classifier.joblib",
                                              "Classifier (*.joblib)")
        if path:
            self.save(path)

    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load classifier", "",
                                              "Classifier (*.joblib)")
        if path:
            self.load(path)


def _train_predict(table: pd.DataFrame, examples: dict[int, str]):
    clf = CellClassifier().train(table, examples)
    return clf, clf.predict(table)


def _raise(exc: BaseException) -> None:
    raise exc
