"""Review widget in a real napari viewer: find, jump, keys, edits, undo, paint, overlay."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt.review.table import OVERLAY, camera_of
from napari_dvp._qt.review.widget import SPLIT, ReviewWidget
from napari_dvp.core.measure import measure_cells
from napari_dvp.core.review import qc
from napari_dvp.core.review.edits import cell_box
from napari_dvp.core.synthetic import make_sample


@pytest.fixture(scope="module")
def sample():
    return make_sample(size=256, seed=0)


def open_viewer(make_napari_viewer, sample, measured=True):
    viewer = make_napari_viewer()
    for name, plane in zip(sample.channel_names[:3], sample.image[:3], strict=True):
        viewer.add_image(plane, name=name, scale=(0.5, 0.5))
    labels = viewer.add_labels(sample.labels.copy(), name="cells", scale=(0.5, 0.5),
                               metadata={"pixel_size_um": 0.5})
    if measured:
        set_cell_table(labels, measure_cells(labels.data, sample.image[:3],
                                             sample.channel_names[:3], 0.5))
    w = ReviewWidget(viewer)
    viewer.window.add_dock_widget(w, name="Review segmentation")
    return viewer, w, labels


def test_find_click_centres_and_keys_decide(make_napari_viewer, sample, qtbot):
    viewer, w, labels = open_viewer(make_napari_viewer, sample)
    assert w.cells_combo.currentText() == "cells"
    assert w.nuclear_combo.currentText() == "DAPI"
    w.min_area.setValue(60.0)  # make sure some cells are flagged
    w.find_suspicious()
    n = w.proxy.rowCount()
    table = cell_table_of(labels)
    assert n == int(table["qc_flagged"].sum()) > 0
    assert OVERLAY in viewer.layers
    # sort by area (ascending) and click the first row: the smallest flagged cell
    w.view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    idx = w.proxy.index(0, 0)
    w.view.clicked.emit(idx)
    cid = int(idx.data(Qt.ItemDataRole.UserRole))
    flagged = table.loc[table.qc_flagged]
    assert cid == int(flagged.loc[flagged.area_um2.idxmin(), "cell_id"])
    rec = table.set_index("cell_id").loc[cid]
    np.testing.assert_allclose(camera_of(viewer).center[-2:],
                               (rec.centroid_row * 0.5, rec.centroid_col * 0.5))
    assert labels.selected_label == cid

    qtbot.keyClick(viewer.window._qt_viewer, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    assert cell_table_of(labels).set_index("cell_id").loc[cid, "qc_status"] == "accepted"
    ov = viewer.layers[OVERLAY].data
    r, c = np.argwhere(labels.data == cid)[0]
    np.testing.assert_allclose(ov[r, c], qc.QC_COLOURS[qc.QC_ACCEPTED_CODE])

    qtbot.keyClick(viewer.window._qt_viewer, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    nxt = labels.selected_label
    assert nxt != cid
    qtbot.keyClick(viewer.window._qt_viewer, Qt.Key.Key_R, Qt.KeyboardModifier.ShiftModifier)
    assert cell_table_of(labels).set_index("cell_id").loc[nxt, "qc_status"] == "rejected"
    assert nxt not in qc.usable_cells(cell_table_of(labels))["cell_id"].tolist()


def test_delete_merge_split_undo(make_napari_viewer, sample, qtbot):
    viewer, w, labels = open_viewer(make_napari_viewer, sample)
    w.find_suspicious()
    lab0 = labels.data.copy()
    t0 = cell_table_of(labels)
    ids = t0.cell_id.tolist()
    a, b, c = ids[10], ids[11], ids[20]

    w.go_to_cell(a)
    w.delete()
    assert a not in labels.data and a not in cell_table_of(labels).cell_id.tolist()

    w.go_to_cell(b)
    w.merge()
    w.merge_with(c)
    keep, gone = min(b, c), max(b, c)
    assert gone not in labels.data
    assert (labels.data == keep).sum() == (lab0 == b).sum() + (lab0 == c).sum()
    assert gone not in cell_table_of(labels).cell_id.tolist()

    # split: first press creates the line layer, then draw a line across, press again
    big = int(t0.loc[t0.area_um2.idxmax(), "cell_id"])
    w.go_to_cell(big)
    w.split()
    assert SPLIT in viewer.layers
    r0, r1, c0, c1 = cell_box(labels.data, big)
    mid = (c0 + c1) / 2
    viewer.layers[SPLIT].add_paths(np.array([[r0 - 2, mid], [r1 + 2, mid]]) * 0.5)
    w.split()
    new_id = int(lab0.max()) + 1
    assert new_id in labels.data and new_id in cell_table_of(labels).cell_id.tolist()
    assert len(viewer.layers[SPLIT].data) == 0

    for _ in range(3):
        w.undo()
    np.testing.assert_array_equal(labels.data, lab0)
    t = cell_table_of(labels)
    assert t.cell_id.tolist() == t0.cell_id.tolist()
    np.testing.assert_allclose(t.area_um2, t0.area_um2)


def test_paint_updates_table(make_napari_viewer, sample, qtbot):
    _viewer, w, labels = open_viewer(make_napari_viewer, sample)
    w.find_suspicious()
    cid = int(cell_table_of(labels).cell_id.iloc[5])
    w.go_to_cell(cid)
    w.delete()  # creates the edit history, which listens to painting
    w.undo()
    before = cell_table_of(labels).set_index("cell_id").loc[cid, "area_um2"]
    r0, r1, c0, c1 = cell_box(labels.data, cid)
    labels.paint((r0 + (r1 - r0) // 2, c0 + (c1 - c0) // 2), 0, refresh=True)  # erase a blob
    qtbot.waitUntil(lambda: cell_table_of(labels).set_index("cell_id").loc[
        cid, "area_um2"] != before, timeout=5000)
    after = cell_table_of(labels).set_index("cell_id").loc[cid, "area_um2"]
    assert after < before
    assert after == pytest.approx((labels.data == cid).sum() * 0.25)


def test_measures_when_no_table(make_napari_viewer, sample, qtbot):
    _viewer, w, labels = open_viewer(make_napari_viewer, sample, measured=False)
    w.find_suspicious()
    qtbot.waitUntil(lambda: "qc_flagged" in labels.features.columns, timeout=30000)
    t = cell_table_of(labels)
    assert len(t) == len(np.unique(labels.data)) - 1
    assert "mean_DAPI" in t.columns and w.proxy.rowCount() == int(t.qc_flagged.sum())


def test_errors_are_notifications(make_napari_viewer, sample, qtbot, monkeypatch):
    shown = []
    monkeypatch.setattr("napari_dvp._qt._common.show_error", shown.append)
    _viewer, w, labels = open_viewer(make_napari_viewer, sample)
    labels.selected_label = 0
    w.accept()
    w.merge_with(3)
    assert any("select a cell first" in s for s in shown)
    assert any("Merge with" in s for s in shown)


def test_labels_of_another_size_measure_shapes_only(make_napari_viewer, sample, qtbot,
                                                    monkeypatch):
    warned = []
    monkeypatch.setattr("napari_dvp._qt.review.widget.show_warning", warned.append)
    viewer = make_napari_viewer()
    viewer.add_image(sample.image[0], name="DAPI")
    labels = viewer.add_labels(sample.labels[:200, :180].copy(), name="cells")
    w = ReviewWidget(viewer)
    w.find_suspicious()
    qtbot.waitUntil(lambda: "qc_flagged" in labels.features.columns, timeout=30000)
    assert warned and "(200, 180)" in warned[0]
    t = cell_table_of(labels)
    assert "area_um2" in t.columns and not any(c.startswith("mean_") for c in t.columns)


def test_merge_by_clicking_the_other_cell(make_napari_viewer, sample, qtbot):
    from types import SimpleNamespace

    viewer, w, labels = open_viewer(make_napari_viewer, sample)
    t0 = cell_table_of(labels)
    a, b = int(t0.cell_id.iloc[3]), int(t0.cell_id.iloc[4])
    w.go_to_cell(a)
    w.merge()
    assert w._pick_other in labels.mouse_drag_callbacks
    assert viewer.layers.selection.active is labels
    r, c = np.argwhere(labels.data == b)[0]
    # the layer calls its drag callbacks with the click's world position
    for cb in list(labels.mouse_drag_callbacks):
        if cb == w._pick_other:
            cb(labels, SimpleNamespace(position=(r * 0.5, c * 0.5)))
    assert w._pick_other not in labels.mouse_drag_callbacks
    assert max(a, b) not in labels.data
    assert max(a, b) not in cell_table_of(labels).cell_id.tolist()


def test_list_starts_most_suspicious_first(make_napari_viewer, sample, qtbot):
    _viewer, w, labels = open_viewer(make_napari_viewer, sample)
    w.min_area.setValue(60.0)
    w.find_suspicious()
    shown = [int(w.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole))
             for r in range(w.proxy.rowCount())]
    assert shown == qc.suspicious(cell_table_of(labels), include_decided=True).cell_id.tolist()
