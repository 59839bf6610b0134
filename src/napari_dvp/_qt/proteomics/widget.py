""""Proteins" dock: MS results + LMD manifest -> match table -> paint on tissue, statistics.

The dock coordinates small parts (source, match table, processing form, painting,
statistics, plots); every computation is a core function run through the one JobRunner.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from qtpy.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ...commands._proteomics_args import reading_lines
from ...core.errors import DvpInputError
from ...core.proteomics.analysis import groupings, pending_rows
from ...core.proteomics.genesets import bundled_gene_sets, read_gmt
from ...core.proteomics.matching import read_manifest
from ...core.proteomics.options import ProcessOptions
from ...core.proteomics.readers import read_proteomics
from ...core.proteomics.study import ProteinStudy
from .._common import notify_errors
from .._forms import ParamsForm
from .._jobs import JobRunner
from .._session import session_of
from .._workspace import DvpDock
from .match import MatchBox
from .paint import PaintBox
from .plots import PlotTabs
from .session import MATCHES, SCORES, latest, store  # noqa: F401  (keys, for scripts)
from .source import SourceBox
from .stats import StatsBox


def _section(title: str, *widgets) -> QGroupBox:
    box = QGroupBox(title)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(4, 4, 4, 4)
    for w in widgets:
        lay.addWidget(w)
    return box


class ProteomicsWidget(DvpDock):
    """Match MS runs to LMD samples, paint proteins and pathway scores, compare groups."""

    STEP = "Proteins"
    GUIDE = ("<b>8 Proteins</b> — needs the search engine's protein table and the LMD "
             "manifest; paints proteins and pathway scores on the cells and compares groups. "
             "Next: <i>Project</i>.")

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.data = self.manifest = self.study = self.matching = None
        self.manifest_name, self.manifest_path = "manifest", None
        self.gene_sets = bundled_gene_sets()
        self._pending = False
        self.source = SourceBox()
        self.source.read.connect(self._read)
        self.progress, self.cancel, self.status = QProgressBar(), QPushButton("Cancel"), QLabel()
        self.status.setWordWrap(True)
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.cancel)
        self.match = MatchBox(self.ask_manifest)
        self.match.assigned.connect(self._assign)
        self.processing = ParamsForm(ProcessOptions)
        self.processing.changed.connect(self._process)
        self.plots = PlotTabs()
        self.painting = PaintBox(self.viewer, self._need, self.plots, self.ask_gene_sets)
        self.plots.protein_clicked.connect(self.painting.paint_protein)
        self.stats = StatsBox(self._start, self._need, self.plots, self._inputs)
        self.body.addWidget(_section("1 · MS results", self.source))
        self.body.addLayout(prog)
        self.body.addWidget(self.status)
        self.body.addWidget(_section("2 · Runs → LMD samples", self.match))
        self.body.addWidget(_section("3 · Processing", self.processing.native))
        self.body.addWidget(_section("4 · Paint on tissue", self.painting))
        self.body.addWidget(_section("5 · Statistics", self.stats, self.plots))
        self.runner = JobRunner(self.progress, self.cancel, self.status, busy=[
            self.source, self.match, self.processing.native, self.painting, self.stats])
        # names kept for scripts and the demo
        self.sets, self.protein = self.painting.sets, self.painting.protein
        self.group_a, self.group_b = self.stats.group_a, self.stats.group_b
        session_of(self.viewer).changed.connect(self._from_session)
        self._from_session("proteomics", None)

    # ------------------------------------------------------------------ reading, matching
    def load_table(self, path) -> None:
        """Read the MS results at ``path`` (as "Open MS results…" does)."""
        self.source.path = str(path)
        self._read(str(path), self.source.options())

    def _start(self, func, *args, done, what: str, **kwargs) -> None:
        """Start a job; work asked for meanwhile (a re-processing) runs after it."""
        def finished(result) -> None:
            self.status.setText(f"{what.rstrip('…')}: done.")
            done(result)

        worker = self.runner.start(func, *args, done=finished, what=what, **kwargs)
        worker.finished.connect(self._after_job)  # after the runner's reset

    def _after_job(self, *_) -> None:
        if self._pending:
            self._pending = False
            self._process()

    def _read(self, path: str, options) -> None:
        self._start(read_proteomics, path, **options.read_kwargs(), done=self._on_read,
                          what=f"Reading {Path(path).name}…")

    def _on_read(self, adata) -> None:
        self.data = adata
        self.source.show_lines(reading_lines(adata))
        self._match(keep=True)

    def ask_manifest(self) -> None:
        """Choose a manifest.csv (default: the LMD export of this slide, when there is one)."""
        path, _ = QFileDialog.getOpenFileName(self, "LMD manifest", "", "CSV (*.csv)")
        if path:
            self.load_manifest(path)

    @notify_errors
    def load_manifest(self, path) -> None:
        """Use the manifest at ``path`` and match the runs again."""
        manifest = read_manifest(path)
        self.manifest_path = Path(path)
        self._use_manifest(Path(path).parent.name or Path(path).stem, manifest)

    def _use_manifest(self, name: str, manifest: pd.DataFrame, table=None) -> None:
        self.manifest_name, self.manifest = name, manifest
        self.painting.forget()
        self.match.manifest_label.setText(f"Manifest: <b>{name}</b> ({len(manifest)} samples)")
        self._match(keep=False, table=table)

    def _match(self, keep: bool, table: pd.DataFrame | None = None) -> None:
        """Match runs to samples (keeping hand-made choices when the runs are the same, or
        using a saved match ``table``)."""
        if self.data is None:
            return
        if self.manifest is None:
            rows, runs = pending_rows(self.data.obs_names)
            self.match.show_rows(rows, runs, runs, [])
            self.status.setText("Now open the LMD manifest (or export the LMD plan).")
            return
        old = self.matching.table if keep and self.matching is not None else table
        if old is not None and set(old["run"]) != set(self.data.obs_names):
            old = None
        self.study = None  # until the new data or manifest is processed
        self.matching = ProteinStudy(self.data, self.manifest, gene_sets=self.gene_sets,
                                     table=old)
        self._show_matches()
        self._process()

    def _show_matches(self) -> None:
        rows, tips = self.matching.match_rows()
        self.match.show_rows(rows, self.matching.table["run"].tolist(), tips,
                             self.matching.manifest["sample_id"].tolist())

    @notify_errors
    def _assign(self, run: str, sample_id: str) -> None:
        try:
            self.matching.assign(run, sample_id)
        finally:
            self._show_matches()
        self._process()

    # ------------------------------------------------------------------ processing
    def _process(self, *_) -> None:
        """Apply matches, process and score in the job runner (a fresh study)."""
        if self.matching is None:
            return
        if self.runner.running:
            self._pending = True
            return
        if not self.matching.table["status"].eq("matched").any():
            self.status.setText("No MS run matched a sample: choose the samples in the table.")
            return
        opts = self.processing.params()
        study = dataclasses.replace(self.matching, params=opts.processing_params(),
                                    min_members=opts.min_members, gene_sets=self.gene_sets,
                                    processed=None, scores=None, report=None)
        self._start(study.update, done=self._on_study,
                          what="Matching, processing and scoring…")

    def _on_study(self, study: ProteinStudy) -> None:
        self.study = self.matching = study
        self._show_study()
        store(self.viewer, study, self.manifest_name, self)

    def _show_study(self) -> None:
        """Show the current study (matches, summary, paint and statistics choices)."""
        s = self.matching = self.study
        self._show_matches()
        self.status.setText(s.summary())
        self.painting.set_choices(s.set_choices(), s.gene_names())
        self.stats.set_groupings(groupings(s.processed.obs))

    def ask_gene_sets(self) -> None:
        """Add the sets of a GMT file to the pathway scores."""
        path, _ = QFileDialog.getOpenFileName(self, "Gene sets", "", "GMT (*.gmt)")
        if path:
            self._add_sets(path)

    @notify_errors
    def _add_sets(self, path) -> None:
        self.gene_sets = {**self.gene_sets, **read_gmt(path)}
        self._process()

    # ------------------------------------------------------------------ session
    @notify_errors
    def _from_session(self, slot: str, source) -> None:
        """Follow an LMD export (its manifest) or an opened project (everything)."""
        found = latest(self.viewer)
        if source is self or found is None or slot not in ("manifests", "proteomics"):
            return
        name, manifest, data, table = found
        if slot == "proteomics" and data is not None:
            self.data = data
            self._use_manifest(name, manifest, table)
        elif manifest is not self.manifest:
            self._use_manifest(name, manifest)

    def _need(self) -> ProteinStudy:
        if self.study is None or self.study.processed is None:
            raise DvpInputError("open the MS results and the LMD manifest first, and match "
                                "at least one run")
        return self.study

    def _inputs(self) -> list:
        return [p for p in (self.source.path, self.manifest_path) if p]

    # names kept for scripts and the demo
    def paint_set(self) -> None:
        """Paint the chosen pathway score (as "Paint score" does)."""
        self.painting.paint_set()

    def compare(self) -> None:
        """Run the statistics as chosen (as "Run statistics" does)."""
        self.stats.run()
