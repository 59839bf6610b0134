"""The LMD export dock widget in a real napari viewer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_dvp._qt._common import set_cell_table
from napari_dvp._qt.lmd.widget import CAL_LAYER, PREVIEW_LAYER, LmdWidget
from unit._lmd_synth import make_tissue  # tests/ is on sys.path (rootdir conftest)


@pytest.fixture
def widget(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    labels, cells = make_tissue(300)
    layer = viewer.add_labels(labels, name="cells", metadata={"pixel_size_um": 0.5})
    set_cell_table(layer, cells)
    w = LmdWidget(viewer)
    viewer.window.add_dock_widget(w, name="LMD export")
    return viewer, w


def test_plan_preview_calibrate_export(widget, qtbot, tmp_path):
    viewer, w = widget
    assert w.labels_box.currentText() == "cells"
    assert w.pixel.value() == pytest.approx(0.5)
    assert w.groups.count() == 4
    for i in range(w.groups.count()):
        if "epidermis" in w.groups.item(i).text():
            w.groups.item(i).setSelected(True)
    assert len(w.chosen_groups()) == 2
    w.target_kind.setCurrentIndex(1)
    w.target.setValue(12)
    w.replicates.setValue(2)
    w.mode.setCurrentIndex(1)
    w.make_plan()
    plan = w.table.plan()
    assert len(plan) == 4 and (plan["n_cells"] == 12).all()
    # preview: one RGBA image through a lookup table, cells coloured by well
    prev = viewer.layers[PREVIEW_LAYER]
    assert prev.data.shape == (300, 300, 4)
    first = plan["cell_ids"][0][0]
    labels = viewer.layers["cells"].data
    assert prev.data[labels == first][:, 3].min() > 0
    assert prev.data[labels == 0][:, 3].max() == 0
    # edit: rename, move to another well, drop one
    w.table.item(0, 0).setText("keratinocyte_patch_1")
    w.table.item(0, 1).setText("c5")
    w.table.selectRow(3)
    assert "LMD sample outlines" in viewer.layers
    w.table.drop_selected()
    plan = w.table.plan()
    assert len(plan) == 3 and plan.at[0, "sample_id"] == "keratinocyte_patch_1"
    assert plan.at[0, "well"] == "C5"
    w.order.setCurrentText("column")  # the grey (automatic) wells follow the collector
    assert [w.table.item(r, 1).text() for r in range(3)] == ["C5", "A1", "B1"]
    w.order.setCurrentText("row")
    # calibration: guided, validated
    w.pick_calibration()
    pts = viewer.layers[CAL_LAYER]
    assert "mark 1 of 3" in w.cal_status.text()
    pts.add([5, 5])
    pts.add([5, 290])
    assert "mark 3 of 3" in w.cal_status.text()
    pts.add([10, 290])
    assert "Not usable" in w.cal_status.text()
    pts.data = np.array([[5.0, 5.0], [5.0, 290.0], [290.0, 150.0]])
    assert "OK" in w.cal_status.text()
    w.show()
    viewer.window._qt_window.grab().save(str(tmp_path / "lmd_widget.png"))
    # export in the background
    out = tmp_path / "export"
    w.export_to(out)
    qtbot.waitUntil(lambda: w.result is not None, timeout=60_000)
    manifest = pd.read_csv(out / "manifest.csv")
    assert manifest["sample_id"].tolist()[0] == "keratinocyte_patch_1"
    assert manifest["well"].tolist() == ["C5", "A1", "A2"]
    assert [w.table.item(r, 1).text() for r in range(3)] == ["C5", "A1", "A2"]
    assert len(list(out.glob("*.xml"))) == 1
    assert w.progress.value() == w.progress.maximum()


def test_export_without_marks_is_reported(widget, qtbot, tmp_path, monkeypatch):
    _, w = widget
    shown = []
    monkeypatch.setattr("napari_dvp._qt._common.show_error", shown.append)
    w.export_to(tmp_path / "x")
    assert shown and "calibration" in shown[0]
    assert not (tmp_path / "x").exists()


def test_groups_follow_classes_written_after_the_widget_opened(make_napari_viewer, qtbot):
    """Docked before gating/regions: the group list picks up class and region when they come."""
    viewer = make_napari_viewer()
    labels, cells = make_tissue(300)
    w = LmdWidget(viewer)
    layer = viewer.add_labels(labels, name="cells", metadata={"pixel_size_um": 0.5})
    set_cell_table(layer, cells.drop(columns=["class", "region"]))
    assert w.groups.count() <= 1
    set_cell_table(layer, cells)  # as the Gating / Regions widgets do
    assert w.groups.count() == 4
