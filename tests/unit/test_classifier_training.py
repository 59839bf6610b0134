"""The classifier as progress jobs: train, classify in blocks, what Apply writes, Cancel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_dvp.core.classes.classifier import CellClassifier
from napari_dvp.core.classes.training import apply_columns, predict_steps, train_and_predict
from napari_dvp.core.progress import run_to_end

from ._classes_data import make_tissue


def _examples(truth: pd.DataFrame) -> dict[int, str]:
    ex = truth.groupby("true_class").head(6)
    return dict(zip(ex["cell_id"], ex["true_class"], strict=True))


def test_blocks_give_the_same_classes_and_progress():
    _, _, table, truth, _ = make_tissue()
    steps = []
    clf, pred = run_to_end(train_and_predict(table, _examples(truth), chunk=97,
                                             n_estimators=20), lambda *s: steps.append(s))
    n_blocks = -(-len(table) // 97)
    assert [s[0] for s in steps] == list(range(n_blocks + 1))
    assert {s[1] for s in steps} == {n_blocks + 1} and "Training on 24" in steps[0][2]
    whole = clf.predict(table)
    assert pred["cell_id"].tolist() == table["cell_id"].tolist()
    assert pred["class"].tolist() == whole["class"].tolist()
    np.testing.assert_allclose(pred["class_probability"], whole["class_probability"])
    assert (pred["class"] == truth["true_class"]).mean() > 0.95


def test_cancel_between_blocks_returns_nothing():
    _, _, table, truth, _ = make_tissue()
    clf = CellClassifier(n_estimators=5).train(table, _examples(truth))
    gen = predict_steps(clf, table, chunk=50)
    assert next(gen)[0] == 0
    gen.close()  # what the job runner does on Cancel: no result, no error


def test_apply_columns_blank_probabilities_of_classes_gone():
    table = pd.DataFrame({"cell_id": [1, 2], "prob_old": [0.9, 0.1], "mean_A": [1.0, 2.0]})
    pred = pd.DataFrame({"cell_id": [1, 2], "class": ["a", "b"],
                         "class_probability": [0.8, 0.7], "prob_a": [0.8, 0.3],
                         "prob_b": [0.2, 0.7]})
    out = apply_columns(table, pred)
    assert list(out.columns) == ["cell_id", "class", "class_probability", "prob_a", "prob_b",
                                 "prob_old"]
    assert out["prob_old"].isna().all() and "mean_A" not in out
