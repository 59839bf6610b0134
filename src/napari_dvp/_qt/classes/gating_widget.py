"""Gating dock: marker thresholds on histograms, class rules, live class colours, apply."""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QPushButton

from ...core.cells.columns import CELL_ID, CLASS
from ...core.classes.gating import apply_gating, gate_codes, load_rules, save_gating
from ...core.classes.gating_scheme import GateRule, GatingScheme
from ...core.classes.gating_view import (
    DEFAULT_RULES,
    UNCLASSIFIED,
    class_counts,
    usable_rules,
)
from ...core.classes.overlay import legend_entries
from ...core.errors import DvpInputError, one_line
from .._common import notify_errors, show_info, update_cells
from .._forms import ParamsForm
from .._session import session_of
from .._workspace import DvpDock
from .cells_line import CellsLine
from .colors import Legend, cells_table
from .gating_histogram import MarkerHistogram
from .gating_rules import RulesEditor
from .overlay_layer import ClassOverlay

__all__ = ["GatingWidget"]


class GatingWidget(DvpDock):
    """Coordinates the cells line, the marker histogram, the rules and the class overlay."""

    STEP = "Gating"
    GUIDE = ("<b>5 Gating</b> — needs measured cells. Set a threshold per marker and a rule "
             "per class, then <i>Apply to cells</i>. Next: <i>Classifier</i> (optional) or "
             "<i>LMD</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.overlay = ClassOverlay(napari_viewer)
        self._stored: dict | None = None  # the rules this dock last stored in the session
        lay = self.body
        self.cells = CellsLine(napari_viewer, "Load cells",
                               "Read the cells and their marker intensities again (after a "
                               "new segmentation or measurement)")
        lay.addWidget(self.cells)
        self.form = ParamsForm(GatingScheme, fields=["statistic"])
        lay.addWidget(self.form.native)
        self.histogram = MarkerHistogram()
        lay.addWidget(self.histogram)
        self.rules = RulesEditor()
        lay.addWidget(self.rules)
        self.live = QCheckBox("Live preview: colour the cells on the image")
        self.live.setChecked(True)
        self.live.setToolTip("Recolour the cells while you change a threshold or a rule")
        lay.addWidget(self.live)
        self.legend = Legend()
        lay.addWidget(self.legend)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        row = QHBoxLayout()
        self.apply_btn = QPushButton("Apply to cells")
        self.apply_btn.setToolTip("Write these classes into the cell table (column 'class')")
        self.save_btn = QPushButton("Save rules…")
        self.save_btn.setToolTip("Save rules, colours and thresholds to a JSON file")
        self.load_btn = QPushButton("Load rules…")
        self.load_btn.setToolTip("Load rules saved before (.json) or a text file of lines "
                                 "'Class: marker+ and marker-'")
        for b in (self.apply_btn, self.save_btn, self.load_btn):
            row.addWidget(b)
        lay.addLayout(row)
        lay.addStretch(1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self.preview)
        self.cells.button.clicked.connect(self.load_cells)
        self.form.changed.connect(self._statistic_changed)
        self.histogram.threshold_changed.connect(self._schedule)
        self.rules.changed.connect(self._schedule)
        self.live.toggled.connect(self._schedule)
        self.apply_btn.clicked.connect(self.apply)
        self.save_btn.clicked.connect(self._save_clicked)
        self.load_btn.clicked.connect(self._load_clicked)
        session_of(napari_viewer).changed.connect(self._session_changed)
        try:
            cells_table(napari_viewer)
        except DvpInputError:
            return  # no measured cells yet: "Load cells" once there are
        self.load_cells()

    # ------------------------------------------------------------------ data
    @notify_errors
    def load_cells(self) -> None:
        """Read the cell table: markers, Otsu thresholds where none is set, default rules."""
        _, table = cells_table(self.viewer)
        statistic = self.form.values()["statistic"]
        rules = self.rules.rules() or [GateRule(n, r) for n, r in DEFAULT_RULES]
        markers = self.histogram.set_table(table, statistic, keep=self.histogram.thresholds,
                                           show=GatingScheme(rules).markers()[0])
        if self.rules.table.rowCount() == 0:
            self.rules.set_rules(usable_rules(DEFAULT_RULES, markers))
        self.cells.refresh()
        self._schedule()

    def scheme(self) -> GatingScheme:
        """The rules, thresholds and statistic as shown."""
        return GatingScheme(self.rules.rules(), dict(self.histogram.thresholds),
                            **self.form.values())

    def set_scheme(self, scheme: GatingScheme) -> None:
        """Show ``scheme`` (rules, statistic; its thresholds replace the shown ones)."""
        self.form.set_values({"statistic": scheme.statistic})
        if self.histogram.table is not None:
            self.histogram.set_table(self.histogram.table, scheme.statistic,
                                     keep={**self.histogram.thresholds, **scheme.thresholds})
        else:
            self.histogram.thresholds.update(scheme.thresholds)
        self.rules.set_rules(scheme.rules)

    def _statistic_changed(self, *_) -> None:
        """Mean <-> median: other values per cell, so thresholds start again from Otsu."""
        if self.histogram.table is not None:
            self.histogram.thresholds = {}
            self.load_cells()

    # ------------------------------------------------------------------ classes
    def _schedule(self, *_) -> None:
        if self.live.isChecked():
            self._timer.start()
        else:
            self._timer.stop()  # live preview off: no recolouring, not even a pending one

    def preview(self) -> np.ndarray | None:
        """Colour the cells by the rules (overlay + legend); rule problems go to the status."""
        try:
            layer, table = cells_table(self.viewer)
            scheme = self.scheme()
            codes = gate_codes(table, scheme) if scheme.rules else None
        except DvpInputError as exc:
            self.status.setText(f"<span style='color:#e07020'>{one_line(exc)}</span>")
            return None
        if codes is None:
            self.status.setText("No complete rule yet: give each class a name and a rule.")
            self.legend.set_entries([])
            return None
        colors = [r.color for r in {r.name: r for r in scheme.rules}.values()]
        self.overlay.update(layer, table[CELL_ID].to_numpy(), codes, colors)
        self.legend.set_entries(legend_entries(
            [*scheme.class_names, UNCLASSIFIED], [*colors, (0, 0, 0)],
            class_counts(codes, scheme.class_names)))
        self.status.setText("Preview only — <i>Apply to cells</i> writes these classes.")
        return codes

    @notify_errors
    def apply(self) -> None:
        """Write the classes into the cell table (asks before replacing the classifier's)."""
        layer, table = cells_table(self.viewer)
        scheme = self.scheme()
        if not scheme.rules:
            raise DvpInputError("no complete rule yet: give each class a name and a rule, "
                                "e.g. 'CD8+ and panCK-'")
        classes = apply_gating(table, scheme)
        merged = update_cells(layer, {CELL_ID: table[CELL_ID].to_numpy(),
                                      CLASS: classes.to_numpy()}, step="gating", parent=self)
        if merged is None:
            self.status.setText("Nothing written: the cells keep their earlier classes.")
            return
        self.preview()
        self._stored = scheme.to_dict()
        session_of(self.viewer).put("classes", "gating", self._stored, source=self)
        n = int((classes != "").sum())
        self.status.setText(f"Classes written: {n:,} of {len(classes):,} cells have a class.")
        show_info(f"gating classes written for {len(classes):,} cells")

    # ------------------------------------------------------------------ files and session
    def _save_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save gating rules", "gating.json",
                                              "Gating rules (*.json)")
        if path:
            self._save(path)

    @notify_errors
    def _save(self, path: str) -> None:
        save_gating(path, self.scheme())
        show_info(f"gating rules saved to {path}")

    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load gating rules", "",
                                              "Gating rules (*.json *.txt);;All files (*)")
        if path:
            self._load(path)

    @notify_errors
    def _load(self, path: str) -> None:
        scheme = load_rules(path)
        if not str(path).lower().endswith(".json"):  # a text file has no statistic
            scheme.statistic = self.form.values()["statistic"]
        self.set_scheme(scheme)

    @notify_errors
    def _session_changed(self, slot: str, source) -> None:
        """Rules restored with a project are shown here (other entries leave the dock alone)."""
        if slot != "classes" or source is self:
            return
        saved = session_of(self.viewer).get("classes").get("gating")
        if saved and saved != self._stored:
            self._stored = saved
            self.set_scheme(GatingScheme.from_dict(saved))
