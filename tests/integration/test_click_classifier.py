"""Classifier dock, used as a pathologist does: number keys, clicks on cells, every button.

One viewer with a measured synthetic biopsy (core functions, 384 px); the dock is
opened from the plugin menu entry. Number keys pick the class, mouse clicks on
the canvas mark cells, the forest trains in the background (Cancel tried while
it runs), and every button is clicked with its dialogs answered — including the
question before replacing the gating classes (No, then Yes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_dvp._qt._common import cell_table_of, update_cells
from napari_dvp._qt._session import session_of
from napari_dvp._qt._slide import role_of
from napari_dvp._qt.classes.examples import EXAMPLES
from napari_dvp.core.cells.table import provenance
from napari_dvp.core.classes.classifier import CellClassifier, save_classifier

from ._cells_sample import click_cell, measured_sample, open_in_viewer, press

pytestmark = [pytest.mark.gui]

CLASSES = ["keratinocyte", "CD8 T cell", "macrophage", "fibroblast"]


@pytest.fixture
def classifier(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sample = measured_sample()
    cells = open_in_viewer(viewer, sample)
    _, dock = viewer.window.add_plugin_dock_widget("napari-dvp", "Cell classifier")
    return viewer, dock, cells, sample


def trained_on(dock, n: int):
    return lambda: (not dock.runner.running and dock.classifier is not None
                    and dock.classifier.n_examples == n and not dock._timer.isActive())


@pytest.mark.slow
def test_every_key_and_button_of_the_classifier_dock(classifier, qtbot, clicker, dialogs,
                                                     tmp_path):
    viewer, dock, cells, sample = classifier
    click = clicker(dock)
    picker = dock.picker
    assert "<b>cells</b>" in dock.cells.label.text()
    assert picker.classes.names() == CLASSES

    # Mark examples: number keys pick the class, clicks on cells mark them
    click.click("Mark examples on the image")
    assert picker.mark_btn.isChecked() and viewer.layers.selection.active is cells
    rng = np.random.default_rng(0)
    chosen = {}
    for k, name in enumerate(CLASSES, start=1):
        press(viewer, qtbot, k)
        assert picker.picked() == name
        ids = sample.truth.index[sample.truth == name].to_numpy()
        for cid in rng.choice(ids, 4, replace=False):
            click_cell(viewer, qtbot, sample, int(cid))
            chosen[int(cid)] = name
    assert picker.examples == chosen
    points = viewer.layers[EXAMPLES]
    assert role_of(points) == "examples" and len(points.data) == 16
    assert viewer.layers.selection.active is cells
    # the forest trains in the background (marks during a job retrain afterwards)
    qtbot.waitUntil(trained_on(dock, 16), timeout=60_000)
    pred = dock.prediction.set_index("cell_id")["class"]
    acc = (pred.reindex(sample.truth.index) == sample.truth).mean()
    assert acc > 0.8, acc
    assert "classified" in dock.status.text()
    overlay = viewer.layers["cell classes"]
    assert role_of(overlay) == "overlay"
    some = next(iter(chosen))
    code = int(overlay.data[sample.labels == some][0])
    assert code == CLASSES.index(pred[some]) + 1
    rgb = overlay.colormap.map(np.array([code / overlay.contrast_limits[1]]))[0, :3]
    assert np.allclose(rgb * 255, picker.classes.color_map()[pred[some]], atol=2)
    assert dock.summary.rowCount() == len(set(pred))
    assert any(t.startswith("keratinocyte (") for t in dock.legend.texts())
    assert "class" not in cell_table_of(cells), "a preview writes nothing"

    # 0 then a click removes a mark
    press(viewer, qtbot, 0)
    assert picker.picked() is None
    click_cell(viewer, qtbot, sample, some)
    assert some not in picker.examples and len(points.data) == 15
    qtbot.waitUntil(trained_on(dock, 15), timeout=60_000)

    # Cancel while the forest trains: nothing changes
    press(viewer, qtbot, 1)
    extra = next(int(c) for c in sample.truth.index[sample.truth == "keratinocyte"]
                 if int(c) not in picker.examples)
    click_cell(viewer, qtbot, sample, extra)
    qtbot.waitUntil(lambda: dock.runner.running, timeout=5000)
    click.click("Cancel", wait_until=lambda: not dock.runner.running)
    assert dock.classifier.n_examples == 15 and "Cancelled" in dock.status.text()

    # Apply to cells: classes and probabilities merged into the table
    click.click("Apply to cells")
    got = cell_table_of(cells)
    assert provenance(got)["class"] == "classifier"
    assert {"class_probability", "prob_macrophage", "touches_border"} <= set(got.columns)
    assert got["class"].tolist() == dock.prediction["class"].tolist()
    assert session_of(viewer).get("classifier") is dock.classifier

    # Save classifier… / Load classifier…
    dialogs.save(tmp_path / "cells.joblib")
    click.click("Save classifier…")
    assert (tmp_path / "cells.joblib").stat().st_size > 0
    dialogs.open(tmp_path / "cells.joblib")
    click.click("Load classifier…", wait_until=lambda: "cells.joblib" in dock.status.text())
    assert dock.prediction["class"].tolist() == got["class"].tolist()

    # classes from gating: Apply asks before replacing them — No keeps them, Yes replaces
    ids = got["cell_id"]
    update_cells(cells, pd.DataFrame({"cell_id": ids, "class": "gated"}), step="gating",
                 replace_classes=True)
    dialogs.no()
    click.click("Apply to cells")
    assert (cell_table_of(cells)["class"] == "gated").all()
    assert "Nothing written" in dock.status.text()
    dialogs.yes()
    click.click("Apply to cells")
    assert cell_table_of(cells)["class"].tolist() == got["class"].tolist()
    assert any("Replace classes?" in q for q in dialogs.asked)

    # Add class (key 5 picks it), Remove class (its examples go), Clear examples
    click.click("Add class")
    assert picker.classes.names()[-1] == "class 5"
    press(viewer, qtbot, 5)
    assert picker.picked() == "class 5"
    click_cell(viewer, qtbot, sample, some)
    assert picker.examples[some] == "class 5"
    picker.classes.selectRow(4)
    click.click("Remove class")
    assert "class 5" not in picker.classes.names() and some not in picker.examples
    click.click("Clear examples")
    assert picker.examples == {} and len(points.data) == 0
    qtbot.waitUntil(lambda: not dock.runner.running and not dock._timer.isActive(),
                    timeout=60_000)
    assert "at least two classes" in dock.status.text()

    # Mark examples off: keys and clicks are napari's again
    click.click("Mark examples on the image")
    assert not picker.mark_btn.isChecked()
    assert viewer.mouse_drag_callbacks.count(picker._on_mouse) == 0
    before = picker.picked()
    press(viewer, qtbot, 2)
    assert picker.picked() == before
    dialogs.done()


def test_buttons_say_what_is_missing(classifier, clicker, dialogs, errors, tmp_path):
    """Apply or Save before any training, a classifier of other measurements: one line each."""
    _, dock, cells, sample = classifier
    click = clicker(dock, check_all=False)
    click.click("Apply to cells", allow_error="no classifier yet")
    click.click("Save classifier…", allow_error="nothing to save yet")
    assert any("mark example cells" in e for e in errors)
    other = sample.table.assign(mean_CD99=1.0)
    some = sample.truth.groupby(sample.truth).head(5)
    examples = dict(zip(some.index, some, strict=True))
    save_classifier(tmp_path / "other.joblib",
                    CellClassifier(n_estimators=5).train(other, examples))
    dialogs.open(tmp_path / "other.joblib")
    click.click("Load classifier…", allow_error="lacks")
    assert any("mean_CD99" in e for e in errors)
    assert "class" not in cell_table_of(cells) and dock.classifier is None
