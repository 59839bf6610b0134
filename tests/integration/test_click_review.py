"""Review dock, clicked and keyed as a pathologist does.

One viewer with the synthetic biopsy (its hidden ground truth too) and an
unmeasured cells layer: measure (and cancel a measurement), walk the flagged
cells, decide with buttons and keys, delete / merge / split / paint, undo and
redo with buttons and Ctrl+Z / Ctrl+Shift+Z, pick the cells layer. Every button
of the dock is clicked (``clicker``).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from qtpy.QtCore import QEvent, QPoint, QPointF, Qt
from qtpy.QtGui import QMouseEvent
from qtpy.QtWidgets import QApplication

from napari_dvp._qt._common import cell_table_of
from napari_dvp._qt._slide import cells_layer, current_slide, role_of
from napari_dvp._qt.review import find as review_module
from napari_dvp._qt.review.table import camera_of
from napari_dvp._qt.review.widget import OUTLINE, OVERLAY, SPLIT, ReviewWidget
from napari_dvp._qt.slide.widget import SlideWidget
from napari_dvp._sample_data import TRUTH_LAYER, sample_layer_data
from napari_dvp.core.review import qc
from napari_dvp.core.review.edits import cell_box
from napari_dvp.core.synthetic import make_sample

pytestmark = [pytest.mark.gui, pytest.mark.slow]

SHIFT, CTRL = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier


def canvas_point(viewer, world_yx) -> QPoint:
    """Where a world point (µm) is on the canvas widget."""
    canvas = viewer.window._qt_viewer.canvas.native
    camera = camera_of(viewer)
    cy, cx = camera.center[-2:]
    z = camera.zoom
    return QPoint(round(canvas.width() / 2 + (world_yx[1] - cx) * z),
                  round(canvas.height() / 2 + (world_yx[0] - cy) * z))


def move_mouse(widget, pos: QPoint) -> None:
    """A mouse move to ``pos`` (QTest's mouseMove lands elsewhere on the vispy canvas)."""
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def row_of(dock, cid: int) -> int:
    ids = [int(dock.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole))
           for r in range(dock.proxy.rowCount())]
    return ids.index(cid)


def click_row(qtbot, dock, row: int) -> None:
    rect = dock.view.visualRect(dock.proxy.index(row, 0))
    dock.view.scrollTo(dock.proxy.index(row, 0))
    rect = dock.view.visualRect(dock.proxy.index(row, 0))
    qtbot.mouseClick(dock.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def status_of(layer, cid):
    return cell_table_of(layer).set_index("cell_id").loc[cid, "qc_status"]


@pytest.fixture
def biopsy(make_napari_viewer):
    """The viewer with the 256-px synthetic biopsy (+ hidden ground truth) and bare cells."""
    sample = make_sample(size=256, seed=0)
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1100, 700)  # small while clicking: software OpenGL is slow
    for data, kwargs, kind in sample_layer_data(sample):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    cells = viewer.add_labels(sample.labels.copy(), name="cells", scale=(0.5, 0.5),
                              units=("um", "um"), opacity=0.4)
    return viewer, cells, sample


