"""Demo step: plan the laser microdissection and export it for a Leica LMD."""

from __future__ import annotations

import numpy as np
import pandas as pd

TITLE = "Laser-microdissection plan and export"


def _cells_and_labels(state):
    """Cell table with class/region (step 40) or, failing that, the ground truth."""
    labels = state.labels if state.labels is not None else state.extra["truth_labels"]
    labels = np.asarray(labels)
    cells = state.cells
    if cells is None or not {"class", "region", "area_um2"} <= set(cells.columns):
        state.say("no classified cells from an earlier step: planning with the true classes")
        labels = np.asarray(state.extra["truth_labels"])
        cells = state.truth.rename(columns={"true_class": "class", "true_region": "region"})
        counts = np.bincount(labels.ravel(), minlength=int(cells["cell_id"].max()) + 1)
        cells = cells.assign(area_um2=counts[cells["cell_id"]] * state.pixel_size_um ** 2)
    cells = cells.copy()
    cells["class"] = cells["class"].astype(str)
    cells["region"] = cells["region"].astype(str)
    return labels, cells


def _lesional_flag(state, labels, cells) -> np.ndarray:
    """Lesional or not, from the ground truth under each cell's centre."""
    truth_lab = np.asarray(state.extra.get("truth_labels", labels))
    r = np.clip(cells["centroid_row"].round().astype(int), 0, truth_lab.shape[0] - 1)
    c = np.clip(cells["centroid_col"].round().astype(int), 0, truth_lab.shape[1] - 1)
    tid = truth_lab[r.to_numpy(), c.to_numpy()]
    les = state.truth.set_index("cell_id")["lesional"]
    return les.astype(bool).reindex(tid, fill_value=False).to_numpy(dtype=bool)


def run(state) -> None:
    """Plan keratinocytes (lesional / non-lesional epidermis), CD8 T cells and macrophages."""
    from ..core.lmd import Calibration, ExportOptions, PlanOptions, export_lmd
    from ..core.lmd.plan import combine_plans, plan_samples

    labels, cells = _cells_and_labels(state)
    lesional = _lesional_flag(state, labels, cells)
    epi = cells["region"].astype(str) == "epidermis"
    cells.loc[epi, "region"] = np.where(lesional[epi.to_numpy()], "lesional epidermis",
                                        "non-lesional epidermis")
    kera = plan_samples(cells, [("keratinocyte", "lesional epidermis"),
                                ("keratinocyte", "non-lesional epidermis")],
                        PlanOptions(target_cells=40, replicates=3, mode="contiguous",
                                    seed=state.seed), prefix="KER")
    immune = plan_samples(cells, [("CD8 T cell", "dermis"), ("macrophage", "dermis")],
                          PlanOptions(target_cells=20, replicates=2, mode="spread",
                                      seed=state.seed), prefix="IMM")
    plan = combine_plans(kera, immune)
    for w in plan.attrs.get("warnings", []):
        state.say(f"plan: {w}")

    rows, cols = np.nonzero(labels)
    r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
    marks = np.array([[r0, c0], [r0, c1], [r1, c0]], dtype=float)  # three tissue corners
    cal = Calibration(marks, state.pixel_size_um)
    out = state.out / "lmd"
    res = export_lmd(labels, plan, cal, out,
                     ExportOptions(plate="384", skip_outer=True, fill_order="serpentine"),
                     cells=cells, image=state.image)
    state.extra["manifest"] = res.manifest
    state.extra["lmd_dir"] = out
    state.extra["lmd_plan"] = plan
    state.say(f"LMD export: {len(res.manifest)} samples, {res.n_shapes} shapes -> {out}; "
              f"stage path {res.path_before_um / 1000:.1f} -> {res.path_after_um / 1000:.1f} mm")
    for w in res.warnings:
        state.say(f"export: {w}")
    summary = res.manifest.drop(columns="cell_ids")
    state.table(summary, "LMD samples (manifest):")

    if state.viewer is not None:
        _show(state, labels, cells, plan, marks)
        state.screenshot("05_lmd_preview.png")


def _show(state, labels, cells, plan: pd.DataFrame, marks: np.ndarray) -> None:
    from .._qt._common import set_cell_table
    v = state.viewer
    scale = (state.pixel_size_um, state.pixel_size_um)
    name = "LMD cells"
    layer = v.add_labels(labels, name=name, scale=scale, units=("um", "um"), visible=False,
                         metadata={"pixel_size_um": state.pixel_size_um})
    set_cell_table(layer, cells)
    w = state.dock("LMD export")
    from .._qt._slide import current_slide

    slide = current_slide(v)
    if slide is not None:
        slide.set_cells(name)  # the dock's cells: this layer (one rule, named on the slide)
    w.cells.refresh()
    w.wells.set_values({"plate": "384", "skip_outer": True, "fill_order": "serpentine"})
    w.table.set_plan(plan)
    w.calibration.set_marks(marks)  # the marks layer lives on the cells' pixel grid
    w.table.selectRow(0)
    v.reset_view()
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
