"""napari viewer <-> :class:`~napari_dvp.core.project.Project`.

What a project holds comes from the layers — the current slide's image
(referenced by path, or written into the project when it exists only in
memory), the cells labels (:func:`~napari_dvp._qt._slide.cells_layer`) with
their cell table, the "regions" shapes, small point sets, every saved layer's
look — from the slide model (pixel size and its source, which layer holds the
cells) and from the viewer's :mod:`session <napari_dvp._qt._session>`
(classes, classifier, plans, manifests, proteomics, scores).
:func:`project_from_viewer` collects them, :func:`restore_into_viewer` puts
them back. Layers napari-dvp derives (overlays, previews) are left out without
a word: the docks rebuild them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from napari.layers import Image, Labels, Points, Shapes

from ...core.geojson import (
    features_to_regions,
    features_to_shapes,
    regions_to_features,
    shapes_to_features,
)
from ...core.project import EmbeddedImage, Project, executable_content, image_ref
from .._common import cell_table_of, set_cell_table
from .._session import SLOTS, session_of
from .._slide import (
    DERIVED_ROLES,
    cells_layer,
    current_slide,
    level0,
    role_of,
    slide_layers,
    slides_of,
)

REGIONS = "regions"
RESTORE = "project"
"""``source`` of the session changes made when a project is opened."""
MAX_SAVED_POINTS = 10_000  #: bigger point sets are not saved in the project index
_LOOK = ("name", "visible", "opacity", "blending", "scale", "translate", "units")


def regions_layer(viewer) -> Shapes | None:
    """The Shapes layer named "regions" (or None)."""
    return next((lay for lay in viewer.layers if isinstance(lay, Shapes) and lay.name == REGIONS),
                None)


def regions_of(layer) -> list:
    """The regions drawn on a Shapes layer (core :class:`~napari_dvp.core.regions.Region`)."""
    return features_to_regions(shapes_to_features(layer.data, layer.shape_type, layer.features))


def _look(layer) -> dict:
    return {"name": layer.name, "kind": type(layer).__name__.lower(), "visible": layer.visible,
            "opacity": float(layer.opacity), "blending": str(layer.blending),
            "scale": [float(s) for s in layer.scale],
            "translate": [float(t) for t in layer.translate],
            "units": [str(u) for u in layer.units]}


def _file_of(layer) -> str | None:
    return (layer.metadata or {}).get("path") or getattr(layer.source, "path", None)


@dataclass
class Collected:
    """What :func:`collect_layers` found: the saved layer looks and what was left out."""

    states: list[dict] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def _image_state(layer, index: int) -> dict:
    cmap = layer.colormap
    meta = layer.metadata or {}
    return {**_look(layer), "channel_index": meta.get("channel_index", index),
            "rgb": bool(layer.rgb), "gamma": float(layer.gamma),
            "contrast_limits": [float(c) for c in layer.contrast_limits],
            "colormap": {"name": cmap.name, "colors": cmap.colors.tolist()}}


def project_slide(viewer):
    """The slide a project keeps: the current slide (:func:`~napari_dvp._qt._slide.current_slide`).

    A bare image layer — no file, no slide name; an overlay a dock has not
    marked as derived — never displaces a slide opened from a file or named by
    its reader: then the newest of those is kept.
    """
    slide = current_slide(viewer)
    if slide is None or not slide.key.startswith("layer: "):
        return slide
    named = [s for s in slides_of(viewer).values() if not s.key.startswith("layer: ")]
    return named[-1] if named else slide


def _slide_image(viewer, project: Project | None, refs: dict) -> tuple[list[Image], list[dict]]:
    """The project slide's image layers and their states; fills ``project``'s image."""
    slide = project_slide(viewer)
    layers = slide_layers(viewer, slide.key) if slide is not None else []
    states = [_image_state(lay, k) for k, lay in enumerate(layers)]
    if not layers or project is None:
        return layers, states
    files = {_file_of(lay) for lay in layers}
    if None not in files and len(files) == 1:
        path = str(files.pop())
        if path not in refs:
            refs[path] = image_ref(path)
            # the project's own image file (it existed only in memory when first saved)
            refs[path].embedded = bool((layers[0].metadata or {}).get("embedded"))
        project.image = refs[path]
        return layers, states
    # an image that exists only in memory (the sample, a computed image): kept in the project
    rgb = len(layers) == 1 and bool(layers[0].rgb)
    planes = [level0(lay) for lay in layers]
    order = np.argsort([st["channel_index"] for st in states], kind="stable")
    planes = [planes[k] for k in order]
    if rgb:
        data = planes[0]
    elif any(not isinstance(p, np.ndarray) for p in planes):
        import dask.array as da

        data = da.stack([da.asarray(p) for p in planes])
    else:
        data = np.stack(planes)
    # the file records what the image recorded; the user's value comes back from meta["slide"]
    project.image_data = EmbeddedImage(
        data=data, channel_names=["red", "green", "blue"] if rgb else
        [str(layers[k].name) for k in order], rgb=rgb, pixel_size_um=slide.recorded_um)
    for rank, k in enumerate(order):
        states[k]["channel_index"] = None if rgb else int(rank)
    return layers, states


def collect_layers(viewer, refs: dict, project: Project | None) -> Collected:
    """Layer looks in stacking order; fills ``project``'s layer slots when given."""
    out = Collected()
    images, image_states = _slide_image(viewer, project, refs)
    by_layer = {id(lay): st for lay, st in zip(images, image_states, strict=True)}
    lab, reg = cells_layer(viewer, required=False), regions_layer(viewer)
    others: list[str] = []
    for layer in viewer.layers:
        role = role_of(layer)
        if id(layer) in by_layer:
            state = by_layer[id(layer)]
        elif role in DERIVED_ROLES and not isinstance(layer, Points):
            continue  # overlays and previews are rebuilt by the docks
        elif layer is lab:
            state = {**_look(layer), "role": "cells"}
            if project is not None:
                project.labels = level0(layer)
                table = cell_table_of(layer)
                project.cells = table if len(table.columns) else None
        elif layer is reg:
            state = {**_look(layer), "role": REGIONS,
                     "edge_width": float(np.mean(layer.edge_width or [1]))}
            if project is not None:
                project.regions = regions_of(layer)
        elif isinstance(layer, Points) and len(layer.data) <= MAX_SAVED_POINTS:
            # small point sets (the LMD calibration marks, classifier examples) live inline
            state = {**_look(layer), "points": np.asarray(layer.data, float).tolist(),
                     "symbol": str(layer.current_symbol),
                     "size": float(np.mean(layer.size)) if len(layer.data)
                     else float(layer.current_size),
                     "face_color": np.asarray(layer.face_color).tolist(),
                     "border_color": np.asarray(layer.border_color).tolist()}
        else:
            if isinstance(layer, Image | Labels) and role != "ground_truth":
                others.append(layer.name)
            continue
        out.states.append(state)
    if others:
        out.left_out.append(f"{len(others)} layer{'s' if len(others) > 1 else ''} of no slide "
                            f"or another slide ({', '.join(others[:3])})")
    if project is not None:
        slide = project_slide(viewer)
        if slide is not None:
            project.meta["slide"] = {"name": slide.name, "recorded_um": slide.recorded_um,
                                     "user_um": slide.user_um, "estimated_um": slide.estimated_um,
                                     "cells": lab.name if lab is not None else None}
    return out


