"""The one way steps write into the cell table: merge columns, remember who wrote what.

The cell table is merged, never replaced: a step hands over only the columns
it computed (for all cells or some of them, keyed by ``cell_id``) and
:func:`merge_columns` adds or updates them, keeping every other column. The
table remembers which step wrote each column (:func:`provenance`, kept in
``DataFrame.attrs`` and saved with the table in Parquet), so that overwriting
classes another step made is a visible choice (:class:`ClassOverwrite`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .columns import CELL_ID, CLASS

__all__ = ["PROVENANCE", "ClassOverwrite", "merge_columns", "provenance", "with_provenance"]

PROVENANCE = "napari_dvp_columns"
"""Key in ``DataFrame.attrs``: ``{column: step that wrote it}``."""

GUARDED = (CLASS,)
"""Columns whose values another step may only replace when asked to."""


class ClassOverwrite(DvpInputError):
    """A step would replace classes another step made; ask the user first.

    Attributes
    ----------
    previous
        The step that wrote the classes now in the table.
    """

    def __init__(self, previous: str, step: str, n_cells: int) -> None:
        self.previous = previous
        super().__init__(f"{n_cells:,} cells already have classes from {previous}; "
                         f"replace them with the classes from {step}? "
                         "(in the dock: answer Yes; on the command line: --replace-classes)")


def provenance(table: pd.DataFrame) -> dict[str, str]:
    """``{column: step}`` for the columns a step recorded (others are unknown)."""
    return dict(table.attrs.get(PROVENANCE, {}))


def with_provenance(table: pd.DataFrame, step: str,
                    columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Record ``step`` as the writer of every column of ``table`` not yet recorded.

    ``columns`` (``{column: step}``) is merged in first — e.g. provenance kept
    beside the table by the GUI.
    """
    prov = {**provenance(table), **dict(columns or {})}
    for col in table.columns:
        if col != CELL_ID:
            prov.setdefault(str(col), step)
    table.attrs[PROVENANCE] = prov
    return table


def _as_frame(table: pd.DataFrame, new: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
    if isinstance(new, pd.DataFrame):
        frame = new
    else:
        frame = pd.DataFrame(dict(new))
    if CELL_ID in frame.columns:
        return frame.set_index(CELL_ID)
    if frame.index.name == CELL_ID:
        return frame
    if len(frame) != len(table):
        raise DvpInputError(f"{len(frame)} values for {len(table)} cells; give a cell_id column "
                            "to update only some cells")
    return frame.set_axis(pd.Index(table[CELL_ID].to_numpy(), name=CELL_ID))


def merge_columns(table: pd.DataFrame, new: pd.DataFrame | Mapping[str, Any], step: str, *,
                  replace_classes: bool | None = None) -> pd.DataFrame:
    """Add or update the columns of ``new`` in ``table``; keep every other column.

    Parameters
    ----------
    table
        The cell table (one row per ``cell_id``).
    new
        The step's columns, keyed by a ``cell_id`` column (or index), or aligned
        arrays with one value per row of ``table``. Cells missing from ``new``
        keep their values (new columns get the column's missing value there).
    step
        Who writes ("gating", "classifier", "regions", "review" …), recorded per column.
    replace_classes
        ``None``: refuse to overwrite non-empty classes another step wrote
        (:class:`ClassOverwrite`); ``True``: overwrite; ``False``: keep the
        old classes where set and fill only empty ones.

    Returns
    -------
    DataFrame
        A new table (``table`` is not changed) with its provenance updated.
    """
    frame = _as_frame(table, new)
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise DvpInputError(f"cell {dup} is given twice by {step}")
    unknown = ~frame.index.isin(table[CELL_ID])
    if unknown.any():
        raise DvpInputError(f"{int(unknown.sum())} cell id(s) from {step} are not in the cell "
                            f"table (e.g. {frame.index[unknown][0]}); was it measured on "
                            "other labels?")
    prov = provenance(table)
    out = table.copy()
    out.attrs[PROVENANCE] = prov
    rows = pd.Index(out[CELL_ID].to_numpy()).get_indexer(frame.index)
    for col in frame.columns:
        values = frame[col]
        if col in GUARDED and col in out.columns and prov.get(col, step) != step:
            old = out[col].iloc[rows]
            taken = old.notna() & (old.astype(str) != "") & \
                (old.astype(str).to_numpy() != values.astype(str).to_numpy())
            if taken.any():
                if replace_classes is None:
                    raise ClassOverwrite(prov[col], step, int(taken.sum()))
                if replace_classes is False:
                    values = values.where(~taken.to_numpy(), old.to_numpy())
        if col in out.columns:
            column = out[col]
            if isinstance(column.dtype, pd.CategoricalDtype):
                column = column.astype(object)
            column = column.copy()
            if len(rows) == len(out) and np.array_equal(rows, np.arange(len(out))):
                column = pd.Series(values.to_numpy(), index=out.index, name=col)
            else:
                column = column.astype(np.result_type(column.dtype, values.dtype)
                                       if column.dtype.kind in "biuf" and
                                       values.dtype.kind in "biuf" else object)
                column.iloc[rows] = values.to_numpy()
            out[col] = column
        else:
            full = pd.Series(values.to_numpy(), index=frame.index).reindex(out[CELL_ID])
            out[col] = full.to_numpy()
        prov[str(col)] = step
    out.attrs[PROVENANCE] = prov
    return out
