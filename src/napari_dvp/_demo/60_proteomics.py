"""Demo step: synthetic mass-spec results for the LMD samples, scored and painted back."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path
from ..core.csv_safe import write_csv
from ..core.overlay.proteins import symmetric_limits
from ..core.proteomics import plots
from ..core.proteomics.genesets import interferon_genes
from ..core.proteomics.readers import read_proteomics
from ..core.proteomics.study import ProteinStudy
from ..core.proteomics.synthetic import planted_up, synthetic_pg_matrix, write_pg_matrix

TITLE = "Proteins back on the tissue (synthetic DIA-NN results, JAK/STAT score)"
SET = "HALLMARK_INTERFERON_GAMMA_RESPONSE"


def _labels(state):
    return state.labels if state.labels is not None else state.extra.get("truth_labels")


def _own_manifest(state) -> pd.DataFrame:
    """Samples of up to 40 true cells per class x region x lesional group (no LMD step ran)."""
    t = state.truth
    rows, k = [], 0
    wells = [f"{r}{c}" for r in "BCDEFGHIJKLMNO" for c in range(2, 24)]
    for (cls, reg, les), g in t.groupby(["true_class", "true_region", "lesional"],
                                        observed=True):
        ids = g["cell_id"].to_numpy()
        n_parts = min(len(ids) // 4, 3)
        if n_parts == 0:
            continue
        for rep, chunk in enumerate(np.array_split(ids[:120], n_parts)):
            if len(chunk) < 3:
                continue
            rows.append({"sample_id": f"TEN_{k + 1:02d}", "well": wells[k], "class": cls,
                         "region": reg, "replicate": rep + 1, "n_cells": len(chunk),
                         "area_um2": np.nan, "n_shapes": len(chunk), "lesional": bool(les),
                         "cell_ids": ";".join(map(str, chunk))})
            k += 1
    return pd.DataFrame(rows)


def _lesional(state, manifest: pd.DataFrame) -> pd.Series:
    """Lesional flag per sample from the ground truth under each cut cell's centroid."""
    if "lesional" in manifest.columns:
        return manifest.set_index("sample_id")["lesional"].astype(bool)
    truth_lab = state.extra.get("truth_labels")
    cells = state.cells
    les = state.truth.set_index("cell_id")["lesional"]
    cut = manifest.assign(cell=manifest["cell_ids"].str.split(";")).explode("cell")
    cut["cell"] = cut["cell"].astype(int)
    if truth_lab is not None and cells is not None and "centroid_row" in cells.columns:
        c = cells.set_index("cell_id").reindex(cut["cell"])
        r = np.clip(c["centroid_row"].fillna(0).round().astype(int), 0, truth_lab.shape[0] - 1)
        q = np.clip(c["centroid_col"].fillna(0).round().astype(int), 0, truth_lab.shape[1] - 1)
        truth_id = np.asarray(truth_lab)[r.to_numpy(), q.to_numpy()]
    else:
        truth_id = cut["cell"].to_numpy()
    cut["les"] = les.reindex(truth_id).fillna(False).astype(bool).to_numpy()
    return cut.groupby("sample_id")["les"].mean().ge(0.5)


def _docked_widget(viewer, cls):
    """The already docked widget of ``cls`` (the demo docks every widget), else a new one."""
    for inner in list(viewer.window.dock_widgets.values()):
        inner = getattr(inner, "native", inner)
        found = inner if isinstance(inner, cls) else inner.findChild(cls)
        if found is not None:
            dock = inner.parent()
            while dock is not None and not hasattr(dock, "raise_"):
                dock = dock.parent()
            if dock is not None:
                dock.show()
                dock.raise_()
            return found
    w = cls(viewer)
    viewer.window.add_dock_widget(w, name="Proteins on tissue", area="right")
    return w


def run(state) -> None:
    """Write the pg_matrix, read it back, match, score, paint and plot."""
    out = state.out / "proteomics"
    out.mkdir(parents=True, exist_ok=True)
    manifest = state.extra.get("manifest")
    if manifest is None or len(manifest) < 4:
        manifest = _own_manifest(state)
        with atomic_path(out / "manifest.csv") as tmp:
            write_csv(manifest, tmp)
        state.say(f"no LMD manifest from an earlier step: made {len(manifest)} samples of true "
                  "cells (proteomics/manifest.csv)")
    manifest = pd.DataFrame(manifest).copy()
    manifest["sample_id"] = manifest["sample_id"].astype(str)
    lesional = _lesional(state, manifest)
    path = write_pg_matrix(synthetic_pg_matrix(manifest, seed=state.seed, lesional=lesional),
                           out / "TEN_synthetic.pg_matrix.tsv")
    study = ProteinStudy(read_proteomics(path), manifest).update()
    state.say(" · ".join(study.report.lines()))
    scores = study.processed.obs[["run", "well", "class", "region"]].join(study.scores.scores)
    scores["interferon_planted_up"] = planted_up(manifest, lesional).reindex(scores.index)
    with atomic_path(state.out / "scores.csv") as tmp:
        write_csv(scores.reset_index(), tmp)
    up = scores["interferon_planted_up"].to_numpy(dtype=bool)
    s = scores[SET]
    state.say(f"IFN-γ score: planted-up samples {s[up].mean():+.2f}, others {s[~up].mean():+.2f}")
    state.extra["protein_study"] = study
    label = f"{study.gene_sets[SET].label} (z)"
    plots.bars_by_class_region(s, study.processed.obs, label).savefig(
        state.out / "07_scores_by_class_region.png")
    n = study.processed.n_obs
    usable = [g for g, m in study.groups().items() if 2 <= m.sum() <= n - 2]
    if usable:
        a = "keratinocyte · epidermis" if "keratinocyte · epidermis" in usable else usable[0]
        plots.volcano(study.compare(a), f"{a} vs all other samples",
                      highlight=interferon_genes()).savefig(state.out / "08_volcano.png")
    else:
        state.say("too few samples for a group comparison: no volcano plot")
    plots.heatmap(study.set_z(SET), study.processed.obs, label).savefig(
        state.out / "09_heatmap.png")
    for name in ("07_scores_by_class_region.png", "08_volcano.png", "09_heatmap.png"):
        if (state.out / name).is_file():
            state.say(f"wrote {name}")
    labels = _labels(state)
    if state.viewer is None or labels is None:
        return
    from napari.layers import Labels

    from .._qt.proteomics.widget import ProteomicsWidget

    viewer = state.viewer
    if not any(isinstance(lay, Labels) for lay in viewer.layers):
        px = state.pixel_size_um
        viewer.add_labels(labels, name="cells", opacity=0.25, scale=(px, px),
                          units=("um", "um"))
    w = _docked_widget(viewer, ProteomicsWidget)
    w.manifest, w.study = manifest, study
    w._show_study()
    w.sets.setCurrentIndex(w.sets.findData("HALLMARK_IL6_JAK_STAT3_SIGNALING"))
    w.paint_set()
    if usable:
        w.group_a.setCurrentText(a)
        w.compare()
    lim = symmetric_limits(w.study.set_values("HALLMARK_IL6_JAK_STAT3_SIGNALING"))[1]
    state.say(f"painted the JAK/STAT3 score on the cut cells (colour range ±{lim:.2f} z)")
    viewer.reset_view()
    from qtpy.QtWidgets import QApplication

    viewer.window._qt_window.resize(1700, 1000)
    QApplication.processEvents()
    state.screenshot("06_jak_stat_overlay.png")
