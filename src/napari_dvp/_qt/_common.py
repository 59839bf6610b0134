"""Small helpers every dock widget shares: the cell table on a labels layer,
error notifications, layer look-ups.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from typing import TypeVar

import pandas as pd
from napari.utils.notifications import show_error, show_info, show_warning

from ..core.cells.columns import CELL_ID
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


def _positional_limit(func: Callable) -> int | None:
    """How many positional arguments ``func`` takes (``None``: any number, ``*args``)."""
    params = inspect.signature(func).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def notify_errors(func: F) -> F:
    """Decorate a widget callback: a :class:`DvpError` becomes a napari notification.

    Unexpected exceptions are also shown as a one-line notification (and
    logged by napari), never as a traceback dialog that loses the user's work.

    Qt signals send arguments the slot may not want (``clicked`` sends
    ``checked``); the wrapper passes on only as many positional arguments as
    ``func`` accepts, so ``button.clicked.connect(self._on_save)`` works with
    ``def _on_save(self)``.
    """
    limit = _positional_limit(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if limit is not None:
            args = args[:limit]
        try:
            return func(*args, **kwargs)
        except DvpError as exc:
            show_error(one_line(exc))
        except Exception as exc:
            show_error(f"{type(exc).__name__}: {one_line(exc)}")
        return None

    return wrapper  # type: ignore[return-value]


_UNIT_WATCHED: weakref.WeakSet = weakref.WeakSet()


def ensure_consistent_units(viewer) -> None:
    """Give every new layer the physical units of the slide (idempotent per viewer).

    Image layers read by napari-dvp carry micrometre units; overlays added
    later (QC state, classes, regions, LMD preview …) inherit them so napari
    keeps its scale bar in µm instead of warning about inconsistent units.
    """
    if viewer in _UNIT_WATCHED:
        return
    _UNIT_WATCHED.add(viewer)

    def _physical_units():
        for layer in viewer.layers:
            units = tuple(str(u) for u in layer.units)
            if units and all(u != "pixel" for u in units):
                return layer.units
        return None

    def _on_inserted(event) -> None:
        layer = event.value
        units = _physical_units()
        if units is None or len(units) != layer.ndim:
            return
        if all(str(u) == "pixel" for u in layer.units):
            layer.units = units

    # before napari's own canvas handler, which draws (and checks units) at once
    viewer.layers.events.inserted.connect(_on_inserted, position="first")
    for layer in list(viewer.layers):
        _on_inserted(type("E", (), {"value": layer})())
