"""The LMD preview on the tissue: planned cells and region pieces in their well's colour.

Every layer made here has the role ``preview`` (never a slide, rebuilt by a
project). The colours are those of the QC picture of the export
(:func:`~napari_dvp.core.lmd.qc.well_colours`); the plan table shows them as
its legend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ...core.lmd.qc import well_colours, well_lut
from ...core.lmd.shapes import cell_outlines
from ...core.overlay.lut import apply_lut
from .._slide import ROLE, level0

PREVIEW_LAYER = "LMD preview (by well)"
REGION_PREVIEW = "LMD region samples (by well)"
OUTLINES_LAYER = "LMD sample outlines"


def outlines_rc(geom) -> list[np.ndarray]:
    """Outer rings of every polygon of ``geom`` as (row, col) vertex arrays for a Shapes layer."""
    parts = shapely.get_parts(geom)
    return [shapely.get_coordinates(shapely.get_exterior_ring(p))[:-1, ::-1] for p in parts]


def cells_only(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan with region samples' cell lists emptied (they are previewed as shapes)."""
    plan = plan.copy()
    if "kind" in plan:
        reg = (plan["kind"] == "region").to_numpy()
        plan["cell_ids"] = [() if r else c for r, c in zip(reg, plan["cell_ids"], strict=True)]
    return plan


def _drop(viewer, name: str) -> None:
    if name in viewer.layers:
        viewer.layers.remove(name)


def _geometry(ref) -> dict:
    """Where the cells layer is, and the role: set at creation, so no dock takes it for a slide."""
    return {"scale": ref.scale[-2:], "translate": ref.translate[-2:], "units": ref.units[-2:],
            "metadata": {ROLE: "preview"}}


def show_preview(viewer, ref, plan: pd.DataFrame, wells: dict[str, str]) -> dict:
    """Colour planned cells by well (one RGBA image via a lookup table); regions as shapes.

    Returns the colour of each well.
    """
    if not len(plan):
        _drop(viewer, PREVIEW_LAYER)
        _drop(viewer, REGION_PREVIEW)
        return {}
    colours = well_colours([wells[s] for s in plan["sample_id"]])
    labels = level0(ref)
    data = apply_lut(labels, well_lut(cells_only(plan), wells, int(np.max(labels))))
    if PREVIEW_LAYER in viewer.layers:
        viewer.layers[PREVIEW_LAYER].data = data
    else:
        viewer.add_image(data, name=PREVIEW_LAYER, rgb=True, opacity=0.8, **_geometry(ref))
    _drop(viewer, REGION_PREVIEW)
    reg = plan[plan["kind"] == "region"] if "kind" in plan else plan.iloc[:0]
    if len(reg):
        shapes, edge = [], []
        for sid, geom in zip(reg["sample_id"], reg["geometry"], strict=True):
            rings = outlines_rc(geom)
            shapes += rings
            edge += [colours[wells[sid]]] * len(rings)
        face = np.asarray(edge, dtype=float)
        face[:, 3] = 0.35
        viewer.add_shapes(shapes, shape_type="polygon", name=REGION_PREVIEW,
                          edge_color=np.asarray(edge), face_color=face, edge_width=2,
                          **_geometry(ref))
    return colours


def show_sample_outlines(viewer, ref, plan: pd.DataFrame, row: int) -> None:
    """Outline the cells (or region pieces) of sample ``row`` in yellow."""
    if plan.at[row, "kind"] == "region":
        polys = plan.at[row, "geometry"]
    else:
        ids = np.asarray(plan.at[row, "cell_ids"], dtype=np.int64)
        polys, _ = cell_outlines(np.asarray(level0(ref)), ids, 0.0)
    _drop(viewer, OUTLINES_LAYER)
    viewer.add_shapes(outlines_rc(polys), shape_type="polygon", name=OUTLINES_LAYER,
                      edge_color="yellow", face_color="transparent", edge_width=1.5,
                      **_geometry(ref))
