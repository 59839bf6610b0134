"""Review of QC flags without Qt: flag a table for review, walk to the next undecided cell."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..cells import columns as ct
from . import qc


def flag_for_review(table: pd.DataFrame, thresholds: qc.QcThresholds,
                    nuclear: str | None) -> tuple[pd.DataFrame, int]:
    """Flag ``table`` with ``thresholds``; return it and the number of flagged cells.

    ``nuclear`` is the nuclear channel's name; it is ignored when the table has
    no ``mean_<nuclear>`` column (then no cell is flagged for a weak nucleus).
    """
    if nuclear and ct.mean_column(nuclear) not in table.columns:
        nuclear = None
    table = qc.flag_cells(table, thresholds, nuclear or None)
    return table, int((qc.qc_codes(table) == qc.QC_FLAGGED).sum())


def next_pending(cell_ids: Sequence[int], statuses: Sequence[str], current: int) -> int | None:
    """Position of the next cell still waiting for a decision, after ``current``.

    The list is walked from the row after ``current`` (from the top when it is
    not listed), wrapping around; ``current`` itself is skipped. None when no
    other cell is pending.
    """
    ids = [int(c) for c in cell_ids]
    start = next((i + 1 for i, c in enumerate(ids) if c == current), 0)
    order = [*range(start, len(ids)), *range(start)]
    return next((i for i in order if statuses[i] == ct.QC_PENDING and ids[i] != current), None)
