"""The "Proteins on tissue" dock in a real napari viewer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import QPoint, Qt

from napari_dvp._qt.proteomics.widget import ProteomicsWidget
from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix


def _tissue(tmp_path):
    """Labels of small rectangular cells and a manifest of 24 samples of 8 cells each."""
    labels = np.zeros((240, 320), dtype=np.uint32)
    cid = 0
    for r in range(0, 240, 10):
        for c in range(0, 320, 10):
            cid += 1
            labels[r + 1:r + 9, c + 1:c + 9] = cid
    rows = []
    classes = ["keratinocyte", "CD8 T cell", "macrophage", "fibroblast"]
    for k in range(24):
        region = ["epidermis", "blister", "dermis"][k // 8]
        band = {"epidermis": 0, "blister": 8, "dermis": 16}[region]
        row0 = band + (k % 8) // 4 * 4
        col0 = (k % 4) * 8
        ids = [(row0 + dr) * 32 + col0 + dc + 1 for dr in range(2) for dc in range(4)]
        rows.append({"sample_id": f"S{k + 1:02d}", "well": f"{'BCDE'[k // 6]}{2 + k % 6}",
                     "class": classes[k % 4], "region": region, "replicate": 1, "n_cells": 8,
                     "area_um2": 128.0, "n_shapes": 8, "cell_ids": ";".join(map(str, ids))})
    man = pd.DataFrame(rows)
    man.to_csv(tmp_path / "manifest.csv", index=False)
    write_pg_matrix(synthetic_pg_matrix(man, seed=5), tmp_path / "TEN.pg_matrix.tsv")
    return labels, man


@pytest.fixture
def loaded(make_napari_viewer, qtbot, tmp_path):
    labels, man = _tissue(tmp_path)
    viewer = make_napari_viewer()
    viewer.add_labels(labels, name="cells")
    w = ProteomicsWidget(viewer)
    viewer.window.add_dock_widget(w, name="Proteins on tissue")
    w.load_manifest(tmp_path / "manifest.csv")
    w.load_table(tmp_path / "TEN.pg_matrix.tsv")
    qtbot.waitUntil(lambda: w.study is not None, timeout=30000)
    return viewer, w, labels, man


def _cell_value(layer, labels, cell):
    px = np.asarray(layer.data)[labels == cell]
    assert np.unique(px).size == 1
    return float(px[0])


def test_load_match_paint_protein_and_set(loaded, qtbot):
    viewer, w, labels, man = loaded
    assert w.matches.rowCount() == 25  # 24 samples + the blank run
    statuses = [w.matches.item(i, 4).text() for i in range(25)]
    assert statuses.count("matched") == 24 and statuses.count("unmatched") == 1
    assert "TEN_blank_01" in w.info.text()
    # protein by search: the completer offers STAT1, typed in lower case
    model = w.protein.completer().model()
    assert "STAT1" in [model.index(i, 0).data() for i in range(model.rowCount())]
    w.protein.setText("stat1")
    w.paint_protein(w.protein.text())
    layer = viewer.layers["STAT1 (z)"]
    expect = w.study.protein("STAT1")
    for _, r in man.iterrows():
        for cell in map(int, r["cell_ids"].split(";")[:2]):
            assert _cell_value(layer, labels, cell) == pytest.approx(
                expect[r["sample_id"]], rel=1e-5, nan_ok=True)
    assert np.isnan(np.asarray(layer.data)[labels == 0]).all()
    lo, hi = layer.contrast_limits
    assert lo == pytest.approx(-hi)
    # a pathway score coexists as a second overlay
    i = w.sets.findData("HALLMARK_INTERFERON_GAMMA_RESPONSE")
    w.sets.setCurrentIndex(i)
    w.paint_set()
    ifn = viewer.layers["IFN-γ response score (z)"]
    assert "STAT1 (z)" in viewer.layers
    cell = int(man.loc[3, "cell_ids"].split(";")[0])
    score = w.study.scores.scores.loc["S04", "HALLMARK_INTERFERON_GAMMA_RESPONSE"]
    assert _cell_value(ifn, labels, cell) == pytest.approx(score, rel=1e-5)
    # hover text: sample, class, region and both values
    r0, c0 = np.argwhere(labels == cell)[0]
    text = w.describe((r0, c0))
    assert "sample S04" in text and "fibroblast" in text and "epidermis" in text
    assert f"IFN-γ response score (z) = {score:.2f}" in text and "STAT1 (z) =" in text
    assert w.describe((0, 0)) == ""
    # repaint keeps one layer per value
    n_layers = len(viewer.layers)
    w.paint_set()
    assert len(viewer.layers) == n_layers
    # manual correction in the match table
    row = [w.matches.item(i, 0).text() for i in range(25)].index("TEN_blank_01")
    w.matches.item(row, 1).setText("S01")
    qtbot.waitUntil(lambda: w.study.table["status"].eq("conflict").sum() == 2, timeout=5000)
    w.matches.item(row, 1).setText("")
    qtbot.waitUntil(lambda: w.study.table["status"].eq("matched").sum() == 24, timeout=5000)


def test_volcano_click_paints_protein(loaded, qtbot, screenshot_path):
    viewer, w, labels, man = loaded
    w.group_a.setCurrentText("keratinocyte · blister")
    w.group_b.setCurrentText("keratinocyte · epidermis")
    w.compare()
    cmp = w.last_comparison
    assert cmp.loc[cmp["gene"] == "STAT1", "log2_fc"].iloc[0] > 1
    canvas = w.plots.volc
    canvas.draw()
    ids, xs, ys = canvas.figure.volcano_points
    k = int(np.argmax(ys))  # the most significant protein
    gene = cmp.loc[ids[k], "gene"]
    x_px, y_px = canvas.figure.axes[0].transData.transform((xs[k], ys[k]))
    assert w.plots.protein_near(x_px, y_px) == ids[k]
    ratio = canvas.device_pixel_ratio
    pos = QPoint(round(x_px / ratio), round(canvas.height() - y_px / ratio))
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: f"{gene} (z)" in viewer.layers, timeout=5000)
    layer = viewer.layers[f"{gene} (z)"]
    cell = int(man.loc[0, "cell_ids"].split(";")[0])
    assert _cell_value(layer, labels, cell) == pytest.approx(w.study.protein(ids[k])["S01"],
                                                             rel=1e-5)
    w.sets.setCurrentIndex(w.sets.findData("HALLMARK_IL6_JAK_STAT3_SIGNALING"))
    w.paint_set()
    viewer.reset_view()
    w.plots.setCurrentWidget(w.plots.volc)
    qtbot.wait(200)
    viewer.window._qt_window.resize(1500, 1000)
    qtbot.wait(200)
    viewer.window._qt_window.grab().save(str(screenshot_path("proteomics_widget.png")))


def test_errors_become_notifications(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    w = ProteomicsWidget(viewer)
    bad = tmp_path / "manifest.csv"
    bad.write_text("sample_id,well\nS1,A1\n")
    w.load_manifest(bad)  # shows a notification, does not raise
    assert w.manifest is None
    w.paint_set()
    assert w.study is None


def test_study_lives_in_the_session_and_reopens_with_the_project(loaded, make_napari_viewer,
                                                                 qtbot, tmp_path):
    from napari_dvp._qt._session import session_of
    from napari_dvp._qt.project.layers import project_from_viewer, restore_into_viewer
    from napari_dvp._qt.proteomics.widget import MATCHES, SCORES
    from napari_dvp.core.project import load_project, save_project

    viewer, w, labels, _ = loaded
    session = session_of(viewer)
    assert session.get("proteomics") is w.study.data
    assert list(session.get("manifests")) == [tmp_path.name]
    # a hand-made correction is kept through save and reopen
    row = [w.matches.item(i, 0).text() for i in range(25)].index("TEN_blank_01")
    w.matches.item(row, 1).setText("S01")
    qtbot.waitUntil(lambda: session.get("scores")[MATCHES]["status"].eq("conflict").sum() == 2,
                    timeout=5000)
    pd.testing.assert_frame_equal(session.get("scores")[SCORES], w.study.scores.scores)
    save_project(tmp_path / "proj", project_from_viewer(viewer))
    project = load_project(tmp_path / "proj")
    viewer2 = make_napari_viewer()
    viewer2.add_labels(labels, name="cells")
    w2 = ProteomicsWidget(viewer2)
    restore_into_viewer(viewer2, project)
    assert w2.study is not None and w2.manifest_name == tmp_path.name
    assert w2.study.table["status"].eq("conflict").sum() == 2
    assert w2.matches.rowCount() == 25
    np.testing.assert_allclose(w2.study.data.X, w.study.data.X)
    pd.testing.assert_frame_equal(w2.study.scores.scores, w.study.scores.scores,
                                  check_names=False)
