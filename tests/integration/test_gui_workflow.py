"""The whole product in ONE napari viewer, widget by widget, as a pathologist goes through it.

Slide -> Segment cells -> Review segmentation -> Regions -> Gating -> LMD export ->
Proteins on tissue -> Project (save, reopen in a fresh viewer). Every step reads what the
previous widget left in the viewer (layers, ``layer.features``, the session), so a broken
hand-off between two widgets fails here even when each widget's own test passes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile
from qtpy.QtCore import Qt

from napari_dvp._qt._common import cell_table_of
from napari_dvp._qt._session import session_of
from napari_dvp.core.synthetic import CHANNELS, write_sample

pytestmark = [pytest.mark.slow, pytest.mark.gui]

IFN = "HALLMARK_INTERFERON_GAMMA_RESPONSE"


def _docks(viewer, first: bool):
    """``dock(name)``: the widget docked under ``name``; all docked at once when ``first``."""
    from napari_dvp._qt.classes.classifier_widget import ClassifierWidget
    from napari_dvp._qt.classes.gating_widget import GatingWidget
    from napari_dvp._qt.lmd.widget import LmdWidget
    from napari_dvp._qt.project.widget import ProjectWidget
    from napari_dvp._qt.proteomics.widget import ProteomicsWidget
    from napari_dvp._qt.regions.widget import RegionsWidget
    from napari_dvp._qt.review.widget import ReviewWidget
    from napari_dvp._qt.segmentation.widget import SegmentWidget
    from napari_dvp._qt.slide.widget import SlideWidget

    kinds = {"Slide": SlideWidget, "Segment cells": SegmentWidget,
             "Review segmentation": ReviewWidget, "Regions": RegionsWidget,
             "Gating": GatingWidget, "Cell classifier": ClassifierWidget,
             "LMD export": LmdWidget,
             "Proteins on tissue": ProteomicsWidget, "Project": ProjectWidget}
    docked: dict = {}

    def dock(name):
        if name not in docked:
            docked[name] = kinds[name](viewer)
            viewer.window.add_dock_widget(docked[name], name=name, tabify=True)
        return docked[name]

    if first:
        for name in kinds:
            dock(name)
    return dock


def _status(table, cid):
    return table.set_index("cell_id").loc[cid, "qc_status"]


@pytest.mark.parametrize("docks_first", [False, True], ids=["dock-as-you-go", "all-docks-first"])
def test_pathologist_goes_through_every_widget(make_napari_viewer, qtbot, tmp_path,
                                               monkeypatch, docks_first):
    """Each widget docked when its step comes, or every dock opened before the slide."""
    from napari_dvp._qt.lmd.widget import CAL_LAYER
    from napari_dvp._qt.project.widget import ProjectWidget
    from napari_dvp.core.lmd.plan_common import eligible_mask
    from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix

    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))  # autosave/recovery here
    paths = write_sample(tmp_path / "biopsy.ome.tif", size=512, seed=0)
    viewer = make_napari_viewer()
    dock = _docks(viewer, docks_first)

    # 1. Slide: five channels in micrometres ------------------------------------------------
    slide = dock("Slide")
    added = slide.open_path(paths["image"])
    assert [lay.name for lay in added] == list(CHANNELS)
    for lay in added:
        assert tuple(lay.scale) == pytest.approx((0.5, 0.5))
        assert tuple(str(u) for u in lay.units) == ("micrometer", "micrometer")

    # 2. Segment cells: built-in method, Run, wait for the worker -----------------------------
    seg = dock("Segment cells")
    assert seg.channels.nuclear.currentData() == "DAPI"
    assert seg.channels.cyto.currentData() == "panCK"
    assert "pixel size 0.5 µm (from biopsy.ome.tif)" in seg.slide_line.text()
    assert seg.method.method == "builtin"
    seg.run_form.tile_size.value = 256
    qtbot.mouseClick(seg.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not seg.runner.running, timeout=60_000)
    assert "cells" in viewer.layers, seg.status.text()
    cells = viewer.layers["cells"]
    assert tuple(cells.scale) == pytest.approx((0.5, 0.5))
    table = cell_table_of(cells)
    n_cells = len(table)
    assert n_cells > 50 and {"cell_id", "area_um2", "mean_DAPI", "mean_CD8"} <= set(table)
    assert set(table.cell_id) == set(np.unique(np.asarray(cells.data))) - {0}

    # 3. Review: flag, reject one, delete one and undo ----------------------------------------
    review = dock("Review segmentation")
    assert review.cells_combo.currentText() == "cells"
    review.find_suspicious()
    table = cell_table_of(cells)
    assert "qc_flagged" in table and "qc_status" in table
    clean = table.loc[~table["qc_flagged"].astype(bool), "cell_id"].tolist()
    rejected, deleted = int(clean[len(clean) // 2]), int(clean[len(clean) // 3])
    review.go_to_cell(rejected)
    review.reject()
    assert _status(cell_table_of(cells), rejected) == "rejected"
    review.go_to_cell(deleted)
    review.delete()
    assert deleted not in cell_table_of(cells).cell_id.tolist()
    assert deleted not in np.asarray(cells.data)
    review.undo()
    table = cell_table_of(cells)
    assert deleted in table.cell_id.tolist() and len(table) == n_cells
    assert deleted in np.asarray(cells.data)
    assert _status(table, rejected) == "rejected", "undo kept the earlier decision"

    # 4. Regions: import the ground-truth regions through the widget --------------------------
    regions = dock("Regions")
    regions.import_geojson(str(paths["regions"]))
    assert "regions" in viewer.layers
    assert tuple(viewer.layers["regions"].scale) == pytest.approx((0.5, 0.5))
    regions.assign()
    table = cell_table_of(cells)
    assert {"epidermis", "dermis"} <= set(table["region"])
    truth = pd.read_csv(paths["cells"])
    # a segmented cell's region is the true region of the cell under its centre
    lab_truth = tifffile.imread(paths["labels"])
    rc = table[["centroid_row", "centroid_col"]].round().astype(int).to_numpy()
    under = lab_truth[rc[:, 0], rc[:, 1]]
    true_region = truth.set_index("cell_id")["true_region"].reindex(under).to_numpy()
    hit = under > 0
    assert (table["region"].to_numpy()[hit] == true_region[hit]).mean() > 0.9

    # 5. Gating: load cells, default rules, apply (clicked) ----------------------------------

    from qtpy.QtWidgets import QMessageBox

    def click(button):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *a, **k: asked.append(a[1:3]) or QMessageBox.StandardButton.Yes))
    gating = dock("Gating")
    click(gating.cells.button)
    assert gating.rules.table.rowCount() == 3
    click(gating.apply_btn)
    table = cell_table_of(cells)
    assert "class" in table and "keratinocyte" in set(table["class"])
    assert {"region", "qc_status"} <= set(table), "gating kept the earlier columns"
    assert _status(table, rejected) == "rejected"

    # 5b. Cell classifier: a few cells marked per class (as the clicks do), train, apply ----
    gated = table.set_index("cell_id")["class"]
    clf = dock("Cell classifier")
    for cls in ("keratinocyte", "CD8 T cell", "macrophage"):
        for cid in gated.index[gated == cls][:5]:
            clf.picker.examples[int(cid)] = cls
    clf.picker.changed.emit()
    qtbot.waitUntil(lambda: clf.prediction is not None and not clf.runner.running,
                    timeout=30_000)
    click(clf.apply_btn)  # asks before replacing the gating classes: Yes
    assert asked and "Replace classes?" in asked[-1][0]
    table = cell_table_of(cells)
    assert "class_probability" in table
    marked = gated.isin(["keratinocyte", "CD8 T cell", "macrophage"]).to_numpy()
    assert (table["class"].to_numpy()[marked] == gated.to_numpy()[marked]).mean() > 0.8
    assert {"region", "qc_status"} <= set(table), "the classifier kept the earlier columns"
    assert session_of(viewer).get("classifier") is clf.classifier
    click(gating.apply_btn)  # the pathologist keeps the gating classes for the LMD step
    table = cell_table_of(cells)
    assert (table.set_index("cell_id")["class"] == gated).all()

    # 6. LMD export: the rejected cell's group, plan, calibration, export ---------------------
    row = table.set_index("cell_id").loc[rejected]
    group = (row["class"] or "", row["region"] or "")
    lmd = dock("LMD export")
    assert "<b>cells</b>" in lmd.cells.label.text()  # the one cells rule, shown
    glist = lmd.cells.groups
    items = {tuple(glist.item(i).data(256)): glist.item(i) for i in range(glist.count())}
    assert group in items, f"groups listed: {list(items)}"
    items[group].setSelected(True)
    ok = eligible_mask(table)
    in_group = ((table["class"] == group[0]) & (table["region"] == group[1])).to_numpy()
    n_ok = int((ok & in_group).sum())
    assert n_ok >= 6
    lmd.plan.form.target_cells.value = n_ok // 2  # two replicates take (nearly) every cell
    lmd.plan.form.replicates.value = 2
    click(lmd.plan.plan_btn)
    plan = lmd.table.plan()
    assert len(plan) == 2, lmd.export.status.text()
    planned = {int(c) for ids_ in plan["cell_ids"] for c in ids_}
    assert len(planned) == 2 * (n_ok // 2)
    assert planned <= set(table.loc[ok & in_group, "cell_id"])
    assert "LMD plan" in session_of(viewer).get("plans")
    lmd.calibration.set_marks(np.array([[10.0, 10.0], [10.0, 500.0], [500.0, 250.0]]))
    assert viewer.layers[CAL_LAYER].features["mark"].tolist() == [1, 2, 3]
    assert "OK" in lmd.calibration.status.text()
    out = tmp_path / "lmd"
    from qtpy.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(out)))
    click(lmd.export.export_btn)
    qtbot.waitUntil(lambda: lmd.result is not None, timeout=60_000)
    assert len(list(out.glob("*.xml"))) == 1 and list(out.glob("*.png"))
    manifest = pd.read_csv(out / "manifest.csv")
    cut = {int(c) for ids_ in manifest["cell_ids"] for c in str(ids_).split(";")}
    assert rejected not in cut
    assert "lmd" in session_of(viewer).get("manifests")

    # 7. Proteins on tissue: a DIA-NN matrix for that manifest, paint a pathway score ---------
    pg = write_pg_matrix(synthetic_pg_matrix(manifest, seed=1), tmp_path / "report.pg_matrix.tsv")
    prot = dock("Proteins on tissue")
    assert "<b>cells</b>" in prot.painting.cells.text()
    prot.load_manifest(out / "manifest.csv")
    prot.load_table(pg)
    qtbot.waitUntil(lambda: prot.study is not None, timeout=30_000)
    prot.sets.setCurrentIndex(prot.sets.findData(IFN))
    prot.paint_set()
    overlay = next(lay for lay in viewer.layers if lay.name.endswith("score (z)"))
    assert tuple(overlay.scale) == pytest.approx((0.5, 0.5))
    lab = np.asarray(cells.data)
    for _, s in manifest.iterrows():
        cid = int(str(s["cell_ids"]).split(";")[0])
        score = prot.study.scores.scores.loc[s["sample_id"], IFN]
        np.testing.assert_allclose(np.asarray(overlay.data)[lab == cid], score, rtol=1e-5)

    # 8. Project: save, reopen in a fresh viewer ----------------------------------------------
    project = dock("Project")
    folder = tmp_path / "project"
    project.save(folder)
    qtbot.waitUntil(lambda: not project.busy, timeout=30_000)
    assert (folder / "project.json").is_file()

    viewer2 = make_napari_viewer()
    project2 = ProjectWidget(viewer2)
    viewer2.window.add_dock_widget(project2, name="Project")
    project2.open(folder)
    qtbot.waitUntil(lambda: not project2.busy, timeout=30_000)
    names = [lay.name for lay in viewer.layers]
    names2 = [lay.name for lay in viewer2.layers]
    assert {*CHANNELS, "cells", "regions"} <= set(names2), names2
    t1, t2 = cell_table_of(cells), cell_table_of(viewer2.layers["cells"])
    for col in ("cell_id", "region", "class", "qc_status"):
        assert t2[col].astype(str).tolist() == t1[col].astype(str).tolist(), col
    np.testing.assert_array_equal(np.asarray(viewer2.layers["cells"].data), lab)
    s2 = session_of(viewer2)
    assert "LMD plan" in s2.get("plans")
    assert "lmd" in s2.get("manifests")
    assert "gating" in s2.get("classes") and s2.get("classifier") is not None
    assert s2.get("proteomics") is not None
    # the calibration marks come back where they were picked, on the same grid
    marks2 = viewer2.layers[CAL_LAYER]
    np.testing.assert_allclose(marks2.data, viewer.layers[CAL_LAYER].data)
    np.testing.assert_allclose(marks2.scale, viewer.layers[CAL_LAYER].scale)
    # only overlays computed from the cells are not saved (they are recomputed)
    lost = {"QC state", "current cell", "cell classes", "LMD preview (by well)", overlay.name}
    assert set(names) - set(names2) <= lost, (names, names2)
    for w in (project, project2):
        w.saver.close(flush=False)
