"""Statistics: grouping, groups A and B (or ANOVA), test, pairing; run (job), save."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ...core.proteomics.analysis import StatsResult, run_stats, save_stats, stats_outputs
from ...core.proteomics.options import StatsOptions
from ...core.proteomics.study import OTHERS, ProteinStudy
from .._common import notify_errors, show_info
from .._forms import ParamsForm
from .plots import PlotTabs
from .source import button


class StatsBox(QWidget):
    """Choose what to compare and how, run the test, show and save the results.

    Parameters
    ----------
    start
        The dock's job starter: ``start(func, *args, done=..., what=...)``.
    study
        Returns the current processed :class:`ProteinStudy` (raises if there is none).
    plots
        Where volcano, PCA and heatmap are drawn.
    inputs
        Returns the input files (never written over by "Save results…").
    """

    def __init__(self, start: Callable, study: Callable[[], ProteinStudy], plots: PlotTabs,
                 inputs: Callable[[], list], parent=None) -> None:
        super().__init__(parent)
        self.start, self.study, self.plots, self.inputs = start, study, plots, inputs
        self.result: StatsResult | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self.group_by = QComboBox()
        self.group_by.setToolTip("Sample annotation that defines the groups (class, region, "
                                 "or any manifest column such as patient)")
        self.group_a, self.group_b = QComboBox(), QComboBox()
        self.group_a.setToolTip("Group A (fold change = A − B, log2)")
        self.group_b.setToolTip("Group B, or all samples not in A")
        pair = QHBoxLayout()
        pair.addWidget(self.group_a, 1)
        pair.addWidget(QLabel("vs"))
        pair.addWidget(self.group_b, 1)
        self.pair_by = QComboBox()
        self.pair_by.setToolTip("Paired t-test only: the annotation that pairs an A sample "
                                "with a B sample (e.g. patient)")
        form.addRow("Group by:", self.group_by)
        form.addRow("Compare:", pair)
        lay.addLayout(form)
        self.form = ParamsForm(StatsOptions)
        self.form.changed.connect(self._test_changed)
        lay.addWidget(self.form.native)
        self.color_by = QComboBox()
        self.color_by.setToolTip("Sample annotation that colours the PCA of the samples "
                                 "(class, region, patient …)")
        form2 = QFormLayout()
        form2.addRow("Pair by:", self.pair_by)
        form2.addRow("Colour PCA by:", self.color_by)
        lay.addLayout(form2)
        row = QHBoxLayout()
        self.run_btn = button("Run statistics", "Test every protein (BH q-values), PCA of the "
                              "samples and a heatmap; click a volcano dot to paint it", self.run)
        self.save_btn = button("Save results…", "Write the results table NAME.csv with "
                               "NAME.meta.json, .pca.csv, .tukey.csv (ANOVA) and the figures "
                               "(.volcano.png, .pca.png, .heatmap.png)", self.save)
        self.save_btn.setEnabled(False)
        row.addWidget(self.run_btn)
        row.addWidget(self.save_btn)
        lay.addLayout(row)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self._groups: Mapping[str, Sequence[str]] = {}
        self.group_by.currentTextChanged.connect(self._show_groups)
        self._test_changed()

    @property
    def test(self) -> str:
        """The chosen test."""
        return self.form.params().test

    def set_groupings(self, groups: Mapping[str, Sequence[str]]) -> None:
        """Offer the groupings (``{annotation: its groups}``), keeping the current one."""
        current = self.group_by.currentText()
        self._groups = dict(groups)
        self.group_by.blockSignals(True)
        self.group_by.clear()
        self.group_by.addItems(list(groups))
        if current in groups:
            self.group_by.setCurrentText(current)
        self.group_by.blockSignals(False)
        for box in (self.pair_by, self.color_by):
            keep = box.currentText()
            box.clear()
            box.addItems(list(groups))
            if keep in groups:
                box.setCurrentText(keep)
        self._show_groups()

    def choice(self) -> dict:
        """Keyword arguments of ``run_stats`` (without the data)."""
        test = self.test
        b = self.group_b.currentText()
        return {"group_by": self.group_by.currentText(),
                "a": None if test == "anova" else self.group_a.currentText() or None,
                "b": None if test == "anova" or b == OTHERS else b, "test": test,
                "pair_by": self.pair_by.currentText() if test == "paired" else None,
                "color_by": self.color_by.currentText() or None}

    def _show_groups(self, *_) -> None:
        names = list(self._groups.get(self.group_by.currentText(), []))
        for box, extra in ((self.group_a, []), (self.group_b, [OTHERS])):
            current = box.currentText()
            box.clear()
            box.addItems(extra + names)
            if current in extra + names:
                box.setCurrentText(current)
        if self.group_b.currentText() == self.group_a.currentText() and len(names) > 1:
            self.group_b.setCurrentText(names[1])

    def _test_changed(self, *_) -> None:
        anova = self.test == "anova"
        self.group_a.setEnabled(not anova)
        self.group_b.setEnabled(not anova)
        self.pair_by.setEnabled(self.test == "paired")

    @notify_errors
    def run(self) -> None:
        """Test every protein, PCA and heatmap in the job runner; then show the plots."""
        self.start(run_stats, self.study().processed, **self.choice(), done=self._done,
                   what="Statistics…")

    def _done(self, result: StatsResult) -> None:
        self.result = result
        self.plots.show_result(result)
        self.summary.setText(result.summary())
        self.save_btn.setEnabled(True)

    @notify_errors
    def save(self) -> None:
        """Write the results table (+ meta, PCA, Tukey) under the output policy."""
        path, _ = QFileDialog.getSaveFileName(self, "Save statistics results", "stats.csv",
                                              "CSV (*.csv)")
        if not path or self.result is None:
            return
        path = path if path.lower().endswith(".csv") else path + ".csv"
        existing = [p.name for p in stats_outputs(path, self.result) if p.exists()]
        overwrite = False
        if existing:
            answer = QMessageBox.question(self, "Overwrite?", f"{', '.join(existing)} already "
                                          "exist(s). Overwrite them?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            overwrite = True
        written = save_stats(path, self.result, inputs=self.inputs(), overwrite=overwrite)
        show_info("wrote " + ", ".join(p.name for p in written))
