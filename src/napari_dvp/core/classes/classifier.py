"""Interactive cell classifier: a random forest trained on example cells.

The user marks a few dozen example cells per class (number keys in napari);
:class:`CellClassifier` trains a scikit-learn random forest on their
measurements (intensities, size, shape; never the position, so it generalises
across the section) and predicts every cell with class probabilities.

Saved files are joblib pickles with the feature list and class names beside
the model; :func:`load_classifier` refuses a file trained on another feature
set. Like every pickle, only load classifier files you or your lab made.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..cells.columns import CELL_ID, CLASS, validate
from ..errors import DvpInputError

FORMAT = "napari-dvp cell classifier"
PROBABILITY = "class_probability"  #: column: probability of the predicted class
PROB_PREFIX = "prob_"  #: per-class probability columns ``prob_<class>``

_FEATURE_PREFIXES = ("mean_", "median_")
_FEATURE_COLUMNS = ("area_um2", "eccentricity", "solidity", "perimeter_um")


def default_features(table: pd.DataFrame) -> list[str]:
    """Measurement columns a classifier should use: intensities, area and shape.

    Positions, ids, QC flags and previous results are left out.
    """
    feats = [c for c in table.columns
             if (str(c).startswith(_FEATURE_PREFIXES) or c in _FEATURE_COLUMNS)
             and pd.api.types.is_numeric_dtype(table[c])
             and not pd.api.types.is_bool_dtype(table[c])]
    if not feats:
        raise DvpInputError("cell table has no measurement columns (mean_<channel>, "
                            "area_um2 …); measure the cells first")
    return feats


def prob_column(class_name: str) -> str:
    """Name of the probability column of ``class_name``."""
    return f"{PROB_PREFIX}{class_name}"


@dataclass
class CellClassifier:
    """Random forest over cell measurements.

    Parameters
    ----------
    features
        Measurement columns used; default: :func:`default_features` at first training.
    n_estimators, max_depth, random_state
        Random-forest settings (100 trees, n_jobs=1 keeps the GUI responsive).
    """

    features: list[str] = field(default_factory=list)
    n_estimators: int = 100
    max_depth: int | None = None
    random_state: int = 0
    classes: list[str] = field(default_factory=list)
    n_examples: int = 0
    model: object = None

    @property
    def is_trained(self) -> bool:
        """True once :meth:`train` succeeded."""
        return self.model is not None

    def _matrix(self, table: pd.DataFrame) -> np.ndarray:
        check_features(table, self.features)
        x = table[self.features].to_numpy(dtype=np.float32)
        if not np.isfinite(x).all():
            x = np.where(np.isfinite(x), x, 0.0).astype(np.float32)
        return x

    def train(self, table: pd.DataFrame, examples: Mapping[int, str] | pd.Series
              ) -> CellClassifier:
        """Fit on example cells.

        Parameters
        ----------
        table
            The cell table (needs ``cell_id`` and the feature columns).
        examples
            ``{cell_id: class name}`` (or a Series indexed by cell id).

        Raises
        ------
        DvpInputError
            Fewer than two classes, or an example cell id not in the table.
        """
        from sklearn.ensemble import RandomForestClassifier

        validate(table)
        ex = pd.Series(examples, dtype=object).dropna()
        ex = ex[ex.astype(str).str.len() > 0]
        if ex.empty:
            raise DvpInputError("no example cells yet; mark cells with the number keys")
        classes = sorted(set(map(str, ex.to_numpy())), key=str)
        if len(classes) < 2:
            raise DvpInputError(f"only examples of class '{classes[0]}'; "
                                "mark cells of at least two classes")
        if not self.features:
            self.features = default_features(table)
        ids = table[CELL_ID].to_numpy()
        pos = pd.Index(ids).get_indexer(ex.index.to_numpy())
        if (pos < 0).any():
            missing = ex.index.to_numpy()[pos < 0][:5]
            raise DvpInputError(f"example cell id(s) {', '.join(map(str, missing))} are not "
                                "in the cell table; remeasure or remove those examples")
        x = self._matrix(table.iloc[pos])
        y = ex.astype(str).to_numpy()
        model = RandomForestClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth, n_jobs=1,
            random_state=self.random_state, class_weight="balanced")
        model.fit(x, y)
        self.model = model
        self.classes = [str(c) for c in model.classes_]
        self.n_examples = len(y)
        return self

    def predict(self, table: pd.DataFrame) -> pd.DataFrame:
        """Predict every cell.

        Returns
        -------
        pandas.DataFrame
            Same index as ``table``: ``class``, ``class_probability`` and one
            ``prob_<class>`` column per class.
        """
        if not self.is_trained:
            raise DvpInputError("the classifier is not trained yet; mark example cells first")
        if len(table) == 0:
            cols = [CLASS, PROBABILITY, *map(prob_column, self.classes)]
            return pd.DataFrame(columns=cols, index=table.index)
        proba = self.model.predict_proba(self._matrix(table)).astype(np.float32)
        best = proba.argmax(axis=1)
        out = pd.DataFrame(index=table.index)
        out[CLASS] = np.asarray(self.classes, dtype=object)[best]
        out[PROBABILITY] = proba[np.arange(len(best)), best]
        for k, c in enumerate(self.classes):
            out[prob_column(c)] = proba[:, k]
        return out


def check_features(table: pd.DataFrame, features: Sequence[str]) -> None:
    """Raise :class:`DvpInputError` unless ``table`` has every feature column."""
    missing = [f for f in features if f not in table.columns]
    if missing:
        raise DvpInputError(
            f"this classifier was trained on measurements the cell table lacks "
            f"({', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}); "
            "measure the same channels or train a new classifier")


def save_classifier(path: str | os.PathLike[str], clf: CellClassifier) -> None:
    """Save a trained classifier (joblib), atomically."""
    import joblib
    import sklearn

    if not clf.is_trained:
        raise DvpInputError("nothing to save: the classifier is not trained yet")
    payload = {
        "format": FORMAT, "version": 1, "sklearn_version": sklearn.__version__,
        "features": list(clf.features), "classes": list(clf.classes),
        "n_examples": clf.n_examples, "n_estimators": clf.n_estimators,
        "max_depth": clf.max_depth, "random_state": clf.random_state, "model": clf.model,
    }
    with atomic_path(path) as tmp:
        joblib.dump(payload, tmp, compress=3)


def load_classifier(path: str | os.PathLike[str], table: pd.DataFrame | None = None
                    ) -> CellClassifier:
    """Load a classifier saved by :func:`save_classifier`.

    Parameters
    ----------
    path
        The ``.joblib`` file.
    table
        If given, check it has every feature the classifier was trained on.

    Raises
    ------
    DvpInputError
        Not a classifier file, or trained on another feature set.
    """
    import joblib

    if not os.path.isfile(path):
        raise DvpInputError(f"classifier file {path} not found")
    try:
        payload = joblib.load(path)
    except Exception as exc:
        raise DvpInputError(f"{path} is not a napari-dvp classifier file "
                            f"({type(exc).__name__}); save one from the Cell classifier widget"
                            ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DvpInputError(f"{path} is not a napari-dvp classifier file; "
                            "save one from the Cell classifier widget")
    clf = CellClassifier(
        features=list(payload["features"]), n_estimators=int(payload["n_estimators"]),
        max_depth=payload["max_depth"], random_state=int(payload["random_state"]),
        classes=list(payload["classes"]), n_examples=int(payload["n_examples"]),
        model=payload["model"])
    n_in = getattr(clf.model, "n_features_in_", len(clf.features))
    if n_in != len(clf.features):
        raise DvpInputError(f"{path} is damaged: its model expects {n_in} features "
                            f"but lists {len(clf.features)}; train a new classifier")
    if table is not None:
        check_features(table, clf.features)
    return clf
