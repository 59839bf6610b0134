""""Proteins on tissue" dock: protein results + LMD manifest -> values painted on the cells."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from napari.qt.threading import thread_worker
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
)

from ...core.errors import DvpInputError
from ...core.overlay.proteins import SampleOverlay
from ...core.proteomics.genesets import interferon_genes, read_gmt
from ...core.proteomics.matching import read_manifest
from ...core.proteomics.study import OTHERS, ProteinStudy, load_study
from .._common import labels_layers, notify_errors, show_info
from .._session import session_of
from .._workspace import DvpDock
from .controls import CompareBar, MatchTable, PaintBox, ProcessingBox, button
from .layers import CMAP, painted_values, show_overlay
from .plots import ColorBar, PlotTabs

SCORES, MATCHES = "pathway scores", "protein run matches"


class ProteomicsWidget(DvpDock):
    """Match MS runs to LMD samples, score them and paint the values on the tissue."""

    STEP = "Proteins"
    GUIDE = ("<b>8 Proteins</b> — needs the MS results and the LMD manifest; paints proteins "
             "and pathway scores on the cells. Next: <i>Project</i>.")

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.manifest: pd.DataFrame | None = None
        self.study: ProteinStudy | None = None
        self.manifest_name = "manifest"
        self._table_path = None
        self._overlays: dict = {}
        self._worker = None
        lay = self.body
        row = QHBoxLayout()
        row.addWidget(button("Open protein results…", "DIA-NN, AlphaDIA, Spectronaut, "
                             "MaxQuant, FragPipe or a table of proteins × runs",
                             lambda: self._ask(self.load_table, "Protein results")))
        row.addWidget(button("Open LMD manifest…", "manifest.csv written by the LMD export",
                             lambda: self._ask(self.load_manifest, "LMD manifest")))
        lay.addLayout(row)
        self.info = QLabel("Open the mass-spec protein results and the LMD manifest.")
        self.info.setWordWrap(True)
        lay.addWidget(self.info)
        prog = QHBoxLayout()
        self.progress, self.cancel = QProgressBar(), QPushButton("Cancel")
        self.cancel.clicked.connect(lambda: self._worker and self._worker.quit())
        prog.addWidget(self.progress)
        prog.addWidget(self.cancel)
        lay.addLayout(prog)
        self.matches = MatchTable()
        self.matches.edited.connect(self._on_match_edited)
        lay.addWidget(self.matches)
        self.processing = ProcessingBox()
        self.processing.changed.connect(self._recompute)
        lay.addWidget(self.processing)
        self.painting = PaintBox(self.paint_set, self.paint_protein,
                                 lambda: self._ask(self.add_gene_sets, "Gene sets", "*.gmt"))
        self.cells, self.sets, self.protein = (self.painting.cells, self.painting.sets,
                                               self.painting.protein)
        lay.addWidget(self.painting)
        self.colorbar = ColorBar()
        lay.addWidget(self.colorbar)
        self.hover = QLabel("")
        self.hover.setWordWrap(True)
        lay.addWidget(self.hover)
        self.comparing = CompareBar(self.compare)
        self.group_a, self.group_b = self.comparing.group_a, self.comparing.group_b
        lay.addWidget(self.comparing)
        self.plots = PlotTabs()
        self.plots.protein_clicked.connect(self.paint_protein)
        lay.addWidget(self.plots)
        self.viewer.layers.events.inserted.connect(self._refresh_cells)
        self.viewer.layers.events.removed.connect(self._refresh_cells)
        self.viewer.mouse_move_callbacks.append(self._on_move)
        session_of(self.viewer).changed.connect(self._from_session)
        self._refresh_cells()

    # ------------------------------------------------------------------ loading
    def _ask(self, load, title: str, pattern: str = "*") -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, "", pattern)
        if path:
            load(path)

    @notify_errors
    def load_manifest(self, path) -> None:
        """Read the LMD manifest and (re)match the runs."""
        self.manifest = read_manifest(path)
        self.manifest_name = Path(path).parent.name or Path(path).stem
        self._overlays.clear()
        self.info.setText(f"Manifest: {len(self.manifest)} samples.")
        if self._table_path:
            self.load_table(self._table_path)

    @notify_errors
    def load_table(self, path) -> None:
        """Read the protein table in a worker, then match, process and score."""
        self._table_path = path
        if self.manifest is None:
            self.info.setText("Protein results chosen; now open the LMD manifest.")
            return
        self._worker = thread_worker(load_study, connect={
            "yielded": self._on_progress, "returned": self._on_study,
            "errored": notify_errors(self._raise)})(path, self.manifest, self.processing.params())

    def _raise(self, exc: Exception) -> None:
        raise exc

    def _on_progress(self, msg) -> None:
        done, total, text = msg
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.info.setText(text)

    def _on_study(self, study: ProteinStudy) -> None:
        self.study = study
        self.progress.setValue(self.progress.maximum())
        self._show_study()

    @notify_errors
    def add_gene_sets(self, path) -> None:
        """Add the sets of a GMT file to the list of pathway scores."""
        if self.study is None:
            raise DvpInputError("load the protein results and the manifest first")
        self.study.gene_sets = {**self.study.gene_sets, **read_gmt(path)}
        self._recompute()

    @notify_errors
    def _recompute(self, *_) -> None:
        if self.study is not None:
            self.study.params = self.processing.params()
            self._show_study(self.study.update())

    def _show_study(self, *_) -> None:
        s = self.study
        self.info.setText(s.summary())
        self.matches.show_rows(*s.match_rows())
        self.painting.set_choices(s.set_choices(), s.gene_names())
        self.comparing.set_groups(list(s.groups()), OTHERS)
        self._store()

    def _store(self) -> None:
        """Put the protein table, manifest, scores and run matches in the viewer's session
        (the project saves and autosaves them)."""
        session, s = session_of(self.viewer), self.study
        if session.get("proteomics") is not s.data:
            session.set("proteomics", s.data, source=self)
        if session.get("manifests").get(self.manifest_name) is not s.manifest:
            session.put("manifests", self.manifest_name, s.manifest, source=self)
        session.set("scores", {**session.get("scores"), SCORES: s.scores.scores.copy(),
                               MATCHES: s.table.copy()}, source=self)

    @notify_errors
    def _from_session(self, slot: str, source) -> None:
        """Rebuild the study from a session filled by someone else (an opened project)."""
        session = session_of(self.viewer)
        data, manifests = session.get("proteomics"), session.get("manifests")
        if source is self or slot != "proteomics" or data is None or not manifests:
            return
        self.manifest_name, self.manifest = list(manifests.items())[-1]
        self._overlays.clear()
        self.study = ProteinStudy(data, self.manifest, self.processing.params(),
                                  table=session.get("scores").get(MATCHES)).update()
        self._show_study()

    @notify_errors
    def _on_match_edited(self, row: int, sample_id: str) -> None:
        if self.study is not None:
            self.study.assign(self.study.table["run"].iloc[row], sample_id)
            self._recompute()

    # ------------------------------------------------------------------ painting
    def _refresh_cells(self, *_) -> None:
        self.painting.set_layers([lay.name for lay in labels_layers(self.viewer)])

    def _labels(self):
        name = self.cells.currentText()
        if not name or name not in self.viewer.layers:
            raise DvpInputError("no cells (labels) layer; open or segment the image first")
        return self.viewer.layers[name]

    def _overlay(self, lab) -> list[SampleOverlay]:
        key = (id(lab), id(self.manifest))
        if key not in self._overlays:
            levels = lab.data if lab.multiscale else [lab.data]
            self._overlays[key] = [SampleOverlay(lv, self.manifest) for lv in levels]
        return self._overlays[key]

    @notify_errors
    def paint_set(self, *_) -> None:
        """Paint the chosen pathway score and show its plots."""
        name = self.sets.currentData()
        if self.study is None or name is None:
            raise DvpInputError("load the protein results and the manifest first")
        values = self.study.set_values(name)
        label = f"{self.study.gene_sets[name].label} (z)"
        self.paint(values, label)
        self.plots.show_heatmap(self.study.set_z(name), self.study.processed.obs, label)

    @notify_errors
    def paint_protein(self, query: str) -> None:
        """Paint one protein's z-score (by gene name or protein id)."""
        if self.study is None:
            raise DvpInputError("load the protein results and the manifest first")
        values = self.study.protein(query)
        self.protein.setText(str(values.name))
        self.paint(values, f"{values.name} (z)")

    def paint(self, values: pd.Series, label: str) -> None:
        """Add (or repaint) the overlay layer ``label`` and update legend and bar plot."""
        lab = self._labels()
        _, lim = show_overlay(self.viewer, lab, self._overlay(lab), values, label)
        self.colorbar.show_scale(label, *lim, CMAP, centred=True)
        self.plots.show_bars(values, self.study.processed.obs, label)
        n = int(values.notna().sum())
        show_info(f"painted {label} on the cells of {n} samples")

    def describe(self, position) -> str:
        """Sample, class, region and every overlay's value under a world position."""
        try:
            lab = self._labels()
        except DvpInputError:
            return ""
        cid = lab.get_value(position, world=True)
        cid = cid[1] if isinstance(cid, tuple) else cid
        if not cid or self.manifest is None:
            return ""
        return self._overlay(lab)[0].hover_text(int(cid), painted_values(self.viewer))

    def _on_move(self, viewer, event) -> None:
        self.hover.setText(self.describe(event.position))

    @notify_errors
    def compare(self, *_) -> None:
        """Volcano of group A vs group B; click a dot to paint that protein."""
        if self.study is None:
            raise DvpInputError("load the protein results and the manifest first")
        a, b = self.group_a.currentText(), self.group_b.currentText()
        self.last_comparison = self.study.compare(a, b)
        self.plots.show_volcano(self.last_comparison, f"{a} vs {b}", interferon_genes())
        self.plots.setCurrentWidget(self.plots.volc)
