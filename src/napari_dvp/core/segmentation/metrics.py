"""Compare a segmentation with ground truth: object matching at an IoU threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MatchResult:
    """Object-level agreement between predicted and true labels.

    Attributes
    ----------
    tp, fp, fn
        Matched predictions, unmatched predictions, unmatched true objects.
    ious
        IoU of every matched pair.
    pairs
        (n, 2) array of matched (pred_id, truth_id).
    """

    tp: int
    fp: int
    fn: int
    ious: np.ndarray
    pairs: np.ndarray

    @property
    def precision(self) -> float:
        """tp / (tp + fp)."""
        return self.tp / max(self.tp + self.fp, 1)

    @property
    def recall(self) -> float:
        """tp / (tp + fn)."""
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def f1(self) -> float:
        """2 tp / (2 tp + fp + fn)."""
        return 2 * self.tp / max(2 * self.tp + self.fp + self.fn, 1)


def match_labels(pred: np.ndarray, truth: np.ndarray, iou: float = 0.5) -> MatchResult:
    """Match objects of two label images one-to-one where IoU > ``iou`` (>= 0.5).

    With a threshold of at least 0.5 every object has at most one partner, so
    the matching is exact without an assignment solver. Overlaps are counted
    for all pairs at once (one ``np.unique`` over the overlapping pixels).
    """
    if iou < 0.5:
        raise ValueError("match_labels needs iou >= 0.5 (matches are then unique)")
    pred = np.asarray(pred).ravel().astype(np.int64)
    truth = np.asarray(truth).ravel().astype(np.int64)
    if pred.shape != truth.shape:
        raise ValueError(f"label images differ in size: {pred.shape} vs {truth.shape}")
    p_ids = np.unique(pred)
    t_ids = np.unique(truth)
    p_ids, t_ids = p_ids[p_ids > 0], t_ids[t_ids > 0]
    both = (pred > 0) & (truth > 0)
    base = int(truth.max()) + 1
    codes, inter = np.unique(pred[both] * base + truth[both], return_counts=True)
    pairs = np.stack([codes // base, codes % base])
    p_area = np.bincount(pred)
    t_area = np.bincount(truth)
    union = p_area[pairs[0]] + t_area[pairs[1]] - inter
    ious = inter / np.maximum(union, 1)
    ok = ious > iou
    return MatchResult(tp=int(ok.sum()), fp=int(p_ids.size - ok.sum()),
                       fn=int(t_ids.size - ok.sum()), ious=ious[ok], pairs=pairs[:, ok].T)
