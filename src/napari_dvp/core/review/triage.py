"""Review of QC flags without Qt: measure when needed, flag, walk to the next undecided cell."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..cells import columns as ct
from . import qc

QC_COLUMNS = (*qc.QC_FLAGS, "qc_flagged", ct.QC_STATUS)
"""The columns the review step writes into the cell table."""


@dataclass
class Triage:
    """What :func:`triage_iter` found.

    Attributes
    ----------
    measured
        The new measurements (one row per cell) when the cells had to be
        measured, else ``None``.
    flags
        ``cell_id`` and the QC columns (:data:`QC_COLUMNS`) of every cell.
    n_flagged
        Cells flagged and still waiting for a decision.
    reason
        Why the cells were measured ("" when they were not).
    """

    measured: pd.DataFrame | None
    flags: pd.DataFrame
    n_flagged: int
    reason: str = ""


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


def needs_measuring(table: pd.DataFrame, pixel_size_um: float) -> str:
    """Why ``table`` must be measured before flagging ("" when it need not).

    It must when it has no areas, or when its areas were measured with another
    pixel size than the slide's (the pixel size was corrected since).
    """
    from ..slide.facts import pixel_size_of_table

    if ct.AREA_UM2 not in table.columns or not len(table):
        return "the cells were never measured"
    used = pixel_size_of_table(table)
    if used is not None and abs(used - pixel_size_um) > 1e-4 * pixel_size_um:
        return (f"the cells were measured at {used:g} µm per pixel, the slide is now at "
                f"{pixel_size_um:g} µm")
    return ""


def triage_iter(labels: Any, image: Any, channel_names: Sequence[str] | None,
                pixel_size_um: float, table: pd.DataFrame, thresholds: qc.QcThresholds,
                nuclear: str | None) -> Generator[tuple[int, int], None, Triage]:
    """Measure the cells if needed (:func:`needs_measuring`), then flag them.

    A progress generator (``yield (done, total)``) for the dock's job runner.
    Columns other steps wrote (class, region, decisions) are kept: the caller
    merges ``measured`` and ``flags`` into the cell table.
    """
    from ..cells.table import merge_columns
    from ..measure import measure_cells_iter

    reason = needs_measuring(table, pixel_size_um)
    measured = None
    if reason:
        measured = yield from measure_cells_iter(labels, image, channel_names, pixel_size_um)
        table = (measured if not len(table.columns) or ct.CELL_ID not in table.columns
                 else merge_columns(table, measured, "measure"))
    flagged, n = flag_for_review(table, thresholds, nuclear)
    return Triage(measured, flagged[[ct.CELL_ID, *QC_COLUMNS]], n, reason)


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
