"""Interactive cell classifier: a random forest trained on example cells.

The user marks a few dozen example cells per class (number keys in napari);
:class:`CellClassifier` trains a scikit-learn random forest on their
measurements (intensities, size, shape; never the position, so it generalises
across the section) and predicts every cell with class probabilities.

Saved files hold data only (no pickle, nothing that can run code): a zip of
numeric arrays (numpy ``.npz``) with the forest's nodes
(:class:`~napari_dvp.core.classes.forest.ForestArrays`) and a JSON record of
the features, classes and settings. :func:`load_classifier` opens them with
``allow_pickle=False`` and validates every array, refuses a file trained on
another feature set, and refuses old pickle (``.joblib``) classifiers — they
run code when opened — unless the caller passes ``trust=True`` for a file the
user made. :func:`is_executable_payload` tells whether bytes hold such code
(``project check`` uses it).

Why not skops? Its format is also data-only, but it restores any type on an
allow-list through a generic loader (several of its releases had allow-list
bypasses) and adds a dependency; the forest's arrays are all prediction needs,
and they load with plain numpy across scikit-learn versions.
"""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..cells.columns import CELL_ID, CLASS, validate
from ..errors import DvpInputError
from .forest import ForestArrays

FORMAT = "napari-dvp cell classifier"
FILE_VERSION = 2  #: 1 was a joblib pickle (refused unless trusted)
SUFFIX = ".npz"  #: file name ending of saved classifiers
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


class UntrustedCodeWarning(UserWarning):
    """A pickle classifier was loaded because the caller trusted it (it may run code)."""


def classifier_to_bytes(clf: CellClassifier) -> bytes:
    """The bytes of a saved classifier file (data only; see the module docstring)."""
    if not clf.is_trained:
        raise DvpInputError("nothing to save: the classifier is not trained yet")
    model = clf.model if isinstance(clf.model, ForestArrays) else ForestArrays.from_sklearn(
        clf.model)
    try:
        import sklearn

        trained_with = sklearn.__version__
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        trained_with = None
    meta = {
        "format": FORMAT, "version": FILE_VERSION, "sklearn_version": trained_with,
        "features": [str(f) for f in clf.features], "classes": [str(c) for c in clf.classes],
        "n_examples": int(clf.n_examples), "n_estimators": int(clf.n_estimators),
        "max_depth": None if clf.max_depth is None else int(clf.max_depth),
        "random_state": int(clf.random_state), "n_features": model.n_features,
    }
    buf = io.BytesIO()
    arrays = {k: getattr(model, k) for k in ForestArrays.ARRAYS}
    np.savez_compressed(buf, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8),
                        **arrays)
    return buf.getvalue()


