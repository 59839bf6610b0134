"""A pathologist's whole day in ONE napari window, through clicks, keys and dialogs only.

Slide (File dialog) -> Segment (Run) -> Review (Find suspicious cells, a row clicked,
Shift+R, Delete, Ctrl+Z) -> Regions (QuPath GeoJSON imported, a region of a chosen
class drawn on the canvas, Assign) -> Gating (Apply) -> Classifier (number keys and clicks
on cells, Apply, "Replace classes?" Yes) -> LMD (groups ticked, Make plan, three marks
clicked on the canvas, Export…) -> Proteins (a DIA-NN matrix opened, the one run the
manifest cannot match typed in the match table, a pathway score painted) -> Project
(Save as…, window closed) -> a new window: Project Open… -> everything back, tissue too.

No dock method is called: each dock is opened as from the Plugins menu and driven as a
user drives it; every button clicked must not raise an error notification.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QApplication

from napari_dvp._qt._common import cell_table_of
from napari_dvp._qt._session import session_of
from napari_dvp.core.synthetic import CHANNELS, write_sample

from .test_click_regions import draw_polygon, pick_class
from .test_click_review import click_row

pytestmark = [pytest.mark.slow, pytest.mark.gui]

IFN = "HALLMARK_INTERFERON_GAMMA_RESPONSE"
SHIFT, CTRL = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier
PX = 0.5


def _open(viewer, name):
    """The dock as the Plugins menu opens it."""
    return viewer.window.add_plugin_dock_widget("napari-dvp", name)[1]


def _front(qtbot, dock):
    dock._dock().raise_()
    qtbot.waitUntil(dock.isVisible, timeout=5000)


def _canvas_click(viewer, qtbot, world_rc, modifier=Qt.KeyboardModifier.NoModifier):
    canvas = viewer.window._qt_viewer.canvas
    tr = canvas.view.transform * canvas.view.scene.transform
    x, y = tr.map([world_rc[1], world_rc[0]])[:2]
    qtbot.mouseClick(canvas.native, Qt.MouseButton.LeftButton, modifier,
                     QPoint(round(float(x)), round(float(y))))
    qtbot.wait(20)


def _type_number(qtbot, widget, value) -> None:
    """Select the spin box's text, type a number, press Enter (as a user edits a field)."""
    native = widget.native if hasattr(widget, "native") else widget
    edit = native.lineEdit() if hasattr(native, "lineEdit") else native
    edit.selectAll()
    qtbot.keyClicks(edit, str(value))
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _tick_items(qtbot, lst, wanted) -> None:
    """Ctrl-click the list's items whose text contains each of ``wanted``."""
    first = True
    for w in wanted:
        row = next(i for i in range(lst.count()) if w in lst.item(i).text())
        lst.scrollToItem(lst.item(row))
        rect = lst.visualItemRect(lst.item(row))
        qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier if first else CTRL, rect.center())
        first = False


