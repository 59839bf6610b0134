"""Readers' last step: put annotation layers (GeoJSON, LMD XML) on the slide they belong to.

Annotation files hold full-resolution pixel coordinates. Opened with File ›
Open, their layers must land on the slide's own world grid (its scale in µm and
its translate), or they are drawn at the wrong size and napari warns about
inconsistent units. The rule:

1. no napari viewer (a script calling the reader) or no slide open: pixels,
   scale 1;
2. one slide open: that slide;
3. several: the one slide the annotations fit on (their extent within its
   size); if they fit on several or on none, the user is asked, with the
   current slide (the one chosen in the Slide dock) offered first.

The layers carry ``metadata["slide"]``, so the Slide dock keeps them on that
slide's grid when the pixel size is changed later.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .core.layer_coords import bounds_rc, fits_within

__all__ = ["NOTHING", "grid_of", "place_on_slide", "report_error"]

LayerData = tuple[Any, dict, str]
NOTHING: list = [(None,)]
"""What a reader returns when it opened the file but adds no layer (napari's null sentinel)."""


def grid_of(layer) -> dict[str, Any]:
    """``scale``, ``translate`` and ``units`` of a layer's last two axes, as layer kwargs."""
    return {"scale": tuple(float(s) for s in layer.scale[-2:]),
            "translate": tuple(float(t) for t in layer.translate[-2:]),
            "units": tuple(str(u) for u in layer.units[-2:])}


def _vertices(data: Any, kind: str) -> list[np.ndarray]:
    if kind == "shapes":
        return [np.asarray(d, dtype=float) for d in data]
    return [np.asarray(data, dtype=float).reshape(-1, 2)]


def _viewer():
    try:
        import napari

        return napari.current_viewer()
    except Exception:  # no Qt, no viewer: a script reading the file
        return None


def _ask(viewer, keys: Sequence[str], slides: dict, source: str) -> str | None:
    from qtpy.QtWidgets import QInputDialog

    labels = []
    for k in keys:
        name = slides[k].name
        labels.append(name if sum(slides[j].name == name for j in keys) == 1 else k)
    item, ok = QInputDialog.getItem(
        viewer.window._qt_window, f"Open {source} on which slide?",
        f"{source} could belong to more than one open slide. Put it on:", labels, 0, False)
    if not ok or item not in labels:
        return None
    return keys[labels.index(item)]


def choose_slide(viewer, bounds, source: str) -> tuple[Any, str] | None:
    """The slide (and why) for annotations with extent ``bounds``; ``None``: user cancelled.

    Returns ``(None, reason)`` when there is no slide to put them on.
    """
    from ._qt._slide import current_slide, slides_of

    slides = slides_of(viewer)
    if not slides:
        return None, "no slide open: pixel coordinates"
    if len(slides) == 1:
        return next(iter(slides.values())), ""
    fitting = [k for k, s in slides.items()
               if bounds is None or fits_within(bounds, s.shape_yx)]
    if len(fitting) == 1:
        return slides[fitting[0]], "the only slide it fits on"
    current = current_slide(viewer)
    keys = list(fitting or slides)
    if current is not None and current.key in keys:
        keys.remove(current.key)
        keys.insert(0, current.key)
    key = _ask(viewer, keys, slides, source)
    return (slides[key], "chosen by you") if key is not None else None


def place_on_slide(layer_data: list[LayerData], source: str, summary: str) -> list:
    """Give ``layer_data`` the grid of its slide and say in one line what was opened.

    Parameters
    ----------
    layer_data
        Layer data tuples in full-resolution pixels of the slide.
    source
        File name, for the messages.
    summary
        What the file holds (e.g. ``12 regions (3 classes), 3 calibration points``).

    Returns
    -------
    list
        The layer data, or napari's "nothing to add" sentinel when the user cancelled.
    """
    from napari.utils.notifications import show_info

    viewer = _viewer()
    if viewer is None:
        return layer_data
    bounds = bounds_rc([v for d, _, k in layer_data for v in _vertices(d, k)])
    chosen = choose_slide(viewer, bounds, source)
    if chosen is None:
        show_info(f"napari-dvp: {source} not opened (no slide chosen)")
        return NOTHING
    slide, why = chosen
    where = "in pixels (no slide open)"
    if slide is not None:
        from ._qt._slide import slide_layers

        grid = grid_of(slide_layers(viewer, slide.key)[0])
        for _, meta, _ in layer_data:
            meta.update(grid)
            meta["metadata"] = {**meta.get("metadata", {}), "slide": slide.key}
        where = f"on slide {slide.name}" + (f" ({why})" if why else "")
        if bounds is not None and not fits_within(bounds, slide.shape_yx):
            where += "; it reaches beyond the slide — was it drawn on another image?"
    taken = [m["name"] for _, m, _ in layer_data if m.get("name") in viewer.layers]
    clash = (f"; '{taken[0]}' exists already, so napari names the new layer "
             f"'{taken[0]} [1]'" if taken else "")
    show_info(f"napari-dvp: {source}: {summary} {where}{clash}")
    return layer_data


def report_error(path: str | Path, message: str) -> list:
    """Show one error for a file this plugin reads but cannot open; add no layer."""
    from napari.utils.notifications import show_error

    show_error(f"napari-dvp: cannot open {Path(str(path)).name}: {message}")
    return NOTHING