def save_classifier(path: str | os.PathLike[str], clf: CellClassifier) -> None:
    """Save a trained classifier (data-only ``.npz``, see the module docstring), atomically."""
    data = classifier_to_bytes(clf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


_PICKLE_FIRST = {"PROTO", "FRAME", "MARK", "EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE", "GLOBAL",
                 "STACK_GLOBAL", "INST", "OBJ", "SHORT_BINUNICODE", "BINUNICODE"}


def _looks_like_pickle(data: bytes) -> bool:
    """Whether ``data`` starts a pickle stream (parsed with pickletools, never executed)."""
    import pickletools

    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return True
    try:
        for k, (op, _arg, _pos) in enumerate(pickletools.genops(io.BytesIO(data))):
            if k == 0 and op.name not in _PICKLE_FIRST:
                return False
            if op.name == "STOP" or k >= 32:
                return True
    except Exception:
        return False
    return False


def _decompressed_head(data: bytes, n: int = 1 << 16) -> bytes | None:
    """The first ``n`` decompressed bytes of a gzip/zlib/bz2/xz/lzma stream (else None)."""
    import bz2
    import lzma
    import zlib

    try:
        if data.startswith(b"ZF"):  # joblib's own zlib container: 'ZF' + hex length + zlib
            start = data.find(b"x", 2, 40)
            return zlib.decompressobj().decompress(data[start:], n) if start > 0 else None
        if data[:1] == b"\x78":
            return zlib.decompressobj().decompress(data, n)
        if data.startswith(b"\x1f\x8b"):
            return zlib.decompressobj(31).decompress(data, n)
        if data.startswith(b"BZh"):
            return bz2.BZ2Decompressor().decompress(data, n)
        if data.startswith((b"\xfd7zXZ\x00", b"\x5d\x00\x00")):
            return lzma.LZMADecompressor().decompress(data, n)
    except Exception:
        return None
    return None


def is_executable_payload(data: bytes) -> bool:
    """Whether ``data`` holds something that runs code when opened.

    True for pickle streams (joblib files, plain or compressed with zlib,
    gzip, bz2, xz/lzma) and for numpy ``.npy``/``.npz`` data holding Python
    objects (which numpy stores as pickles). Nothing is unpickled or loaded:
    pickles are parsed with :mod:`pickletools`, numpy headers read.
    """
    data = bytes(data[: 64 << 20]) if len(data) > 64 << 20 else bytes(data)
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for name in zf.namelist()[:1000]:
                    with zf.open(name) as fh:
                        head = fh.read(1 << 16)
                    if _npy_has_objects(head) or _looks_like_pickle(head):
                        return True
        except Exception:
            return False
        return False
    if data.startswith(b"\x93NUMPY"):
        return _npy_has_objects(data)
    if _looks_like_pickle(data):
        return True
    head = _decompressed_head(data)
    return head is not None and (_looks_like_pickle(head) or _npy_has_objects(head))


def _npy_has_objects(head: bytes) -> bool:
    if not head.startswith(b"\x93NUMPY"):
        return False
    try:
        fh = io.BytesIO(head)
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            _shape, _order, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            _shape, _order, dtype = np.lib.format.read_array_header_2_0(fh)
    except Exception:
        return True  # a damaged header is treated as unsafe
    return bool(dtype.hasobject)


def load_classifier(source: str | os.PathLike[str] | bytes, table: pd.DataFrame | None = None,
                    *, trust: bool = False) -> CellClassifier:
    """Load a classifier saved by :func:`save_classifier` (a path or the file's bytes).

    Parameters
    ----------
    source
        The ``.npz`` file, or its bytes (e.g. from a project).
    table
        If given, check it has every feature the classifier was trained on.
    trust
        Also load an old pickle (``.joblib``) classifier. It can run any code:
        only for a file the user made; an :class:`UntrustedCodeWarning` is issued.

    Raises
    ------
    DvpInputError
        Not a classifier file, a pickle (unless ``trust``), damaged arrays, or
        trained on another feature set.
    """
    from ..limits import check_input_file

    if isinstance(source, bytes | bytearray | memoryview):
        data, name = bytes(source), "the classifier"
    else:
        path = check_input_file(source, "classifier file")
        data, name = path.read_bytes(), path.name
    not_ours = (f"{name} is not a napari-dvp classifier file; save one from the Cell "
                "classifier widget")
    if data.startswith(b"PK\x03\x04"):
        return _checked(_from_npz(data, name, not_ours), name, table)
    if is_executable_payload(data):
        if not trust:
            raise DvpInputError(
                f"{name} is a pickle (.joblib) file, which can run code when opened; "
                "napari-dvp does not open it. Retrain and save the classifier (.npz), or "
                "load it with --trust only if you made this file yourself")
        return _checked(_from_pickle(data, name, not_ours), name, table)
    raise DvpInputError(not_ours)


def _from_npz(data: bytes, name: str, not_ours: str) -> CellClassifier:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k in ("meta", *ForestArrays.ARRAYS)}
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DvpInputError(f"{name} holds Python objects (pickles), which can run code; "
                                "napari-dvp does not open it") from None
        raise DvpInputError(not_ours) from None
    except Exception:
        raise DvpInputError(not_ours) from None
    try:
        meta = json.loads(arrays.pop("meta").astype(np.uint8).tobytes().decode("utf-8"))
    except Exception:
        raise DvpInputError(not_ours) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DvpInputError(not_ours)
    if meta.get("version") != FILE_VERSION:
        raise DvpInputError(f"{name} was saved by another napari-dvp version (file version "
                            f"{meta.get('version')!r}); update napari-dvp or retrain")
    missing = [k for k in ForestArrays.ARRAYS if k not in arrays]
    if missing:
        raise DvpInputError(f"{name} is damaged (no {missing[0]} array); train and save the "
                            "classifier again")
    n_features = meta.get("n_features")
    if not isinstance(n_features, int) or isinstance(n_features, bool):
        raise DvpInputError(f"{name} is damaged (n_features {n_features!r}); train and save "
                            "the classifier again")
    forest = ForestArrays(**arrays, n_features=n_features).checked(name)
    return _from_meta(meta, forest, name)


def _from_pickle(data: bytes, name: str, not_ours: str) -> CellClassifier:
    import joblib

    warnings.warn(f"{name} is a pickle and was loaded because it was trusted; pickles can run "
                  "code — save the classifier again to get a data-only .npz",
                  UntrustedCodeWarning, stacklevel=3)
    try:
        payload = joblib.load(io.BytesIO(data))
    except Exception as exc:
        raise DvpInputError(f"{not_ours} ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DvpInputError(not_ours)
    return _from_meta(payload, payload.get("model"), name)


def _from_meta(meta: Mapping, model, name: str) -> CellClassifier:
    def bad(field_name: str) -> DvpInputError:
        return DvpInputError(f"{name} is damaged ({field_name} {meta.get(field_name)!r}); "
                             "train and save the classifier again")

    features, classes = meta.get("features"), meta.get("classes")
    if not isinstance(features, list) or not features or \
            not all(isinstance(f, str) for f in features) or len(set(features)) != len(features):
        raise bad("features")
    if not isinstance(classes, list) or len(classes) < 2 or \
            not all(isinstance(c, str) for c in classes) or len(set(classes)) != len(classes):
        raise bad("classes")
    from ..names import check_names

    check_names(classes, "class name", name)
    ints = {}
    for key, default in (("n_examples", 0), ("n_estimators", 100), ("random_state", 0)):
        v = meta.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise bad(key)
        ints[key] = v
    depth = meta.get("max_depth")
    if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 1):
        raise bad("max_depth")
    n_in = getattr(model, "n_features_in_", None)
    if n_in != len(features):
        raise DvpInputError(f"{name} is damaged: its model expects {n_in} features "
                            f"but lists {len(features)}; train a new classifier")
    n_classes = getattr(model, "n_classes", None) or len(getattr(model, "classes_", []))
    if n_classes != len(classes):
        raise DvpInputError(f"{name} is damaged: its model knows {n_classes} classes but "
                            f"lists {len(classes)}; train a new classifier")
    return CellClassifier(features=list(features), n_estimators=ints["n_estimators"],
                          max_depth=depth, random_state=ints["random_state"],
                          classes=list(classes), n_examples=ints["n_examples"], model=model)


def _checked(clf: CellClassifier, name: str, table: pd.DataFrame | None) -> CellClassifier:
    if table is not None:
        check_features(table, clf.features)
    return clf
