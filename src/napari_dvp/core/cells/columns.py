"""The cell table: one row per cell id, the hub every step reads and extends.

A plain :class:`pandas.DataFrame`. Column names are fixed here so that every
module, the widgets and the files agree. Columns are added by the step that
knows them; none is required except ``cell_id``.
"""

from __future__ import annotations

import pandas as pd

from ..errors import DvpInputError

CELL_ID = "cell_id"  #: int, the label value in the labels image (> 0)
ROW, COL = "centroid_row", "centroid_col"  #: centroid in full-resolution pixels
Y_UM, X_UM = "centroid_y_um", "centroid_x_um"  #: centroid in micrometres
AREA_UM2 = "area_um2"
QC_STATUS = "qc_status"  #: "pending" | "accepted" | "rejected"
REGION = "region"  #: name of the region the centroid falls in ("" if none)
CLASS = "class"  #: cell class name ("" if unclassified)
SAMPLE = "sample"  #: LMD sample id the cell is cut into ("" if none)

QC_PENDING, QC_ACCEPTED, QC_REJECTED = "pending", "accepted", "rejected"


def mean_column(channel: str) -> str:
    """Column name of the mean intensity of ``channel``."""
    return f"mean_{channel}"


def median_column(channel: str) -> str:
    """Column name of the median intensity of ``channel``."""
    return f"median_{channel}"


def validate(table: pd.DataFrame, required: tuple[str, ...] = (CELL_ID,)) -> pd.DataFrame:
    """Check that ``table`` is a usable cell table and return it.

    Raises
    ------
    DvpInputError
        If a required column is missing or cell ids are not unique positive integers.
    """
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DvpInputError(
            f"cell table lacks column(s) {', '.join(missing)}; "
            f"it has {', '.join(map(str, table.columns[:12]))}"
        )
    ids = table[CELL_ID]
    if not pd.api.types.is_integer_dtype(ids):
        raise DvpInputError("cell table column 'cell_id' must hold integers (the label values)")
    if (ids <= 0).any():
        raise DvpInputError("cell table has cell_id <= 0; 0 is background in a labels image")
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise DvpInputError(f"cell table lists cell_id {dup} more than once; ids must be unique")
    return table
