"""Train the cell classifier and classify every cell, as progress generators.

The Classifier dock runs these through its job runner (progress bar, Cancel):
they ``yield (done, total, message)`` between steps and ``return`` their
result, so a Cancel stops them between two blocks of cells and nothing is
written. Python callers and the command line drain them with
:func:`~napari_dvp.core.progress.run_to_end`.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping

import numpy as np
import pandas as pd

from ..cells.columns import CELL_ID, CLASS
from .classifier import PROB_PREFIX, PROBABILITY, CellClassifier

__all__ = ["CHUNK", "apply_columns", "predict_steps", "train_and_predict"]

CHUNK = 100_000
"""Cells classified per step (a Cancel waits at most one block)."""

def predict_steps(clf: CellClassifier, table: pd.DataFrame, chunk: int = CHUNK,
                  done: int = 0, total: int | None = None
                  ) -> Generator[tuple[int, int, str], None, pd.DataFrame]:
    """Classify every cell of ``table`` in blocks of ``chunk`` rows.

    Returns
    -------
    pandas.DataFrame
        ``cell_id``, ``class``, ``class_probability`` and ``prob_<class>`` per cell,
        in table order.
    """
    starts = range(0, len(table), max(int(chunk), 1))
    total = done + len(starts) if total is None else total
    parts = []
    for k, r0 in enumerate(starts):
        yield (done + k, total, f"Classifying cells {r0 + 1:,}–{min(r0 + chunk, len(table)):,} "
                                f"of {len(table):,}…")
        parts.append(clf.predict(table.iloc[r0:r0 + chunk]))
    pred = pd.concat(parts) if parts else clf.predict(table)
    pred.insert(0, CELL_ID, table[CELL_ID].to_numpy())
    return pred.reset_index(drop=True)


def train_and_predict(table: pd.DataFrame, examples: Mapping[int, str],
                      chunk: int = CHUNK, **settings: object
                      ) -> Generator[tuple[int, int, str], None,
                                     tuple[CellClassifier, pd.DataFrame]]:
    """Train a :class:`CellClassifier` on ``examples`` and classify every cell.

    Parameters
    ----------
    table
        The cell table (``cell_id`` and measurement columns).
    examples
        ``{cell_id: class name}`` marked by the user.
    chunk
        Cells classified per progress step.
    settings
        Passed to :class:`CellClassifier` (e.g. ``n_estimators``).

    Returns
    -------
    tuple
        ``(trained classifier, predictions as from predict_steps)``.
    """
    total = 1 + max(-(-len(table) // max(int(chunk), 1)), 1)
    yield (0, total, f"Training on {len(examples):,} example cells…")
    clf = CellClassifier(**settings).train(table, dict(examples))
    pred = yield from predict_steps(clf, table, chunk, done=1, total=total)
    return clf, pred


def apply_columns(table: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """The columns a classifier writes into ``table``: its predictions keyed by ``cell_id``.

    Probability columns of classes the classifier no longer knows (left from an
    earlier training) are blanked (NaN), so no stale probability stays beside
    the new classes.
    """
    out = pred.copy()
    stale = [c for c in table.columns if str(c).startswith(PROB_PREFIX) and c not in out]
    for c in stale:
        out[c] = np.nan
    return out[[CELL_ID, CLASS, PROBABILITY, *[c for c in out.columns
                                               if str(c).startswith(PROB_PREFIX)]]]