def test_click_every_review_control(biopsy, qtbot, clicker, dialogs, errors, monkeypatch,
                                    screenshot_path):
    viewer, cells, sample = biopsy
    slide_dock = SlideWidget(viewer)
    viewer.window.add_dock_widget(slide_dock, name="Slide")
    dock = ReviewWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Review segmentation")
    qtbot.waitUntil(lambda: dock.isVisible(), timeout=5000)
    dock._dock().raise_()
    qtbot.waitUntil(lambda: dock.isVisible(), timeout=5000)
    click = clicker(dock)
    window = viewer.window._qt_viewer

    # the cells layer in use is shown; the hidden ground truth is offered, never picked
    assert dock.cells_combo.currentText() == "cells"
    assert f"{TRUTH_LAYER} (ground truth, hidden)" in [
        dock.cells_combo.itemText(i) for i in range(dock.cells_combo.count())]
    assert dock.nuclear_combo.currentText() == "DAPI"
    assert "pixel size 0.5 µm (from synthetic TEN" in dock.picker.note.text()

    # a measurement can be cancelled (a slow disk, simulated: the real measurement waits
    # after its first step until the test has pressed Cancel)
    reached, release = threading.Event(), threading.Event()
    real = review_module.triage_iter

    def slow_triage(*args, **kwargs):
        gen = real(*args, **kwargs)
        while True:
            try:
                step = next(gen)
            except StopIteration as stop:
                return stop.value
            yield step
            reached.set()
            release.wait(30)

    monkeypatch.setattr(review_module, "triage_iter", slow_triage)
    click.click("Find suspicious cells", wait_until=reached.is_set)
    assert not dock.find_btn.isEnabled()
    click.click("Cancel")
    release.set()
    qtbot.waitUntil(lambda: not dock.runner.running, timeout=30_000)
    assert "Cancelled" in dock.status.text()
    assert "area_um2" not in cells.features.columns and dock.find_btn.isEnabled()
    monkeypatch.setattr(review_module, "triage_iter", real)

    # set a threshold by typing (flags more cells), measure and flag for real
    spin = dock.form.params.min_area_um2.native
    spin.selectAll()
    qtbot.keyClicks(spin, "60")
    qtbot.keyClick(spin, Qt.Key.Key_Tab)
    click.click("Find suspicious cells", wait_until=lambda: "flagged" in dock.status.text())
    table = cell_table_of(cells)
    assert len(table) == len(np.unique(sample.labels)) - 1
    assert "mean_DAPI" in table.columns
    cid0 = int(table.cell_id.iloc[0])
    assert table.set_index("cell_id").loc[cid0, "area_um2"] == pytest.approx(
        (sample.labels == cid0).sum() * 0.25)
    n_flagged = int(table.qc_flagged.sum())
    assert dock.proxy.rowCount() == n_flagged > 3
    assert "measured first: the cells were never measured" in dock.status.text()
    shown = [int(dock.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole))
             for r in range(dock.proxy.rowCount())]
    assert shown == qc.suspicious(table, include_decided=True).cell_id.tolist(), \
        "most suspicious first"
    assert role_of(viewer.layers[OVERLAY]) == "overlay"
    assert slide_dock.slide_combo.count() == 1, "the QC overlay is never offered as a slide"

    # click a row: the view centres on the cell, selects and outlines it
    click_row(qtbot, dock, 0)
    cid = int(dock.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole))
    rec = cell_table_of(cells).set_index("cell_id").loc[cid]
    np.testing.assert_allclose(camera_of(viewer).center[-2:],
                               (rec.centroid_row * 0.5, rec.centroid_col * 0.5))
    assert cells.selected_label == cid
    outline = viewer.layers[OUTLINE]
    assert role_of(outline) == "preview" and tuple(outline.scale) == (0.5, 0.5)
    assert outline.shape_type == ["path"] * len(outline.data)
    r0, r1, c0, c1 = cell_box(cells.data, cid)
    pts = np.vstack(outline.data)
    np.testing.assert_allclose([pts[:, 0].min(), pts[:, 0].max()], [r0 - 0.5, r1 - 0.5])
    np.testing.assert_allclose([pts[:, 1].min(), pts[:, 1].max()], [c0 - 0.5, c1 - 0.5])

    # keys on the viewer window: accept, next, reject; Ctrl+Z / Ctrl+Shift+Z
    viewer.layers.selection.active = cells  # napari's own labels Ctrl+Z must not win
    qtbot.keyClick(window, Qt.Key.Key_A, SHIFT)
    assert status_of(cells, cid) == "accepted"
    r, c = np.argwhere(cells.data == cid)[0]
    np.testing.assert_allclose(viewer.layers[OVERLAY].data[r, c], qc.QC_COLOURS[2])
    qtbot.keyClick(window, Qt.Key.Key_N, SHIFT)
    nxt = int(cells.selected_label)
    assert nxt != cid and status_of(cells, nxt) == "pending"
    qtbot.keyClick(window, Qt.Key.Key_R, SHIFT)
    assert status_of(cells, nxt) == "rejected"
    assert nxt not in qc.usable_cells(cell_table_of(cells)).cell_id.tolist()
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert status_of(cells, nxt) == "pending"
    viewer.layers.selection.active = viewer.layers["DAPI"]  # the viewer's binding
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert status_of(cells, nxt) == "rejected"

    # the same with the buttons
    click.click("Accept")
    assert status_of(cells, nxt) == "accepted"
    click.click("Reject")
    assert status_of(cells, nxt) == "rejected"
    click.click("Next flagged")
    third = int(cells.selected_label)
    assert third not in (cid, nxt) and status_of(cells, third) == "pending"

    # delete, undo, redo, undo
    lab0, n0 = cells.data.copy(), len(cell_table_of(cells))
    click.click("Delete")
    assert third not in cells.data and len(cell_table_of(cells)) == n0 - 1
    click.click("Undo")
    np.testing.assert_array_equal(cells.data, lab0)
    click.click("Redo")
    assert third not in cells.data
    click.click("Undo")
    assert len(cell_table_of(cells)) == n0

    # merge: select a cell, press Merge with…, click the other cell on the image
    t = cell_table_of(cells)
    a = int(t.cell_id.iloc[3])
    others = t.loc[t.cell_id != a]
    d2 = (others.centroid_row - t.centroid_row.iloc[3]) ** 2 + \
        (others.centroid_col - t.centroid_col.iloc[3]) ** 2
    b = int(others.cell_id.iloc[int(np.argmin(d2.to_numpy()))])
    dock.go_to_cell(a)  # as clicking its row does
    click.click("Merge with")
    rr, cc = np.argwhere(cells.data == b)[len(np.argwhere(cells.data == b)) // 2]
    camera_of(viewer).center = (rr * 0.5, cc * 0.5)  # the user pans to the other cell
    camera_of(viewer).zoom = 8
    qtbot.wait(50)
    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(viewer, (rr * .5,
                                                                                 cc * .5)))
    qtbot.waitUntil(lambda: max(a, b) not in cells.data, timeout=5000)
    assert max(a, b) not in cell_table_of(cells).cell_id.tolist()
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)
    assert max(a, b) in cells.data

    # split the largest cell: press Split, draw a line across it on the image, press Split
    t = cell_table_of(cells)
    big = int(t.loc[t.area_um2.idxmax(), "cell_id"])
    dock.go_to_cell(big)
    camera_of(viewer).zoom = 6
    click.click("Split")
    shapes = viewer.layers[SPLIT]
    assert shapes.mode == "add_polyline" and role_of(shapes) == "preview"
    r0, r1, c0, c1 = cell_box(cells.data, big)
    mid = (c0 + c1) / 2
    start = canvas_point(viewer, ((r0 - 2) * 0.5, mid * 0.5))
    end = canvas_point(viewer, ((r1 + 2) * 0.5, mid * 0.5))
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=start)
    move_mouse(canvas, end)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=end)
    qtbot.mouseDClick(canvas, Qt.MouseButton.LeftButton, pos=end)
    qtbot.waitUntil(lambda: len(shapes.data) == 1, timeout=5000)
    np.testing.assert_allclose(shapes.data[-1][[0, -1]], [[r0 - 2, mid], [r1 + 2, mid]],
                               atol=0.2)
    new_id = int(max(cells.data.max(), cell_table_of(cells).cell_id.max())) + 1
    click.click("Split")
    assert new_id in cells.data and new_id in cell_table_of(cells).cell_id.tolist()
    assert len(shapes.data) == 0

    # paint: erase part of a cell with napari's eraser (a mouse stroke); Ctrl+Z undoes it
    t = cell_table_of(cells).set_index("cell_id")
    victim = int(t.index[10])
    before = float(t.loc[victim, "area_um2"])
    rows, cols = np.nonzero(cells.data == victim)
    centre = (rows.mean() * 0.5, cols.mean() * 0.5)
    camera_of(viewer).center = centre
    viewer.layers.selection.active = cells
    cells.mode = "erase"
    cells.brush_size = 4
    qtbot.wait(50)
    n_before = (cells.data == victim).sum()
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas_point(viewer, centre))
    qtbot.wait(100)
    print("DBG", n_before, (cells.data == victim).sum(), cells.mode, len(cells._undo_history),
          viewer.layers.selection.active, canvas_point(viewer, centre), canvas.size(),
          cells.get_value(centre, world=True))
    qtbot.waitUntil(lambda: cell_table_of(cells).set_index("cell_id").loc[
        victim, "area_um2"] < before, timeout=5000)
    after = cell_table_of(cells).set_index("cell_id").loc[victim, "area_um2"]
    assert after == pytest.approx((cells.data == victim).sum() * 0.25)
    cells.mode = "pan_zoom"
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # the stroke: napari's undo + re-measure
    assert cell_table_of(cells).set_index("cell_id").loc[victim, "area_um2"] == \
        pytest.approx(before)
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert cell_table_of(cells).set_index("cell_id").loc[victim, "area_um2"] == \
        pytest.approx(after)

    # QC colours off and on; border flag off (flags again at once, no measuring)
    click.click("Colour cells by QC state")
    assert not viewer.layers[OVERLAY].visible
    click.click("Colour cells by QC state")
    assert viewer.layers[OVERLAY].visible
    before_flags = int(cell_table_of(cells).qc_flagged.sum())
    click.click("Flag cells cut by the image border")
    click.click("Find suspicious cells")
    table = cell_table_of(cells)
    assert int(table.qc_flagged.sum()) < before_flags and not table.qc_border.any()
    assert "measured first" not in dock.status.text()
    assert status_of(cells, nxt) == "rejected", "decisions survive flagging again"

    # pick the ground truth deliberately: every dock then uses it
    combo = dock.cells_combo
    combo.setCurrentIndex(combo.findData(TRUTH_LAYER))
    combo.activated.emit(combo.currentIndex())  # as choosing it in the drop-down does
    assert current_slide(viewer).cells == TRUTH_LAYER
    assert cells_layer(viewer).name == TRUTH_LAYER
    combo.setCurrentIndex(combo.findData("cells"))
    combo.activated.emit(combo.currentIndex())
    assert cells_layer(viewer) is cells

    # screenshot: the dock in the tab group, a flagged cell outlined
    viewer.layers.remove(SPLIT)
    viewer.window._qt_window.resize(1920, 1080)
    qtbot.wait(50)
    viewer.window._qt_window.resizeDocks([dock._dock()], [560], Qt.Orientation.Horizontal)
    qtbot.wait(100)
    click_row(qtbot, dock, 2)
    camera_of(viewer).zoom = 9
    dock._dock().raise_()
    qtbot.wait(300)
    outline = viewer.layers[OUTLINE]
    assert len(outline.data) and np.allclose(outline.edge_color, [0, 229 / 255, 1, 1])
    viewer.window._qt_window.grab().save(str(screenshot_path("review_widget.png")))
    dialogs.done()


