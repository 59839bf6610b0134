"""Small helpers every dock widget shares: the cell table on a labels layer,
error notifications, layer look-ups.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import pandas as pd
from napari.utils.notifications import show_error, show_info, show_warning

from ..core.cell_table import CELL_ID
from ..core.errors import DvpError, one_line

F = TypeVar("F", bound=Callable)

__all__ = [
    "cell_table_of",
    "labels_layers",
    "notify_errors",
    "set_cell_table",
    "show_error",
    "show_info",
    "show_warning",
]


def cell_table_of(layer) -> pd.DataFrame:
    """Return the cell table linked to a labels layer (may be empty)."""
    feats = layer.features
    if "index" in feats.columns:
        feats = feats.drop(columns="index")
    return feats.reset_index(drop=True)


def set_cell_table(layer, table: pd.DataFrame) -> None:
    """Link ``table`` to ``layer`` as ``layer.features`` (hover shows the row of the cell)."""
    feats = table.reset_index(drop=True).copy()
    if CELL_ID in feats.columns:
        feats["index"] = feats[CELL_ID].to_numpy()
    layer.features = feats


def labels_layers(viewer) -> list:
    """All labels layers of ``viewer``, newest first."""
    from napari.layers import Labels

    return [lay for lay in reversed(viewer.layers) if isinstance(lay, Labels)]


def notify_errors(func: F) -> F:
    """Decorate a widget callback: a :class:`DvpError` becomes a napari notification.

    Unexpected exceptions are also shown as a one-line notification (and
    logged by napari), never as a traceback dialog that loses the user's work.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DvpError as exc:
            show_error(one_line(exc))
        except Exception as exc:
            show_error(f"{type(exc).__name__}: {one_line(exc)}")
        return None

    return wrapper  # type: ignore[return-value]
