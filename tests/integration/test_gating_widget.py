"""Gating widget: histogram threshold drag, spin box sync, live overlay, apply, save/load."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt.classes.gating_widget import GatingWidget
from unit._classes_data import make_tissue


@pytest.fixture
def setup(make_napari_viewer):
    image, labels, table, truth, _ = make_tissue()
    viewer = make_napari_viewer()
    viewer.add_image(image[1], name="panCK")
    lab = viewer.add_labels(labels, name="cells")
    set_cell_table(lab, table)
    w = GatingWidget(viewer)
    viewer.window.add_dock_widget(w, name="Gating")
    return viewer, w, lab, truth, labels


def _mouse(w, name, x):
    px, py = w.ax.transData.transform((x, 1.0))
    ev = MouseEvent(name, w.canvas, px, py, button=1)
    w.canvas.callbacks.process(name, ev)


def test_defaults_preview_and_accuracy(setup, qtbot):
    viewer, w, lab, truth, labels = setup
    assert w.marker.count() == 5 and w.rules.rowCount() == 3
    qtbot.waitUntil(lambda: "cell classes" in viewer.layers, timeout=3000)
    overlay = viewer.layers["cell classes"]
    assert overlay.data.dtype == np.uint8 and overlay.data.shape == labels.shape
    # the overlay shows code k+1 of class k on the cell's pixels
    names = ["", *w.scheme().class_names]
    cid = int(truth.index[truth.true_class == "keratinocyte"][0]) + 1
    assert names[overlay.data[labels == cid][0]] == "keratinocyte"
    w.apply()
    got = cell_table_of(lab)["class"]
    for cls in ("keratinocyte", "CD8 T cell", "macrophage"):
        sel = truth["true_class"] == cls
        assert (got[sel] == cls).mean() > 0.97, cls
    assert any("keratinocyte (" in t for t in w.legend.texts())


def test_drag_threshold_line_updates_spin_and_overlay(setup, qtbot):
    viewer, w, _, _, labels = setup
    w.marker.setCurrentText("panCK")
    qtbot.waitUntil(lambda: "cell classes" in viewer.layers, timeout=3000)
    before = int((viewer.layers["cell classes"].data == 1).sum())
    _mouse(w, "button_press_event", 50.0)
    _mouse(w, "motion_notify_event", 5.0)
    _mouse(w, "button_release_event", 5.0)
    assert w.thresholds["panCK"] == pytest.approx(5.0, abs=2.0)
    assert w.spin.value() == pytest.approx(w.thresholds["panCK"])
    assert w.line.get_xdata()[0] == pytest.approx(w.thresholds["panCK"])
    # every cell is panCK+ now: all cells keratinocyte
    qtbot.waitUntil(lambda: int((viewer.layers["cell classes"].data == 1).sum()) > before,
                    timeout=3000)
    assert (viewer.layers["cell classes"].data[labels > 0] == 1).all()
    w.spin.setValue(1e6)  # nobody panCK+
    qtbot.waitUntil(lambda: not (viewer.layers["cell classes"].data == 1).any(), timeout=3000)
    assert w.line.get_xdata()[0] == 1e6


def test_save_load_rules(setup, tmp_path, qtbot):
    _, w, _, _, _ = setup
    w.set_threshold("CD8", 123.0)
    w.add_rule("pSTAT1 high", "pSTAT1+")
    w.save(str(tmp_path / "g.json"))
    w.rules.setRowCount(0)
    w.thresholds["CD8"] = 1.0
    w.load(str(tmp_path / "g.json"))
    assert w.rules.rowCount() == 4 and w.thresholds["CD8"] == 123.0
    assert w.scheme().rules[-1].expr == "pSTAT1+"


def test_bad_rule_is_a_notification_not_a_crash(setup, qtbot, monkeypatch):
    _, w, _, _, _ = setup
    shown = []
    monkeypatch.setattr("napari_dvp._qt._common.show_error", shown.append)
    w.add_rule("oops", "CD4+")
    w.preview()
    assert shown and "unknown marker 'CD4'" in shown[-1]