def test_wrong_clicks_say_what_to_do(make_napari_viewer, qtbot, clicker, errors):
    """No selection, nothing to undo, labels of another size: one line each, no traceback."""
    sample = make_sample(size=256, seed=0)
    viewer = make_napari_viewer()
    viewer.add_image(sample.image[0], name="DAPI", scale=(0.5, 0.5), units=("um", "um"),
                     metadata={"slide": "biopsy", "pixel_size_um": 0.5})
    cells = viewer.add_labels(sample.labels[:200, :180].copy(), name="cells", scale=(0.5, 0.5),
                              units=("um", "um"))
    dock = ReviewWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Review segmentation")
    click = clicker(dock, check_all=False)
    click.click("Accept", allow_error="no cells measured yet")
    assert errors[-1] == "no cells measured yet: press 'Find suspicious cells' first"
    click.click("Find suspicious cells", wait_until=lambda: "flagged" in dock.status.text())
    assert any("(200, 180): measuring shapes only" in w for w in errors.warnings)
    table = cell_table_of(cells)
    assert "area_um2" in table.columns and not any(c.startswith("mean_") for c in table.columns)
    cells.selected_label = 0
    click.click("Merge with", allow_error="select a cell first")
    assert errors[-1] == "select a cell first: click a row of the list"
    n = len(errors)
    click.click("Undo")
    click.click("Redo")
    assert len(errors) == n, "nothing to undo is not an error"
