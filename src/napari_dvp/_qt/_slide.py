"""The open slides of a viewer and the layers that belong to them — one rule for every dock.

:func:`slides_of` keeps one :class:`~napari_dvp.core.slide.model.Slide` per slide
shown in the viewer (found from the image layers' metadata); :func:`current_slide`
is the one the docks work on. Every dock reads the pixel size from it and asks
:func:`cells_layer` for the labels layer with the cells; only the Slide dock
changes the pixel size (:func:`apply_pixel_size` puts it on the layers).

Layers napari-dvp makes carry a *role* in ``layer.metadata["dvp_role"]``:
``overlay`` (QC state, classes, proteins), ``preview`` (LMD, regions),
``ground_truth``, ``calibration``, ``examples``. Overlays are never taken for a
slide; ground truth and hidden layers are never taken for the cells unless the
user picks them.
"""

from __future__ import annotations

import weakref
from typing import Any

from napari.layers import Image, Labels, Layer

from ..core.errors import DvpInputError
from ..core.slide.model import Slide

__all__ = [
    "DERIVED_ROLES",
    "ROLE",
    "apply_pixel_size",
    "cells_candidates",
    "cells_layer",
    "current_slide",
    "level0",
    "role_of",
    "set_role",
    "slide_key",
    "slide_layers",
    "slides_of",
]

ROLE = "dvp_role"
DERIVED_ROLES = frozenset({"overlay", "preview", "calibration", "examples"})
"""Layers napari-dvp rebuilds from other data: not slides, not saved as inputs."""


def role_of(layer: Layer) -> str | None:
    """The napari-dvp role of ``layer`` (``None`` for a user's or a reader's layer)."""
    meta = layer.metadata or {}
    if meta.get("ground_truth"):
        return "ground_truth"
    return meta.get(ROLE)


def set_role(layer: Layer, role: str) -> Layer:
    """Mark ``layer`` with a role (see the module docstring); returns the layer."""
    layer.metadata[ROLE] = role
    return layer


