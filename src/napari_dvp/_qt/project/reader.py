"""npe2 reader for a napari-dvp project folder: File › Open Folder opens it in the Project dock.

A project is more than layers (cell table, classes, plans, proteomics, the
lock, autosaved edits to recover), so the folder is handed to the Project dock
(opened if needed), which opens it as its own *Open…* does; the reader returns
napari's "handled, no layers" sentinel ``[(None,)]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

INDEX = "project.json"  # == napari_dvp.core.project.INDEX (kept light: no core import here)

__all__ = ["get_reader"]


def _project_folder(path: Any) -> Path | None:
    if isinstance(path, Sequence) and not isinstance(path, str | bytes):
        if len(path) != 1:
            return None
        path = path[0]
    try:
        p = Path(os.fspath(path))
    except TypeError:
        return None
    return p if p.is_dir() and (p / INDEX).is_file() else None


def get_reader(path: Any) -> Callable[..., list] | None:
    """A reader for a napari-dvp project folder, or ``None`` for anything else."""
    folder = _project_folder(path)
    if folder is None:
        return None

    def read(_path: Any = None, **_kwargs: Any) -> list:
        import napari

        viewer = napari.current_viewer()
        if viewer is None:  # no window: nothing to open the project into
            return []
        project_dock(viewer).open(folder)
        return [(None,)]

    return read


def project_dock(viewer):
    """The viewer's Project dock (docked now if it was not)."""
    from .widget import ProjectWidget

    for widget in viewer.window.dock_widgets.values():
        if isinstance(widget, ProjectWidget):
            return widget
    _, widget = viewer.window.add_plugin_dock_widget("napari-dvp", "Project")
    return widget
