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
from ..core.cells.table import (
    PROVENANCE,
    ClassOverwrite,
    merge_columns,
    provenance,
    with_provenance,
)
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
    "update_cells",
]


def cell_table_of(layer) -> pd.DataFrame:
    """Return the cell table linked to a labels layer (may be empty), with its provenance."""
    feats = layer.features
    if "index" in feats.columns:
        feats = feats.drop(columns="index")
    table = feats.reset_index(drop=True)
    table.attrs[PROVENANCE] = dict((layer.metadata or {}).get(PROVENANCE, {}))
    return table


def set_cell_table(layer, table: pd.DataFrame, step: str | None = None) -> None:
    """Link a whole new ``table`` to ``layer`` (segmentation, measurement, project open).

    Steps that add or change columns use :func:`update_cells` instead. ``step``
    is recorded as the writer of columns with no recorded writer yet.
    """
    if step is not None:
        table = with_provenance(table.copy(), step)
    feats = table.reset_index(drop=True).copy()
    if CELL_ID in feats.columns:
        feats["index"] = feats[CELL_ID].to_numpy()
    layer.metadata[PROVENANCE] = provenance(table)
    layer.features = feats


def update_cells(layer, new, step: str, parent=None,
                 replace_classes: bool | None = None) -> pd.DataFrame | None:
    """Merge a step's columns into the layer's cell table (never replace it).

    When the step would overwrite classes another step made, the user is asked
    (``parent`` given) or :class:`~napari_dvp.core.cells.table.ClassOverwrite`
    is raised. Returns the new table, or ``None`` when the user kept the old classes.
    """
    table = cell_table_of(layer)
    try:
        merged = merge_columns(table, new, step, replace_classes=replace_classes)
    except ClassOverwrite as exc:
        if parent is None:
            raise
        from qtpy.QtWidgets import QMessageBox

        answer = QMessageBox.question(parent, "Replace classes?", str(exc).split(" (in the")[0])
        if answer != QMessageBox.StandardButton.Yes:
            show_info(f"classes from {exc.previous} kept")
            return None
        merged = merge_columns(table, new, step, replace_classes=True)
    set_cell_table(layer, merged)
    return merged


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


def watch_features(old, new, callback: Callable):
    """Move ``callback`` from ``old``'s to ``new``'s ``features`` event; return ``new``.

    For a box that shows the current cells layer: call it on every refresh with the
    layer it watched and the one it found (either may be ``None``; same layer: no-op).
    """
    if new is not old:
        if old is not None:
            old.events.features.disconnect(callback)
        if new is not None:
            new.events.features.connect(callback)
    return new


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
