"""napari viewer <-> :class:`~napari_dvp.core.project.Project`.

What a project holds comes from two places: the layers (image reference, the
"cells" labels with their cell table, the "regions" shapes, every layer's look)
and the viewer's :mod:`session <napari_dvp._qt._session>` (classes, classifier,
plans, manifests, proteomics, scores). :func:`project_from_viewer` collects both,
:func:`restore_into_viewer` puts both back.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from napari.layers import Image, Points, Shapes

from ...core.geojson import (
    features_to_regions,
    features_to_shapes,
    regions_to_features,
    shapes_to_features,
)
from ...core.project import Project, image_ref
from .._common import cell_table_of, set_cell_table, show_warning
from .._session import SLOTS, session_of
from .._slide import cells_layer as slide_cells_layer

CELLS, REGIONS = "cells", "regions"
RESTORE = "project"
"""``source`` of the session changes made when a project is opened."""


def cells_layer(viewer):
    """The cells layer the docks use (the one rule, :func:`.._slide.cells_layer`), or None."""
    return slide_cells_layer(viewer, required=False)


def regions_layer(viewer):
    """The Shapes layer named "regions" (or None)."""
    return next((lay for lay in viewer.layers if isinstance(lay, Shapes) and lay.name == REGIONS),
                None)


def regions_of(layer) -> list:
    """The regions drawn on a Shapes layer (core :class:`~napari_dvp.core.regions.Region`)."""
    return features_to_regions(shapes_to_features(layer.data, layer.shape_type, layer.features))


MAX_SAVED_POINTS = 10_000  #: bigger point sets are not saved in the project index


def _common_state(layer) -> dict:
    return {"name": layer.name, "kind": type(layer).__name__.lower(), "visible": layer.visible,
            "opacity": float(layer.opacity), "blending": str(layer.blending),
            "scale": [float(s) for s in layer.scale],
            "translate": [float(t) for t in layer.translate],
            "units": [str(u) for u in layer.units]}


def _collect(viewer, refs: dict[str, object], project: Project | None) -> list[dict]:
    """Layer states in stacking order; fills ``project``'s layer slots when given."""
    states = []
    lab, reg = cells_layer(viewer), regions_layer(viewer)
    for layer in viewer.layers:
        state = _common_state(layer)
        if isinstance(layer, Image):
            path = layer.metadata.get("path") or getattr(layer.source, "path", None)
            if not path:
                if project is not None:
                    show_warning(f"layer '{layer.name}' comes from no file; it is not saved")
                continue
            if path not in refs:
                refs[path] = image_ref(path)
            if project is not None:
                project.image = project.image or refs[path]
            cmap = layer.colormap
            state.update(path=str(path), channel_index=layer.metadata.get("channel_index"),
                         rgb=bool(layer.rgb), gamma=float(layer.gamma),
                         contrast_limits=[float(c) for c in layer.contrast_limits],
                         colormap={"name": cmap.name, "colors": cmap.colors.tolist()})
        elif layer is lab:
            if project is not None:
                project.labels = layer.data[0] if layer.multiscale else layer.data
                table = cell_table_of(layer)
                project.cells = table if len(table.columns) else None
            state["role"] = CELLS
        elif layer is reg:
            if project is not None:
                project.regions = regions_of(layer)
            state.update(role=REGIONS, edge_width=float(np.mean(layer.edge_width or [1])))
        elif isinstance(layer, Points) and len(layer.data) <= MAX_SAVED_POINTS:
            # small point sets (the LMD calibration marks, classifier examples) live inline
            state.update(points=np.asarray(layer.data, dtype=float).tolist(),
                         symbol=str(layer.current_symbol), size=float(np.mean(
                             layer.size)) if len(layer.data) else float(layer.current_size),
                         face_color=np.asarray(layer.face_color).tolist(),
                         border_color=np.asarray(layer.border_color).tolist())
        else:
            continue
        states.append(state)
    return states


def layer_states(viewer, refs: dict[str, object] | None = None) -> list[dict]:
    """The look of every saved layer (cheap: no pixel or table is copied)."""
    return _collect(viewer, {} if refs is None else refs, None)


# ------------------------------------------------------------------ session <-> project

def classifier_bytes(clf) -> tuple[bytes, dict]:
    """A trained classifier as the bytes of its ``.joblib`` file + what it needs (JSON)."""
    from ...core.classes.classifier import save_classifier

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "classifier.joblib"
        save_classifier(path, clf)
        data = path.read_bytes()
    return data, {"features": list(clf.features), "classes": list(clf.classes),
                  "n_examples": int(clf.n_examples)}


def classifier_from_bytes(data: bytes):
    """The classifier stored by :func:`classifier_bytes`."""
    from ...core.classes.classifier import load_classifier

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "classifier.joblib"
        path.write_bytes(data)
        return load_classifier(path)


def project_slots(slot: str, value: Any) -> dict[str, Any]:
    """The project slot(s) for one session slot (the classifier becomes bytes + info)."""
    if slot == "classifier":
        if value is None:
            return {"classifier": None, "classifier_info": {}}
        data, info = classifier_bytes(value)
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

def project_from_viewer(viewer, refs: dict[str, object] | None = None) -> Project:
    """Collect the image reference, labels, cell table, regions, layer looks and the
    session's classes, classifier, plans, manifests, proteomics and scores.
    """
    project = Project()
    project.layers = _collect(viewer, {} if refs is None else refs, project)
    for slot, value in session_of(viewer).items().items():
        for name, v in project_slots(slot, value).items():
            setattr(project, name, v)
    return project


def restore_into_viewer(viewer, project: Project) -> None:
    """Replace the viewer's layers and session by the project's, with names, colours, scale."""
    from napari.utils.colormaps import AVAILABLE_COLORMAPS, Colormap

    from ...core.slide import open_image

    opened: dict[str, object] = {}
    viewer.layers.clear()
    for st in project.layers:
        look = {k: st[k] for k in ("name", "visible", "opacity", "blending", "scale",
                                   "translate", "units") if k in st}
        if st["kind"] == "image":
            path = project.image.path if project.image else st["path"]
            if project.image is None or project.image.status != "ok":
                continue
            img = opened.setdefault(path, open_image(path))
            c = st.get("channel_index")
            levels = img.levels if c is None else [lev[c] for lev in img.levels]
            cm = st["colormap"]
            cmap = cm["name"] if cm["name"] in AVAILABLE_COLORMAPS else Colormap(
                np.asarray(cm["colors"]), name=cm["name"])
            viewer.add_image(levels if len(levels) > 1 else levels[0], rgb=st.get("rgb", False),
                             multiscale=len(levels) > 1, colormap=cmap, gamma=st["gamma"],
                             contrast_limits=st["contrast_limits"],
                             metadata={"path": path, "channel_index": c}, **look)
        elif st.get("role") == CELLS and project.labels is not None:
            layer = viewer.add_labels(project.labels, **look)
            if project.cells is not None:
                set_cell_table(layer, project.cells)
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
    session_of(viewer).replace(session_values(project), source=RESTORE)
