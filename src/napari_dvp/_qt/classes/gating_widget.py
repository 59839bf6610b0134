"""Gating dock widget: marker histograms with draggable thresholds, class rules, live preview."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
)

from ...core.cells.columns import CELL_ID, CLASS
from ...core.classes.gating import (
    GatingScheme,
    default_thresholds,
    gate_codes,
    load_gating,
    save_gating,
)
from ...core.classes.gating_view import UNCLASSIFIED, class_counts, markers_of, usable_rules
from ...core.classes.overlay import legend_entries
from ...core.errors import DvpInputError
from .._common import notify_errors, set_cell_table, show_info
from .._session import session_of
from .._workspace import DvpDock
from .colors import ClassOverlay, Legend, cells_table
from .gating_histogram import GatingHistogramMixin
from .gating_rules import RulesTable

DEFAULT_RULES = (("keratinocyte", "panCK+"), ("CD8 T cell", "CD8+ and panCK-"),
                 ("macrophage", "CD163+ and CD8- and panCK-"))


class GatingWidget(GatingHistogramMixin, DvpDock):
    """Per-marker histogram + threshold, rules table, live class overlay."""

    STEP = "Gating"
    GUIDE = ("<b>5 Gating</b> — needs measured cells; sort them into classes by marker "
             "thresholds. Next: <i>Classifier</i> or <i>LMD</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.table = None
        self.labels_layer = None
        self.thresholds: dict[str, float] = {}
        self.overlay = ClassOverlay(napari_viewer)
        lay = self.body
        row = QHBoxLayout()
        self.reload_btn = QPushButton("Load cells")
        self.reload_btn.setToolTip("Read the measured cells of the newest segmentation")
        self.marker = QComboBox()
        self.marker.setToolTip("Marker whose per-cell mean intensity is shown")
        row.addWidget(self.reload_btn)
        row.addWidget(QLabel("Marker:"))
        row.addWidget(self.marker, 1)
        lay.addLayout(row)
        self.figure = Figure(figsize=(4, 2.2), tight_layout=True)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setToolTip("Drag the red line (or click) to set the threshold: cells to "
                               "the right are positive for the marker")
        self.ax = self.figure.add_subplot(111)
        self.line = None
        lay.addWidget(self.canvas)
        row = QHBoxLayout()
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(3)
        self.spin.setRange(-1e12, 1e12)
        self.auto_btn = QPushButton("Auto (Otsu)")
        self.auto_btn.setToolTip("Threshold between the two humps of the histogram")
        row.addWidget(QLabel("Threshold:"))
        row.addWidget(self.spin, 1)
        row.addWidget(self.auto_btn)
        lay.addLayout(row)
        lay.addWidget(QLabel("Classes (first matching rule wins; e.g. 'CD8+ and panCK-'):"))
        self.rules = RulesTable()
        lay.addWidget(self.rules)
        row = QHBoxLayout()
        self.add_btn, self.remove_btn = QPushButton("Add class"), QPushButton("Remove class")
        row.addWidget(self.add_btn)
        row.addWidget(self.remove_btn)
        lay.addLayout(row)
        self.live = QCheckBox("Live preview on the image")
        self.live.setChecked(True)
        lay.addWidget(self.live)
        self.legend = Legend()
        lay.addWidget(self.legend)
        row = QHBoxLayout()
        self.apply_btn = QPushButton("Apply to cells")
        self.apply_btn.setToolTip("Write the classes into the cell table")
        self.save_btn, self.load_btn = QPushButton("Save rules…"), QPushButton("Load rules…")
        for b in (self.apply_btn, self.save_btn, self.load_btn):
            row.addWidget(b)
        lay.addLayout(row)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self.preview)
        self._dragging = False
        self.reload_btn.clicked.connect(self.load_cells)
        self.marker.currentTextChanged.connect(self._draw_histogram)
        self.spin.valueChanged.connect(self._spin_changed)
        self.auto_btn.clicked.connect(self._auto)
        self.add_btn.clicked.connect(lambda: self.add_rule(f"class {self.rules.rowCount() + 1}",
                                                           ""))
        self.remove_btn.clicked.connect(lambda: self.rules.removeRow(self.rules.currentRow()))
        self.rules.itemChanged.connect(lambda *_: self._schedule())
        self.apply_btn.clicked.connect(self.apply)
        self.save_btn.clicked.connect(self._save_clicked)
        self.load_btn.clicked.connect(self._load_clicked)
        for ev in ("button_press_event", "motion_notify_event", "button_release_event"):
            self.canvas.mpl_connect(ev, self._on_mouse)
        try:
            cells_table(napari_viewer)
        except DvpInputError:
            return
        self.load_cells()

    # ------------------------------------------------------------------ data
    @notify_errors
    def load_cells(self) -> None:
        """Read the cell table; list markers; start from Otsu thresholds and default rules."""
        self.labels_layer, self.table = cells_table(self.viewer)
        markers = markers_of(self.table)
        self.thresholds = {**default_thresholds(self.table, markers), **{
            k: v for k, v in self.thresholds.items() if k in markers}}
        if self.rules.rowCount() == 0:
            for name, rule in usable_rules(DEFAULT_RULES, markers):
                self.add_rule(name, rule)
        self.marker.blockSignals(True)
        self.marker.clear()
        self.marker.addItems(markers)
        self.marker.blockSignals(False)
        self._draw_histogram(self.marker.currentText())
        self._schedule()

    def add_rule(self, name: str, rule: str, color=None) -> None:
        """Append a class rule row."""
        self.rules.add(name, rule, color)
        self._schedule()

    def scheme(self) -> GatingScheme:
        """The rules and thresholds as shown."""
        return GatingScheme(self.rules.gate_rules(), dict(self.thresholds))

    # ------------------------------------------------------------------ classes
    def _schedule(self) -> None:
        if self.live.isChecked():
            self._timer.start()

    @notify_errors
    def preview(self) -> np.ndarray | None:
        """Colour the cells by the current rules (overlay layer + legend)."""
        if self.table is None:
            return None
        s = self.scheme()
        if not s.rules:
            return None
        codes = gate_codes(self.table, s)
        colors = [r.color for r in {r.name: r for r in s.rules}.values()]
        self.overlay.update(self.labels_layer, self.table[CELL_ID].to_numpy(), codes, colors)
        self.legend.set_entries(legend_entries(
            [*s.class_names, UNCLASSIFIED], [*colors, (0, 0, 0)],
            class_counts(codes, s.class_names)))
        return codes

    @notify_errors
    def apply(self) -> None:
        """Write the class column into the cell table."""
        codes = self.preview()
        if codes is None:
            return
        names = np.array(["", *self.scheme().class_names], dtype=object)
        _, table = cells_table(self.viewer)
        table[CLASS] = names[codes]
        set_cell_table(self.labels_layer, table)
        self.table = table
        session_of(self.viewer).put("classes", "gating", self.scheme().to_dict(), source=self)
        show_info(f"classes written for {len(table)} cells")

    @notify_errors
    def save(self, path: str) -> None:
        """Save rules and thresholds (JSON)."""
        save_gating(path, self.scheme())

    @notify_errors
    def load(self, path: str) -> None:
        """Load rules and thresholds (JSON)."""
        s = load_gating(path)
        self.rules.setRowCount(0)
        for r in s.rules:
            self.add_rule(r.name, r.expr, r.color)
        self.thresholds.update(s.thresholds)
        self._draw_histogram(self.marker.currentText())
        self._schedule()

    def _save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save gating", "gating.json", "JSON (*.json)")
        if path:
            self.save(path)

    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load gating", "", "JSON (*.json)")
        if path:
            self.load(path)
