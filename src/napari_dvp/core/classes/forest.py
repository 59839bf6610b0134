"""A trained random forest as plain arrays: saved without pickle, predicted with numpy.

scikit-learn's :class:`~sklearn.ensemble.RandomForestClassifier` can only be
saved by pickling it, and unpickling runs whatever code the file names. A
classifier file is shared between people and stored in projects, so
napari-dvp keeps only what prediction needs — per node: left and right child,
feature, threshold, class fractions — as numeric arrays (:class:`ForestArrays`)
and predicts with them. The probabilities equal scikit-learn's
``predict_proba`` exactly (same float32 inputs, same ``<=`` comparisons with
float64 thresholds, the trees' normalised leaf fractions summed in order).

Prediction hands the validated arrays to scikit-learn's compiled tree walker
(``sklearn.tree._tree.Tree``, rebuilt from the arrays as unpickling would,
but from numbers napari-dvp checked); if that internal API ever changes, a
vectorised numpy walk (:meth:`ForestArrays.predict_proba_numpy`, the same
numbers, about 8 times slower) takes over. The tests check both against the
original forest.

:meth:`ForestArrays.checked` validates arrays read from a file: every child
index points forward inside its own tree (so a walk always ends at a leaf in
at most ``max_depth`` steps), every feature index exists, every number is
finite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DvpInputError

__all__ = ["ForestArrays"]

_MAX_NODES = 50_000_000  #: far above any forest trained on example cells


@dataclass
class ForestArrays:
    """Every tree of a random forest, concatenated.

    Attributes
    ----------
    offsets
        ``(n_trees + 1,)`` int64: tree ``t`` owns nodes ``offsets[t]:offsets[t+1]``.
    left, right
        ``(n_nodes,)`` int64 child index *within the tree*, ``-1`` at a leaf.
    feature
        ``(n_nodes,)`` int64 feature index (``-1`` at a leaf).
    threshold
        ``(n_nodes,)`` float64: go left when ``x[feature] <= threshold``.
    value
        ``(n_nodes, n_classes)`` float64 class fractions (each row sums to 1 at leaves).
    n_features
        Number of input features.
    """

    offsets: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    n_features: int
    _trees: Any = field(default=None, repr=False, compare=False)

    ARRAYS = ("offsets", "left", "right", "feature", "threshold", "value")

    # ------------------------------------------------------------------ sklearn-like
    @property
    def n_features_in_(self) -> int:
        """Number of input features (as scikit-learn names it)."""
        return int(self.n_features)

    @property
    def n_estimators(self) -> int:
        """Number of trees."""
        return len(self.offsets) - 1

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return int(self.value.shape[1])

    @classmethod
    def from_sklearn(cls, model) -> ForestArrays:
        """The arrays of a fitted :class:`~sklearn.ensemble.RandomForestClassifier`."""
        trees = [est.tree_ for est in model.estimators_]
        if not trees or getattr(trees[0], "n_outputs", 1) != 1:
            raise DvpInputError("only single-output random forests can be saved")
        sizes = [t.node_count for t in trees]
        offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        left = np.concatenate([t.children_left for t in trees]).astype(np.int64)
        right = np.concatenate([t.children_right for t in trees]).astype(np.int64)
        leaf = left < 0
        feature = np.concatenate([t.feature for t in trees]).astype(np.int64)
        threshold = np.concatenate([t.threshold for t in trees]).astype(np.float64)
        value = np.concatenate([t.value[:, 0, :] for t in trees]).astype(np.float64)
        total = value.sum(axis=1, keepdims=True)
        value = np.divide(value, total, out=np.zeros_like(value), where=total > 0)
        left[leaf], right[leaf], feature[leaf], threshold[leaf] = -1, -1, -1, 0.0
        return cls(offsets, left, right, feature, threshold, value,
                   int(model.n_features_in_)).checked("the trained forest")

    # ------------------------------------------------------------------ checks
    def checked(self, source: str) -> ForestArrays:
        """Return ``self`` if the arrays form a valid forest, else raise one clear line."""
        def bad(why: str) -> DvpInputError:
            return DvpInputError(f"{source} is damaged ({why}); train and save the "
                                 "classifier again")

        arrays = {k: np.asarray(getattr(self, k)) for k in self.ARRAYS}
        for k in ("offsets", "left", "right", "feature"):
            if arrays[k].dtype.kind not in "iu" or arrays[k].ndim != 1:
                raise bad(f"{k} must be a 1-D integer array")
        for k in ("threshold", "value"):
            if arrays[k].dtype.kind != "f":
                raise bad(f"{k} must hold floating-point numbers")
        off = arrays["offsets"].astype(np.int64)
        n = len(arrays["left"])
        if n == 0 or n > _MAX_NODES:
            raise bad(f"{n} nodes")
        if len(off) < 2 or off[0] != 0 or off[-1] != n or np.any(np.diff(off) < 1):
            raise bad("tree offsets do not cover the nodes")
        if any(len(arrays[k]) != n for k in ("right", "feature", "threshold", "value")):
            raise bad("node arrays of different lengths")
        value = arrays["value"]
        if value.ndim != 2 or value.shape[1] < 2:
            raise bad("class fractions must be a nodes x classes table with 2+ classes")
        if not np.isfinite(value).all() or (value < 0).any():
            raise bad("class fractions that are negative or not finite")
        if not isinstance(self.n_features, int | np.integer) or not 0 < self.n_features < 10**6:
            raise bad(f"{self.n_features!r} features")
        tree_of = np.repeat(np.arange(len(off) - 1), np.diff(off))
        size = np.diff(off)[tree_of]
        local = np.arange(n) - off[tree_of]
        left, right = arrays["left"].astype(np.int64), arrays["right"].astype(np.int64)
        leaf = left < 0
        if np.any(leaf != (right < 0)) or np.any(leaf & ((left != -1) | (right != -1))):
            raise bad("a node with only one child")
        inner = ~leaf
        for child in (left, right):
            if np.any(inner & ((child <= local) | (child >= size))):
                raise bad("a child index outside its tree")
        feature = arrays["feature"].astype(np.int64)
        if np.any(inner & ((feature < 0) | (feature >= self.n_features))):
            raise bad("a feature index out of range")
        if not np.isfinite(arrays["threshold"][inner]).all():
            raise bad("a threshold that is not finite")
        return ForestArrays(off, left, right, feature,
                            arrays["threshold"].astype(np.float64), value.astype(np.float64),
                            int(self.n_features))

    # ------------------------------------------------------------------ prediction
    def _x(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise DvpInputError(f"the classifier needs {self.n_features} features, got "
                                f"{x.shape[-1] if x.ndim else 0}")
        return x

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n_cells, n_classes)``, as scikit-learn's ``predict_proba``."""
        x = self._x(x)
        trees = self._sklearn_trees()
        if trees is None:
            return self.predict_proba_numpy(x)
        acc = None
        for tree in trees:  # tree by tree, in order, as scikit-learn sums them
            p = tree.predict(x)
            acc = p.copy() if acc is None else acc + p
        return acc / len(trees)

    def _sklearn_trees(self) -> list | None:
        """scikit-learn ``Tree`` objects built from the checked arrays (None if unavailable)."""
        if self._trees is None:
            try:
                from sklearn.tree._tree import NODE_DTYPE, Tree

                trees = []
                for k in range(self.n_estimators):
                    a, b = int(self.offsets[k]), int(self.offsets[k + 1])
                    nodes = np.zeros(b - a, dtype=NODE_DTYPE)
                    leaf = self.left[a:b] < 0
                    nodes["left_child"] = self.left[a:b]
                    nodes["right_child"] = self.right[a:b]
                    nodes["feature"] = np.where(leaf, -2, self.feature[a:b])
                    nodes["threshold"] = np.where(leaf, -2.0, self.threshold[a:b])
                    nodes["n_node_samples"] = 1
                    nodes["weighted_n_node_samples"] = 1.0
                    tree = Tree(self.n_features, np.array([self.n_classes], dtype=np.intp), 1)
                    tree.__setstate__({
                        "max_depth": 0, "node_count": b - a, "nodes": nodes,
                        "values": np.ascontiguousarray(self.value[a:b, None, :])})
                    trees.append(tree)
                self._trees = trees
            except Exception:  # scikit-learn's internals changed: walk the trees in numpy
                self._trees = False
        return self._trees or None

    def predict_proba_numpy(self, x: np.ndarray) -> np.ndarray:
        """:meth:`predict_proba` in numpy alone.

        Every (cell, tree) pair walks down its tree together with the others;
        pairs that reached a leaf drop out, so the work is the mean depth,
        not the deepest leaf.
        """
        x = self._x(x)
        sizes = np.diff(self.offsets)
        roots = self.offsets[:-1]
        shift = np.repeat(roots, sizes)
        gl = np.where(self.left >= 0, self.left + shift, -1)
        gr = np.where(self.right >= 0, self.right + shift, -1)
        feat = np.maximum(self.feature, 0)
        thr = self.threshold
        n_trees, nf = len(roots), self.n_features
        out = np.empty((len(x), self.n_classes), dtype=np.float64)
        rows_per = max(1, 1_000_000 // max(n_trees, 1))
        for start in range(0, len(x), rows_per):
            xs = x[start:start + rows_per]
            flat = xs.ravel()
            node = np.tile(roots, len(xs))
            base = np.repeat(np.arange(len(xs), dtype=np.int64) * nf, n_trees)
            idx = np.arange(len(node))
            while idx.size:
                nd = node[idx]
                child = gl[nd]
                inner = child >= 0
                idx, nd, child = idx[inner], nd[inner], child[inner]
                if not idx.size:
                    break
                go_left = flat[base[idx] + feat[nd]] <= thr[nd]
                node[idx] = np.where(go_left, child, gr[nd])
            vals = self.value[node].reshape(len(xs), n_trees, -1)
            acc = vals[:, 0].copy()
            for t in range(1, n_trees):  # tree by tree, in order, as scikit-learn sums them
                acc += vals[:, t]
            out[start:start + len(xs)] = acc / n_trees
        return out