def test_a_whole_day_through_clicks_and_keys(make_napari_viewer, qtbot, tmp_path, clicker,
                                             dialogs, errors, monkeypatch):
    from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix

    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))  # autosave/recovery here
    paths = write_sample(tmp_path / "biopsy.ome.tif", size=384, seed=0)
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    window = viewer.window._qt_viewer

    # 1. Slide: File dialog -> five channels in micrometres ---------------------------------
    slide = _open(viewer, "Slide")
    dialogs.open(paths["image"])
    clicker(slide, check_all=False).click("Open slide")
    assert [lay.name for lay in viewer.layers] == list(CHANNELS)
    assert tuple(viewer.layers["DAPI"].scale) == pytest.approx((PX, PX))

    # 2. Segment: defaults, Run --------------------------------------------------------------
    seg = _open(viewer, "Segment cells")
    _front(qtbot, seg)
    clicker(seg, check_all=False).click("Run", wait_until=lambda: not seg.runner.running,
                                        timeout=120_000)
    cells = viewer.layers["cells"]
    table = cell_table_of(cells)
    n_cells = len(table)
    assert n_cells > 50 and {"area_um2", "mean_DAPI", "mean_CD8"} <= set(table)

    # 3. Review: flag, click the most suspicious row, Shift+R; Delete then Ctrl+Z --------------
    review = _open(viewer, "Review segmentation")
    _front(qtbot, review)
    rclick = clicker(review, check_all=False)
    rclick.click("Find suspicious cells", wait_until=lambda: "flagged" in review.status.text())
    click_row(qtbot, review, 0)
    rejected = int(cells.selected_label)
    viewer.layers.selection.active = cells
    qtbot.keyClick(window, Qt.Key.Key_R, SHIFT)
    assert cell_table_of(cells).set_index("cell_id").loc[rejected, "qc_status"] == "rejected"
    click_row(qtbot, review, 1)
    deleted = int(cells.selected_label)
    rclick.click("Delete")
    assert deleted not in np.asarray(cells.data)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert deleted in np.asarray(cells.data) and len(cell_table_of(cells)) == n_cells
    assert cell_table_of(cells).set_index("cell_id").loc[rejected, "qc_status"] == "rejected"

    # 4. Regions: QuPath GeoJSON imported; a "lesion border" drawn; cells assigned ------------
    regions = _open(viewer, "Regions")
    _front(qtbot, regions)
    gclick = clicker(regions, check_all=False)
    dialogs.open(paths["regions"])
    gclick.click("Import GeoJSON…")
    shapes = viewer.layers["regions"]
    assert tuple(shapes.scale) == pytest.approx((PX, PX))
    n_shapes = len(shapes.data)
    viewer.reset_view()
    pick_class(qtbot, regions, "lesion border")
    gclick.click("Draw new region of the selected class")
    corner = [(20, 20), (20, 60), (60, 60), (60, 20)]  # px (row, col) in the epidermis
    draw_polygon(viewer, qtbot, [(r * PX, c * PX) for r, c in corner])
    assert len(shapes.data) == n_shapes + 1
    assert shapes.features["region"].iloc[-1] == "lesion border"
    shapes.mode = "pan_zoom"
    gclick.click("Assign cells to regions")
    table = cell_table_of(cells)
    assert {"epidermis", "dermis"} <= set(table["region"])

    # 5. Gating: Apply to cells ------------------------------------------------------------------
    gating = _open(viewer, "Gating")
    _front(qtbot, gating)
    clicker(gating, check_all=False).click("Apply to cells")
    table = cell_table_of(cells)
    gated = table.set_index("cell_id")["class"]
    assert "keratinocyte" in set(gated) and {"region", "qc_status"} <= set(table)

    # 6. Classifier: number keys pick the class, clicks on cells mark them; Apply -------------
    clf = _open(viewer, "Cell classifier")
    _front(qtbot, clf)
    cclick = clicker(clf, check_all=False)
    cclick.click("Mark examples on the image")
    names = clf.picker.classes.names()
    rc = table.set_index("cell_id")[["centroid_row", "centroid_col"]]
    marked = 0
    for k, name in enumerate(names[:3], start=1):
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{k}"))
        ids = [int(c) for c in gated.index[gated == name]]
        for cid in ids[:3]:
            y, x = rc.loc[cid] * PX
            viewer.scene.camera.center, viewer.scene.camera.zoom = (y, x), 8  # the user zooms in
            qtbot.wait(20)
            if int(np.asarray(cells.data)[round(y / PX), round(x / PX)]) != cid:
                continue  # the centroid of a curved cell lies outside it
            _canvas_click(viewer, qtbot, (y, x))
            marked += 1
    assert len(clf.picker.examples) == marked >= 6
    qtbot.waitUntil(lambda: clf.classifier is not None and not clf.runner.running
                    and clf.classifier.n_examples == marked, timeout=60_000)
    dialogs.yes()  # Replace classes (written by gating)? Yes
    cclick.click("Apply to cells")
    table = cell_table_of(cells)
    assert "class_probability" in table and {"region", "qc_status"} <= set(table)

    # 7. LMD: two groups ticked, a plan, three marks clicked, Export… ------------------------
    lmd = _open(viewer, "LMD export")
    _front(qtbot, lmd)
    lclick = clicker(lmd, check_all=False)
    assert "<b>cells</b>" in lmd.cells.label.text()
    counts = table.groupby(["class", "region"]).size().sort_values(ascending=False)
    groups = [f"{c} · {r}" for (c, r), n in counts.items() if r and n >= 8][:2]
    assert len(groups) == 2, counts
    _tick_items(qtbot, lmd.cells.groups, groups)
    _type_number(qtbot, lmd.plan.form.target_cells, 3)
    _type_number(qtbot, lmd.plan.form.replicates, 2)
    lclick.click("Make plan")
    plan = lmd.table.plan()
    assert len(plan) == 4 and "LMD plan" in session_of(viewer).get("plans")
    planned = {int(c) for ids in plan["cell_ids"] for c in ids}
    viewer.reset_view()
    lclick.click("Pick marks on the image")
    for r, c in [(8, 8), (8, 375), (375, 190)]:
        _canvas_click(viewer, qtbot, (r * PX, c * PX))
    assert "OK" in lmd.calibration.status.text()
    out = tmp_path / "lmd"
    out.mkdir()
    dialogs.folder(out)
    lclick.click("Export…", wait_until=lambda: lmd.result is not None, timeout=120_000)
    manifest = pd.read_csv(out / "manifest.csv", dtype={"cell_ids": str})
    cut = {int(c) for ids in manifest["cell_ids"] for c in ids.split(";")}
    assert cut <= planned and rejected not in cut
    assert len(list(out.glob("*.xml"))) == 1

    # 8. Proteins: the DIA-NN matrix; the run the manifest cannot match typed in ------------
    matrix = synthetic_pg_matrix(manifest, seed=1)
    well = manifest["well"].iloc[0]
    mystery = "D:\\DVP\\TEN_run_mystery.d"  # a run renamed at the instrument
    matrix = matrix.rename(columns={f"D:\\DVP\\TEN_run_{well}.d": mystery})
    assert mystery in matrix.columns
    pg = write_pg_matrix(matrix, tmp_path / "report.pg_matrix.tsv")
    prot = _open(viewer, "Proteins on tissue")
    _front(qtbot, prot)
    pclick = clicker(prot, check_all=False)
    dialogs.open(pg)
    pclick.click("Open MS results", wait_until=lambda: prot.study is not None
                 and not prot.runner.running, timeout=60_000)
    row = prot.match.row_of("TEN_run_mystery")
    assert prot.match.table.item(row, 4).text() == "unmatched"
    sample = manifest["sample_id"].iloc[0]
    combo = prot.match.combo(row)
    combo.lineEdit().selectAll()
    qtbot.keyClicks(combo.lineEdit(), sample)
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: sample in prot.study.processed.obs_names
                    and not prot.runner.running, timeout=60_000)
    assert prot.study.table.set_index("run").loc[mystery, "rule"] == "manual"
    prot.sets.setCurrentIndex(prot.sets.findData(IFN))  # the user picks it in the list
    pclick.click("Paint score")
    overlay = next(lay for lay in viewer.layers if lay.name.endswith("score (z)"))
    lab = np.asarray(cells.data)
    first = int(str(manifest["cell_ids"].iloc[0]).split(";")[0])
    score = prot.study.scores.scores.loc[sample, IFN]
    np.testing.assert_allclose(np.asarray(overlay.data)[lab == first], score, rtol=1e-5)

    # 9. Project: Save as…, close the window ------------------------------------------------
    project = _open(viewer, "Project")
    _front(qtbot, project)
    folder = tmp_path / "project"
    dialogs.folder(folder)
    clicker(project, check_all=False).click("Save as…", wait_until=lambda: not project.busy)
    assert (folder / "project.json").is_file()
    before = {c: cell_table_of(cells)[c].astype(str).tolist()
              for c in ("cell_id", "region", "class", "qc_status")}
    marks = np.asarray(viewer.layers["calibration"].data).copy()
    viewer.close()
    QApplication.processEvents()

    # 10. A new window: Project › Open… -> everything back --------------------------------
    viewer2 = make_napari_viewer(show=True)
    project2 = _open(viewer2, "Project")
    dialogs.folder(folder)
    clicker(project2, check_all=False).click("Open…", wait_until=lambda: not project2.busy)
    names2 = [lay.name for lay in viewer2.layers]
    assert {*CHANNELS, "cells", "regions"} <= set(names2), names2
    assert np.asarray(viewer2.layers["DAPI"].data).any(), "the tissue is back"
    t2 = cell_table_of(viewer2.layers["cells"])
    for col, values in before.items():
        assert t2[col].astype(str).tolist() == values, col
    np.testing.assert_array_equal(np.asarray(viewer2.layers["cells"].data), lab)
    assert viewer2.layers["regions"].features["region"].iloc[-1] == "lesion border"
    np.testing.assert_allclose(viewer2.layers["calibration"].data, marks)
    s2 = session_of(viewer2)
    assert "LMD plan" in s2.get("plans") and s2.get("manifests")
    assert s2.get("classifier") is not None and s2.get("proteomics") is not None
    dialogs.done()
    assert errors == [], errors
