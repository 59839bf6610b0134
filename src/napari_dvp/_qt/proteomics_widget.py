""""Proteins on tissue" dock: protein results + LMD manifest -> values painted on the cells."""

from __future__ import annotations

import pandas as pd
from napari.qt.threading import thread_worker
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import DvpInputError
from ..core.protein_overlay import SampleOverlay, symmetric_limits
from ..core.proteomics.genesets import interferon_genes, read_gmt
from ..core.proteomics.matching import read_manifest
from ..core.proteomics.processing import ProcessingParams
from ..core.proteomics.readers import read_proteomics, run_label
from ..core.proteomics.study import OTHERS, ProteinStudy
from ._common import labels_layers, notify_errors, show_info
from .proteomics_plots import ColorBar, PlotTabs

CMAP = "RdBu_r"


def _button(text: str, tip: str, slot) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


class ProteomicsWidget(QWidget):
    """Match MS runs to LMD samples, score them and paint the values on the tissue."""

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.manifest: pd.DataFrame | None = None
        self.study: ProteinStudy | None = None
        self._table_path = None
        self._overlays: dict = {}
        self._worker = None
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(_button("Open protein results…", "DIA-NN, AlphaDIA, Spectronaut, "
                              "MaxQuant, FragPipe or a table of proteins × runs",
                              lambda: self._ask(self.load_table, "Protein results")))
        row.addWidget(_button("Open LMD manifest…", "manifest.csv written by the LMD export",
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
        self.matches = QTableWidget(0, 5)
        self.matches.setHorizontalHeaderLabels(["MS run", "sample", "well", "rule", "status"])
        self.matches.setToolTip("Which MS run belongs to which LMD sample. Type a sample id "
                                "in the 'sample' column to correct a match (empty = none).")
        self.matches.setMaximumHeight(150)
        self.matches.itemChanged.connect(self._on_match_edited)
        lay.addWidget(self.matches)
        form = QFormLayout()
        self.normalise = QCheckBox("median normalisation")
        self.normalise.setChecked(True)
        self.min_valid = QSpinBox()
        self.min_valid.setRange(0, 100)
        self.min_valid.setValue(50)
        self.min_valid.setSuffix(" % of samples")
        self.impute = QCheckBox("fill missing values (imputed, marked)")
        for w in (self.normalise, self.impute):
            w.toggled.connect(self._recompute)
        self.min_valid.editingFinished.connect(self._recompute)
        form.addRow("Processing:", self.normalise)
        form.addRow("Keep proteins measured in", self.min_valid)
        form.addRow("", self.impute)
        self.cells = QComboBox()
        self.cells.setToolTip("The cell outlines (labels layer) whose cut cells are painted")
        form.addRow("Cells layer:", self.cells)
        self.sets = QComboBox()
        self.sets.setToolTip("Pathway scores: mean z-score of the set's proteins per sample")
        form.addRow("Pathway score:", self.sets)
        self.protein = QLineEdit()
        self.protein.setPlaceholderText("gene name, e.g. STAT1")
        form.addRow("Protein:", self.protein)
        lay.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(_button("Paint score", "Colour every cut cell by its sample's score",
                              self.paint_set))
        row.addWidget(_button("Paint protein", "Colour every cut cell by the protein's z-score",
                              lambda: self.paint_protein(self.protein.text())))
        row.addWidget(_button("Add gene sets…", "Your own gene sets (GMT file)",
                              lambda: self._ask(self.add_gene_sets, "Gene sets", "*.gmt")))
        lay.addLayout(row)
        self.colorbar = ColorBar()
        lay.addWidget(self.colorbar)
        self.hover = QLabel("")
        self.hover.setWordWrap(True)
        lay.addWidget(self.hover)
        grp = QHBoxLayout()
        self.group_a, self.group_b = QComboBox(), QComboBox()
        grp.addWidget(self.group_a)
        grp.addWidget(QLabel("vs"))
        grp.addWidget(self.group_b)
        grp.addWidget(_button("Compare", "Volcano plot: Welch t-test, BH-adjusted",
                              self.compare))
        lay.addLayout(grp)
        self.plots = PlotTabs()
        self.plots.protein_clicked.connect(self.paint_protein)
        lay.addWidget(self.plots)
        self.viewer.layers.events.inserted.connect(self._refresh_cells)
        self.viewer.layers.events.removed.connect(self._refresh_cells)
        self.viewer.mouse_move_callbacks.append(self._on_move)
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
        manifest, params = self.manifest, self._params()

        @thread_worker(connect={"yielded": self._on_progress, "returned": self._on_study,
                                "errored": notify_errors(self._raise)})
        def job():
            yield 0, 3, "reading the protein table…"
            data = read_proteomics(path)
            yield 1, 3, "matching runs to samples…"
            study = ProteinStudy(data, manifest, params)
            yield 2, 3, "processing and scoring…"
            return study.update()

        self._worker = job()

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

    def _params(self) -> ProcessingParams:
        return ProcessingParams(normalise="median" if self.normalise.isChecked() else "none",
                                min_valid=self.min_valid.value() / 100,
                                impute=self.impute.isChecked())

    @notify_errors
    def _recompute(self, *_) -> None:
        if self.study is not None:
            self.study.params = self._params()
            self._show_study(self.study.update())

    def _show_study(self, *_) -> None:
        s, p = self.study, self.study.processed
        self.info.setText(" · ".join(s.report.lines()) + f" · {p.n_vars} proteins kept"
                          + (f", {int(p.layers['imputed'].sum())} values imputed"
                             if s.params.impute else ""))
        self.matches.blockSignals(True)
        self.matches.setRowCount(len(s.table))
        for i, r in enumerate(s.table.itertuples()):
            for j, v in enumerate((run_label(r.run), r.sample_id, r.well, r.rule, r.status)):
                it = QTableWidgetItem(str(v))
                if j != 1:
                    it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEditable)
                it.setToolTip(r.reason or r.run)
                self.matches.setItem(i, j, it)
        self.matches.blockSignals(False)
        cov = s.scores.coverage
        self.sets.clear()
        for r in cov.itertuples():
            self.sets.addItem(f"{r.label} ({r.n_found}/{r.n_in_set} genes)"
                              + ("" if r.scored else " – not scored"), r.set)
        genes = sorted(set(p.var["gene"]) - {""})
        self.protein.setCompleter(QCompleter(genes, self))
        self.protein.completer().setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        groups = list(s.groups())
        for box, extra in ((self.group_a, []), (self.group_b, [OTHERS])):
            box.clear()
            box.addItems(extra + groups)

    @notify_errors
    def _on_match_edited(self, item: QTableWidgetItem) -> None:
        if item.column() == 1 and self.study is not None:
            self.study.assign(self.study.table["run"].iloc[item.row()], item.text().strip())
            self._recompute()

    # ------------------------------------------------------------------ painting
    def _refresh_cells(self, *_) -> None:
        current = self.cells.currentText()
        self.cells.clear()
        self.cells.addItems([lay.name for lay in labels_layers(self.viewer)])
        if current:
            self.cells.setCurrentText(current)

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
        ovs = self._overlay(lab)
        data = [ov.paint(values) for ov in ovs]
        lim = symmetric_limits(values)
        if label in self.viewer.layers:
            layer = self.viewer.layers[label]
            layer.data = data if lab.multiscale else data[0]
            layer.contrast_limits = lim
        else:
            layer = self.viewer.add_image(
                data if lab.multiscale else data[0], name=label, colormap=CMAP,
                contrast_limits=lim, scale=lab.scale, translate=lab.translate,
                multiscale=lab.multiscale, opacity=0.9, blending="translucent",
                units=lab.units)
        layer.metadata["dvp_sample_values"] = values.to_dict()
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
        info = self._overlay(lab)[0].describe(int(cid))
        if info is None:
            return f"cell {cid}: not cut"
        parts = [f"sample {info['sample_id']}", info["class"], info["region"]]
        for layer in self.viewer.layers:
            vals = layer.metadata.get("dvp_sample_values")
            if vals is not None:
                v = vals.get(info["sample_id"], float("nan"))
                parts.append(f"{layer.name} = {v:.2f}")
        return " · ".join(parts)

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