def layer_states(viewer, refs: dict | None = None) -> list[dict]:
    """The look of every saved layer (cheap: no pixel or table is copied)."""
    return collect_layers(viewer, {} if refs is None else refs, None).states


# ------------------------------------------------------------------ session <-> project

def classifier_bytes(clf) -> tuple[bytes, dict]:
    """A trained classifier as the bytes of its saved file + what it needs (JSON)."""
    from ...core.classes.classifier import classifier_to_bytes

    data = classifier_to_bytes(clf)
    return data, {"features": list(clf.features), "classes": list(clf.classes),
                  "n_examples": int(clf.n_examples)}


def classifier_from_bytes(data: bytes):
    """The classifier stored by :func:`classifier_bytes` (never executable content)."""
    from ...core.classes.classifier import load_classifier

    return load_classifier(data)


NOT_KEPT_CLASSIFIER = "the classifier (its saved form can run code; train it again after opening)"


def project_slots(slot: str, value: Any, left_out: list[str] | None = None) -> dict[str, Any]:
    """The project slot(s) for one session slot (the classifier becomes bytes + info).

    A classifier whose saved form is executable (a pickle) is not kept: it is
    named in ``left_out`` instead.
    """
    if slot == "classifier":
        if value is None:
            return {"classifier": None, "classifier_info": {}}
        data, info = classifier_bytes(value)
        if executable_content(data) is not None:
            if left_out is not None:
                left_out.append(NOT_KEPT_CLASSIFIER)
            return {"classifier": None, "classifier_info": {}}
        return {"classifier": data, "classifier_info": info}
    if slot == "classes":
        return {"classes": dict(value) if value else None}
    return {slot: value if value is not None else ({} if slot != "proteomics" else None)}


