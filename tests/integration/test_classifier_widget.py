"""Classifier widget: number keys on the viewer mark cells, live retraining, save/load."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt.classes.classifier_widget import EXAMPLES, ClassifierWidget
from unit._classes_data import make_tissue


@pytest.fixture
def setup(make_napari_viewer):
    image, labels, table, truth, regions = make_tissue()
    from napari_dvp.core.regions import assign_regions

    table["region"] = assign_regions(table, regions)
    viewer = make_napari_viewer()
    viewer.add_image(image[1], name="panCK")
    lab = viewer.add_labels(labels, name="cells")
    set_cell_table(lab, table)
    w = ClassifierWidget(viewer)
    viewer.window.add_dock_widget(w, name="Cell classifier")
    return viewer, w, lab, table, truth


def _press(viewer, qtbot, key: int, row: float, col: float) -> None:
    viewer.cursor.position = (row, col)
    # a real Qt key event on the viewer widget, dispatched through napari's key map
    qtbot.keyClick(viewer.window._qt_viewer, getattr(Qt.Key, f"Key_{key}"))


def test_keys_mark_examples_and_classifier_learns(setup, qtbot):
    viewer, w, lab, table, truth = setup
    names = w.classes.names()
    assert names == ["keratinocyte", "CD8 T cell", "macrophage", "fibroblast"]
    rng = np.random.default_rng(0)
    marked = 0
    for k, cls in enumerate(names, start=1):
        ids = rng.choice(truth.cell_id[truth.true_class == cls].to_numpy(), 6, replace=False)
        for cid in ids:
            r = table.set_index("cell_id").loc[cid]
            _press(viewer, qtbot, k, round(r.centroid_row), round(r.centroid_col))
            marked += 1
    assert len(w.examples) == marked == 24
    assert len(viewer.layers[EXAMPLES].data) == 24
    qtbot.waitUntil(lambda: "class" in lab.features.columns, timeout=5000)
    qtbot.waitUntil(lambda: w.classifier is not None and w.classifier.n_examples == 24,
                    timeout=5000)
    got = cell_table_of(lab)
    acc = (got["class"].to_numpy() == truth["true_class"].to_numpy()).mean()
    print(f"widget classifier accuracy from 24 key-press examples: {acc:.3f}")
    assert acc > 0.95
    assert {"class_probability", "prob_macrophage"} <= set(got.columns)
    assert "cell classes" in viewer.layers
    assert w.summary.rowCount() == 4  # classes × regions table
    assert any(t.startswith("keratinocyte (") for t in w.legend.texts())
    # 0 unmarks the cell under the cursor; background does nothing
    first = next(iter(w.examples))
    r = table.set_index("cell_id").loc[first]
    _press(viewer, qtbot, 0, round(r.centroid_row), round(r.centroid_col))
    assert first not in w.examples
    _press(viewer, qtbot, 1, 0, 0)
    assert "No cell" in w.status.text()


def test_save_load_and_other_feature_set(setup, qtbot, tmp_path, monkeypatch):
    _, w, lab, table, truth = setup
    ex = truth.groupby("true_class").head(10)
    for cid, cls in zip(ex.cell_id, ex.true_class, strict=True):
        w.examples[int(cid)] = cls
    w.retrain()
    assert w.classifier is not None
    w.save(str(tmp_path / "c.joblib"))
    set_cell_table(lab, table[["cell_id", "centroid_row", "centroid_col", "mean_CD8"]])
    shown = []
    monkeypatch.setattr("napari_dvp._qt._common.show_error", shown.append)
    w.load(str(tmp_path / "c.joblib"))
    assert shown and "lacks" in shown[-1]
    set_cell_table(lab, table)
    w.load(str(tmp_path / "c.joblib"))
    assert (cell_table_of(lab)["class"] == truth["true_class"]).mean() > 0.9