def level0(layer: Layer) -> Any:
    """Full-resolution data of a layer, multiscale or not."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def slide_key(layer: Layer) -> str:
    """Which slide an image layer shows: the file it came from, else its own name.

    ``metadata["path"]`` counts too (a project puts the channels of one file back with it).
    """
    meta = layer.metadata or {}
    return str(meta.get("slide") or meta.get("path") or getattr(layer.source, "path", None)
               or f"layer: {layer.name}")


def _is_slide_image(layer: Layer) -> bool:
    return isinstance(layer, Image) and role_of(layer) not in DERIVED_ROLES


def slide_layers(viewer, key: str | None = None) -> list[Image]:
    """The image layers of slide ``key`` (default: the current slide), in viewer order."""
    if key is None:
        slide = current_slide(viewer)
        if slide is None:
            return []
        key = slide.key
    return [lay for lay in viewer.layers if _is_slide_image(lay) and slide_key(lay) == key]


class _Store:
    def __init__(self) -> None:
        self.slides: dict[str, Slide] = {}
        self.current: str | None = None


_STORES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _store(viewer) -> _Store:
    store = _STORES.get(viewer)
    if store is None:
        store = _STORES[viewer] = _Store()
    return store


def _new_slide(key: str, layers: list[Image]) -> Slide:
    first = layers[0]
    meta = first.metadata or {}
    data = level0(first)
    shape = tuple(int(n) for n in (data.shape[:2] if first.rgb else data.shape[-2:]))
    channels = (("red", "green", "blue") if first.rgb else
                tuple(str(lay.name) for lay in layers))
    recorded = meta.get("pixel_size_um") if meta.get("pixel_size_source", "file") == "file" \
        else None
    user = meta.get("pixel_size_um") if meta.get("pixel_size_source") == "user" else None
    name = key.rsplit("/", 1)[-1] if not key.startswith("layer: ") else key[7:]
    return Slide(key=key, name=name, shape_yx=shape, channels=channels,  # type: ignore[arg-type]
                 stain="brightfield" if first.rgb else "fluorescence",
                 recorded_um=recorded or None, user_um=user or None)


def slides_of(viewer) -> dict[str, Slide]:
    """Every slide shown in ``viewer`` (key -> :class:`Slide`), in viewer order.

    Slides whose layers were all removed are forgotten; new ones are created
    from their image layers' metadata.
    """
    store = _store(viewer)
    groups: dict[str, list[Image]] = {}
    for lay in viewer.layers:
        if _is_slide_image(lay):
            groups.setdefault(slide_key(lay), []).append(lay)
    for key in list(store.slides):
        if key not in groups:
            del store.slides[key]
    for key, layers in groups.items():
        slide = store.slides.get(key)
        if slide is None:
            store.slides[key] = _new_slide(key, layers)
        elif not slide.is_rgb:
            names = tuple(str(lay.name) for lay in layers)
            if names != slide.channels:
                slide.set_channels(names)
    return {key: store.slides[key] for key in groups}


def current_slide(viewer) -> Slide | None:
    """The slide the docks work on: the one chosen in the Slide dock, else the newest."""
    slides = slides_of(viewer)
    store = _store(viewer)
    if store.current in slides:
        return slides[store.current]
    return next(reversed(slides.values()), None)


def set_current_slide(viewer, key: str) -> Slide:
    """Make slide ``key`` the current one."""
    slides = slides_of(viewer)
    if key not in slides:
        raise DvpInputError(f"no slide {key!r} is open")
    _store(viewer).current = key
    return slides[key]


def apply_pixel_size(viewer, slide: Slide) -> None:
    """Put ``slide``'s pixel size on its image layers and on every annotation layer of it.

    Annotation layers (labels, shapes, points) belong to the slide unless their
    metadata names another open slide.
    """
    px = slide.pixel
    others = {k for k in slides_of(viewer) if k != slide.key}
    for layer in viewer.layers:
        if isinstance(layer, Image) and role_of(layer) not in DERIVED_ROLES:
            mine = slide_key(layer) == slide.key
        else:
            mine = (layer.metadata or {}).get("slide") not in others
        if mine and layer.ndim == 2:
            layer.scale = (px.um, px.um)
            layer.units = ("um", "um")
            layer.metadata["pixel_size_um"] = px.um
            layer.metadata["pixel_size_source"] = px.source


def cells_candidates(viewer) -> list[Labels]:
    """Labels layers that may hold cells, newest first (derived layers left out)."""
    return [lay for lay in reversed(viewer.layers)
            if isinstance(lay, Labels) and role_of(lay) not in DERIVED_ROLES]


def cells_layer(viewer, required: bool = True) -> Labels | None:
    """The labels layer with the cells of the current slide — the one rule every dock uses.

    The layer the slide names (chosen by the user in any dock, or made by
    Segment / Project open), else the newest *visible* labels layer that is not
    ground truth, preferring one with a cell table; the choice is then recorded
    on the slide so that every dock uses the same layer.

    Raises
    ------
    DvpInputError
        When ``required`` and there is no such layer.
    """
    slide = current_slide(viewer)
    layers = {lay.name: lay for lay in cells_candidates(viewer)}
    if slide is not None and slide.cells in layers:
        return layers[slide.cells]
    usable = [lay for lay in layers.values() if lay.visible and role_of(lay) != "ground_truth"]
    with_table = [lay for lay in usable if "cell_id" in lay.features.columns]
    chosen = (with_table or usable or [None])[0]
    if chosen is not None and slide is not None:
        slide.set_cells(chosen.name)
    if chosen is None and required:
        raise DvpInputError("no cells yet: segment the slide (Segment dock) or open a labels "
                            "layer, then choose it under 'Cells'")
    return chosen