def session_values(project: Project) -> dict[str, Any]:
    """The session slots a project holds (the classifier loaded back from its bytes)."""
    out: dict[str, Any] = {s: getattr(project, s) for s in SLOTS if s != "classifier"}
    if isinstance(project.classes, dict):
        out["classes"] = project.classes
    elif project.classes is not None:
        out["classes"] = {"classes": project.classes}
    if project.classifier:
        out["classifier"] = classifier_from_bytes(project.classifier)
    return out


# ------------------------------------------------------------------ viewer <-> project

def project_from_viewer(viewer, refs: dict | None = None,
                        left_out: list[str] | None = None) -> Project:
    """Everything a project keeps from the viewer (see the module docstring).

    ``left_out`` (when given) receives a few words for everything deliberately
    not kept (layers of another slide, a classifier that is not data).
    """
    project = Project()
    found = collect_layers(viewer, {} if refs is None else refs, project)
    project.layers = found.states
    notes = found.left_out
    for slot, value in session_of(viewer).items().items():
        for name, v in project_slots(slot, value, notes).items():
            setattr(project, name, v)
    if left_out is not None:
        left_out.extend(notes)
    return project


def _colormap(cm: dict):
    from napari.utils.colormaps import AVAILABLE_COLORMAPS, Colormap

    return cm["name"] if cm["name"] in AVAILABLE_COLORMAPS else Colormap(
        np.asarray(cm["colors"]), name=cm["name"])


def _add_images(viewer, project: Project, states: list[dict]) -> None:
    from ...core.slide import open_image

    img = open_image(project.image.path)
    path = project.image.path
    for st in states:
        c = st.get("channel_index")
        levels = list(img.levels) if c is None else [lev[c] for lev in img.levels]
        if st.get("rgb") and levels[0].ndim == 3 and levels[0].shape[0] == 3:
            levels = [np.moveaxis(lev, 0, -1) for lev in levels]  # kept as 3 planes
        meta = {"path": path, "channel_index": c, "slide": path, "embedded":
                project.image.embedded}
        if img.pixel_size_um:
            meta.update(pixel_size_um=img.pixel_size_um, pixel_size_source="file")
        viewer.add_image(levels if len(levels) > 1 else levels[0], rgb=st.get("rgb", False),
                         multiscale=len(levels) > 1, colormap=_colormap(st["colormap"]),
                         gamma=st["gamma"], contrast_limits=st["contrast_limits"],
                         metadata=meta, **{k: st[k] for k in _LOOK if k in st})


def _restore_slide(viewer, project: Project, cells) -> None:
    """The slide's facts as they were: pixel size (and its source), the cells layer."""
    slide = project_slide(viewer)
    facts = (project.meta or {}).get("slide") or {}
    if slide is None:
        return
    if facts.get("user_um"):
        slide.set_pixel_size(float(facts["user_um"]))
    if facts.get("estimated_um"):
        slide.set_estimate(float(facts["estimated_um"]))
    if cells is not None:
        slide.set_cells(cells.name)


def restore_into_viewer(viewer, project: Project) -> None:
    """Replace the viewer's layers and session by the project's, with names, colours, scale."""
    viewer.layers.clear()
    states = list(project.layers)
    images = [st for st in states if st["kind"] == "image"]
    cells = None
    for st in states:
        look = {k: st[k] for k in _LOOK if k in st}
        if st["kind"] == "image":
            if st is images[0] and project.image is not None and project.image.status == "ok":
                _add_images(viewer, project, images)
        elif st.get("role") == "cells" and project.labels is not None:
            cells = viewer.add_labels(project.labels, **look)
            if project.cells is not None:
                set_cell_table(cells, project.cells)
        elif st["kind"] == "points":
            pts = np.asarray(st["points"], dtype=float).reshape(-1, len(look["scale"]))
            n = len(pts)
            viewer.add_points(pts, symbol=st.get("symbol", "o"), size=st.get("size", 10),
                              face_color=st["face_color"] if n else "red",
                              border_color=st["border_color"] if n else "red", **look)
        elif st.get("role") == REGIONS:
            data, types, table = features_to_shapes(regions_to_features(project.regions))
            colors = [f"{c}" if c else "white" for c in table["color"]]
            viewer.add_shapes(data or None, shape_type=types or "polygon", features=table,
                              face_color=colors or "white", edge_color=colors or "white",
                              edge_width=st.get("edge_width", 1.0), **look)
    _restore_slide(viewer, project, cells)
    session_of(viewer).replace(session_values(project), source=RESTORE)
