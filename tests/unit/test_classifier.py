"""Random-forest cell classifier: training on examples, prediction, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from napari_dvp.core.classes.classifier import (
    CellClassifier,
    default_features,
    load_classifier,
    save_classifier,
)
from napari_dvp.core.errors import DvpInputError

from ._classes_data import make_tissue


def _examples(truth, per_class=8, seed=0):
    rng = np.random.default_rng(seed)
    ex = {}
    for cls, grp in truth.groupby("true_class"):
        for cid in rng.choice(grp["cell_id"].to_numpy(), per_class, replace=False):
            ex[int(cid)] = cls
    return ex


def test_features_exclude_position_and_ids():
    _, _, table, _, _ = make_tissue()
    f = default_features(table)
    assert "mean_CD8" in f and "area_um2" in f
    assert not {"cell_id", "centroid_row", "centroid_col", "qc_status"} & set(f)


def test_few_dozen_examples_reach_high_accuracy():
    _, _, table, truth, _ = make_tissue()
    ex = _examples(truth, per_class=8)  # 32 clicked cells
    clf = CellClassifier().train(table, ex)
    pred = clf.predict(table)
    assert list(pred.columns[:2]) == ["class", "class_probability"]
    assert {f"prob_{c}" for c in clf.classes} <= set(pred.columns)
    probs = pred[[f"prob_{c}" for c in clf.classes]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(pred["class_probability"], probs.max(axis=1))
    acc = (pred["class"].to_numpy() == truth["true_class"].to_numpy()).mean()
    per = {c: (pred["class"][truth.true_class == c] == c).mean() for c in clf.classes}
    print(f"classifier accuracy from {len(ex)} examples: {acc:.3f}; per class",
          {k: round(v, 3) for k, v in per.items()})
    assert acc > 0.95


def test_training_errors():
    _, _, table, _, _ = make_tissue()
    with pytest.raises(DvpInputError, match="no example"):
        CellClassifier().train(table, {})
    with pytest.raises(DvpInputError, match="at least two classes"):
        CellClassifier().train(table, {1: "a", 2: "a"})
    with pytest.raises(DvpInputError, match="99999"):
        CellClassifier().train(table, {1: "a", 99999: "b"})
    with pytest.raises(DvpInputError, match="not trained"):
        CellClassifier().predict(table)


def test_save_load_and_feature_check(tmp_path):
    _, _, table, truth, _ = make_tissue()
    clf = CellClassifier(n_estimators=20).train(table, _examples(truth, 5))
    p = tmp_path / "clf.npz"
    save_classifier(p, clf)
    back = load_classifier(p, table)
    assert back.features == clf.features and back.classes == clf.classes
    assert (back.predict(table)["class"] == clf.predict(table)["class"]).all()
    other = table.drop(columns=["mean_CD8", "median_CD8"])
    with pytest.raises(DvpInputError, match="mean_CD8"):
        load_classifier(p, other)
    with pytest.raises(DvpInputError, match="lacks"):
        back.predict(other)


def test_load_bad_files(tmp_path):
    (tmp_path / "x.joblib").write_bytes(b"not a pickle")
    with pytest.raises(DvpInputError, match="not a napari-dvp classifier"):
        load_classifier(tmp_path / "x.joblib")
    import joblib

    joblib.dump({"something": 1}, tmp_path / "y.joblib")
    with pytest.raises(DvpInputError, match="is a pickle"):
        load_classifier(tmp_path / "y.joblib")
    with pytest.raises(DvpInputError, match="not found"):
        load_classifier(tmp_path / "none.joblib")
    with pytest.raises(DvpInputError, match="not trained"):
        save_classifier(tmp_path / "z.joblib", CellClassifier())
    assert not (tmp_path / "z.joblib").exists()
