""""Study" dock: many slides -> one plate plan -> one LMD file per slide -> one MS matrix ->
every slide painted with one scale -> condition vs condition per cell type."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
)

from ...core.errors import DvpInputError
from ...core.study.params import StudyPlanParams
from .._common import notify_errors, show_info
from .._forms import ParamsForm
from .._jobs import JobRunner
from .._workspace import DvpDock
from .jobs import export_job, load_job, write_into
from .results import ComparePanel, FigureTabs
from .slides import SlidesPanel

PLAN_FIELDS = ("groups", "balance", "replicates", "mode", "plate", "layout", "blanks", "qc",
               "skip_outer")


def _button(text: str, tip: str, slot) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(slot)
    return b


class StudyWidget(DvpDock):
    """A study of many slides: plan, LMD per slide, MS matrix, maps, comparisons."""

    STEP = "Study"
    GUIDE = ("<b>Study</b> — many slides (patients, conditions), each a saved project: one "
             "plate plan, one LMD file per slide, one MS matrix painted on every slide, "
             "condition vs condition per cell type.")

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.study = self.plan = self.manifest = self.ps = self.last = None
        lay = self.body
        row = QHBoxLayout()
        row.addWidget(_button("New study…", "choose a new, empty folder for the study",
                              self.new_study))
        row.addWidget(_button("Open study…", "choose a study folder (holding study.json)",
                              self.open_study))
        lay.addLayout(row)
        self.info = QLabel("Create or open a study.")
        self.info.setWordWrap(True)
        lay.addWidget(self.info)
        self.slides = SlidesPanel(self.viewer, lambda: self.study, self.refresh)
        lay.addWidget(self.slides)
        self.form = ParamsForm(StudyPlanParams, fields=PLAN_FIELDS)
        lay.addWidget(self.form.native)
        row = QHBoxLayout()
        self.plan_btn = _button("Plan study", "samples per slide, class and region, laid out "
                                "on plates so position does not confound condition",
                                self.plan_study)
        self.export_btn = _button("Export LMD files", "one LMD file per slide (its own "
                                  "calibration), one manifest for the study", self.export)
        row.addWidget(self.plan_btn)
        row.addWidget(self.export_btn)
        lay.addLayout(row)
        self.load_btn = _button("Load MS matrix…", "protein table of the study's runs (DIA-NN, "
                                "Spectronaut, …): matched to the samples, scored",
                                self.ask_matrix)
        lay.addWidget(self.load_btn)
        row = QHBoxLayout()
        self.sets, self.protein = QComboBox(), QLineEdit()
        self.protein.setPlaceholderText("or a protein (gene)")
        self.paint_btn = _button("Paint every slide", "the chosen score or protein on every "
                                 "slide with one colour scale", self.paint)
        row.addWidget(self.sets, 2)
        row.addWidget(self.protein, 1)
        row.addWidget(self.paint_btn)
        lay.addLayout(row)
        self.compare = ComparePanel(self.run_compare, self.save_results)
        lay.addWidget(self.compare)
        row = QHBoxLayout()
        self.progress, self.cancel = QProgressBar(), QPushButton("Cancel")
        row.addWidget(self.progress)
        row.addWidget(self.cancel)
        lay.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.figures = FigureTabs()
        lay.addWidget(self.figures)
        self.jobs = JobRunner(self.progress, self.cancel, self.status,
                              busy=[self.plan_btn, self.export_btn, self.load_btn,
                                    self.paint_btn])

    # ------------------------------------------------------------------ study
    @notify_errors
    def new_study(self) -> None:
        """Create a study in a new, empty folder."""
        from ...core.study import new_study

        folder = QFileDialog.getExistingDirectory(self, "New study folder (empty)")
        if folder:
            self._set(new_study(folder))

    @notify_errors
    def open_study(self) -> None:
        """Open a study folder; its plan, manifest and MS results when present."""
        from ...core.study import open_study
        from ...core.study.analysis import open_study_ms
        from ...core.study.export import read_study_manifest
        from ...core.study.plate import read_plan

        folder = QFileDialog.getExistingDirectory(self, "Study folder")
        if not folder:
            return
        s = open_study(folder)
        self._set(s)
        self.plan = read_plan(s.plan_dir) if (s.plan_dir / "study_plan.parquet").is_file() \
            else None
        self.manifest = read_study_manifest(s) if (s.lmd_dir / "manifest.csv").is_file() \
            else None
        if (s.ms_dir / "processed.h5ad").is_file():
            self._show_ms(open_study_ms(s))

    def _set(self, study) -> None:
        self.study, self.plan, self.manifest, self.ps = study, None, None, None
        self.refresh()

    def refresh(self) -> None:
        """Slides table and the one-line summary."""
        self.slides.refresh()
        s = self.study
        if s is not None:
            conds = ", ".join(f"{c} {sum(r.condition == c for r in s.slides)}"
                              for c in s.conditions())
            self.info.setText(f"Study <b>{s.name}</b>: {len(s.slides)} slides ({conds or '–'}) "
                              f"in {s.folder}")

    def _need(self):
        if self.study is None:
            raise DvpInputError("create or open a study first")
        return self.study

    # ------------------------------------------------------------------ plan and export
    @notify_errors
    def plan_study(self) -> None:
        """Plan every slide and lay the samples out on plates (then write plan/)."""
        from ...core.study.plan import plan_study

        params = self.form.params()
        self.jobs.start(plan_study, self._need(), params, what="Planning the study…",
                        done=lambda plan: self._planned(plan, params))

    def _planned(self, plan, params) -> None:
        from ...core.study.plan import confounding_p
        from ...core.study.plate import plate_figure, write_plan_files

        s = self.study
        if not write_into(self, s.plan_dir, "study plan",
                          lambda d: write_plan_files(plan, d, params.plate)):
            return
        self.plan = plan
        self.figures.show("Plate", plate_figure(plan, 1, params.plate))
        n = int((plan["kind"] == "sample").sum())
        ps = ", ".join(f"{by} p={confounding_p(plan, by):.2f}" for by in ("plate", "row",
                                                                          "column"))
        self.status.setText(f"{n} samples on {plan['plate'].nunique()} plate(s); condition vs "
                            f"{ps}. " + " ".join(plan.attrs.get("warnings", [])[:3]))
        self.refresh()

    @notify_errors
    def export(self) -> None:
        """One LMD export per slide and the study manifest (lmd/)."""
        if self.plan is None:
            raise DvpInputError("plan the study first")
        s = self._need()
        if s.lmd_dir.exists() and QMessageBox.question(
                self, "Replace LMD files?", f"{s.lmd_dir} exists. Replace it?") \
                != QMessageBox.StandardButton.Yes:
            return
        plate = str(self.form.params().plate)
        self.jobs.start(export_job, s, self.plan, plate, what="Exporting the LMD files…",
                        done=self._exported)

    def _exported(self, manifest) -> None:
        self.manifest = manifest
        n = manifest.groupby(["slide", "plate"]).ngroups
        show_info(f"{n} LMD file(s), one manifest of {len(manifest)} samples")
        self.refresh()

    # ------------------------------------------------------------------ MS
    @notify_errors
    def ask_matrix(self) -> None:
        """Choose the study's protein table; match, process, score (ms/)."""
        s = self._need()
        if self.manifest is None:
            raise DvpInputError("export the LMD files first (the manifest names the samples)")
        path, _ = QFileDialog.getOpenFileName(self, "MS protein table of the study")
        if path:
            self.jobs.start(load_job, s, Path(path), self.manifest, what="Loading the MS "
                            "matrix…", done=self._loaded)

    def _loaded(self, ps) -> None:
        from ...core.study.analysis import write_study_ms

        if write_into(self, self.study.ms_dir, "study load",
                      lambda d: write_study_ms(ps, d)):
            self._show_ms(ps)
            self.refresh()

    def _show_ms(self, ps) -> None:
        from ...core.study.views import pathway_heatmap, pca_figure

        self.ps = ps
        self.sets.clear()
        for text, name in ps.set_choices():
            if "not scored" not in text:
                self.sets.addItem(text, name)
        obs = ps.processed.obs
        self.compare.set_choices(list(dict.fromkeys(obs["condition"].astype(str))),
                                 sorted(set(obs["class"].astype(str))))
        self.figures.show("Heatmap", pathway_heatmap(ps)[2])
        self.figures.show("PCA", pca_figure(ps)[1])
        self.status.setText(ps.summary())

    # ------------------------------------------------------------------ paint and compare
    @notify_errors
    def paint(self) -> None:
        """The chosen score (or protein) on every slide, one colour scale."""
        from ...core.study.paint import paint_slides

        if self.ps is None:
            raise DvpInputError("load the study's MS matrix first")
        query = self.protein.text().strip()
        if query:
            values, title = self.ps.protein(query), f"{query} (z)"
        else:
            name = self.sets.currentData()
            values, title = self.ps.set_values(name), self.ps.gene_sets[name].label
        self.jobs.start(paint_slides, self.study, self.manifest, values,
                        what="Painting every slide…",
                        done=lambda images: self._painted(images, values, title))

    def _painted(self, images, values, title) -> None:
        from ...core.study.paint import slides_figure, study_limits
        from .layers import show_slides

        lim = study_limits(values)
        show_slides(self.viewer, self.study, images, lim, title)
        self.figures.show("Slides", slides_figure(images, lim, title, self.study))
        show_info(f"{title} painted on {len(images)} slides, one scale "
                  f"[{lim[0]:.2f}, {lim[1]:.2f}]")

    @notify_errors
    def run_compare(self) -> None:
        """Condition A vs B within the chosen cell type: volcano and table."""
        from ...core.study.compare import compare_conditions
        from ...core.study.views import volcano_figure

        if self.ps is None:
            raise DvpInputError("load the study's MS matrix first")
        c = self.compare
        self.last = compare_conditions(self.ps.processed, c.a.currentText(), c.b.currentText(),
                                       c.cell_type.currentText(), c.design.currentText())
        self.figures.show("Volcano", volcano_figure(self.last))
        c.show_table(self.last)
        self.status.setText(f"{int((self.last['q'] <= 0.05).sum())} proteins at q <= 5 % "
                            f"({self.last.attrs['label']})")

    @notify_errors
    def save_results(self) -> None:
        """Write the last comparison's table (CSV) and volcano (PNG) into a new folder."""
        from ...core.study.views import comparison_stem, write_comparison

        if self.last is None:
            raise DvpInputError("run a comparison first")
        folder = QFileDialog.getExistingDirectory(self, "Folder for the results")
        if folder:
            cmp, target = self.last, Path(folder) / comparison_stem(self.last)
            if write_into(self, target, "study compare", lambda d: write_comparison(cmp, d)):
                show_info(f"results written to {target}")
