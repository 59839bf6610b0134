"""Demo step: tissue regions and cell classes (gating with Otsu thresholds), checked vs truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.atomic import atomic_path, write_text_atomic
from ..core.cells.columns import CELL_ID, CLASS, COL, REGION, ROW
from ..core.classes.gating import (
    GateRule,
    GatingScheme,
    apply_gating,
    default_thresholds,
    save_gating,
)
from ..core.classes.overlay import class_color, class_region_matrix, class_region_table
from ..core.csv_safe import write_csv
from ..core.geojson import features_to_shapes, regions_to_features, write_geojson
from ..core.regions import Region, assign_regions, color_for

TITLE = "Regions and cell classes (gating)"
RULES = (("keratinocyte", "panCK+"), ("CD8 T cell", "CD8+ and panCK-"),
         ("macrophage", "CD163+ and CD8- and panCK-"),
         ("fibroblast", "panCK- and CD8- and CD163-"))


def _cells(state) -> tuple[np.ndarray, pd.DataFrame]:
    labels = state.labels if state.labels is not None else state.extra["truth_labels"]
    if state.cells is not None and len(state.cells):
        return labels, state.cells.copy()
    from ..core.measure import measure_cells

    state.say("no measured cells from an earlier step: measuring the true labels")
    return labels, measure_cells(labels, state.image, state.channel_names, state.pixel_size_um)


def _truth_of(state, table: pd.DataFrame) -> pd.DataFrame:
    """True class/region of each cell: the true cell under its centroid (any segmentation)."""
    tl = np.asarray(state.extra["truth_labels"])
    r = np.clip(np.round(table[ROW].to_numpy()).astype(int), 0, tl.shape[0] - 1)
    c = np.clip(np.round(table[COL].to_numpy()).astype(int), 0, tl.shape[1] - 1)
    truth = state.truth.set_index(CELL_ID)
    tid = tl[r, c].astype(np.int64)
    ok = np.isin(tid, truth.index.to_numpy())
    out = pd.DataFrame({"true_class": "", "true_region": ""}, index=table.index)
    out.loc[ok, "true_class"] = truth.loc[tid[ok], "true_class"].astype(str).to_numpy()
    out.loc[ok, "true_region"] = truth.loc[tid[ok], "true_region"].astype(str).to_numpy()
    out["matched"] = ok
    return out


def run(state) -> None:
    """Assign regions, gate classes, write tables + GeoJSON + accuracy, screenshot."""
    labels, table = _cells(state)
    regions = [Region(g, name) for name, g in state.extra["regions"].items() if not g.is_empty]
    table[REGION] = assign_regions(table, regions)
    markers = [m for m in ("panCK", "CD8", "CD163") if f"mean_{m}" in table.columns]
    scheme = GatingScheme([GateRule(n, r, class_color(n, k)) for k, (n, r) in enumerate(RULES)],
                          default_thresholds(table, markers))
    table[CLASS] = apply_gating(table, scheme)
    state.cells = table
    out = state.out
    out.mkdir(parents=True, exist_ok=True)
    save_gating(out / "gating.json", scheme)
    with atomic_path(out / "classes_by_region.csv") as tmp:
        write_csv(class_region_table(table), tmp, float_format="%.1f")
    write_geojson(out / "regions.geojson", regions_to_features(regions))

    truth = _truth_of(state, table)
    m = truth["matched"].to_numpy()
    lines = [f"cells: {len(table)} (matched to a true cell: {m.sum()})",
             "thresholds (Otsu on log intensity): " + ", ".join(
                 f"{k}={v:.0f}" for k, v in scheme.thresholds.items()),
             f"region agreement: {(table[REGION][m] == truth['true_region'][m]).mean():.4f}",
             f"class accuracy: {(table[CLASS][m] == truth['true_class'][m]).mean():.4f}"]
    for name, _ in RULES:
        sel = m & (truth["true_class"] == name).to_numpy()
        if sel.any():
            acc = (table[CLASS][sel] == name).mean()
            lines.append(f"  {name}: {acc:.3f} of {sel.sum()} true cells")
    lines += ["", "cells per class x region:", class_region_matrix(table).to_string()]
    write_text_atomic(out / "classification_accuracy.txt", "\n".join(lines) + "\n")
    for line in lines[:4]:
        state.say(line)

    if state.viewer is not None:
        _show(state, labels, table, regions, scheme)
        state.screenshot("04_classes.png")


def _show(state, labels, table, regions, scheme) -> None:
    """Show it as a pathologist would see it: the Gating widget driving the overlay."""
    from .._qt._common import set_cell_table

    v = state.viewer
    scale = (state.pixel_size_um, state.pixel_size_um)
    if "cells" in v.layers:  # the segmentation under review gets its regions + classes
        set_cell_table(v.layers["cells"], table)
    data, types, feats = features_to_shapes(regions_to_features(regions))
    edge = [np.r_[np.asarray(color_for(r)) / 255, 1.0] for r in feats["region"]]
    v.add_shapes(data, shape_type=types, features=feats, name="regions", scale=scale,
                 units=("um", "um"),
                 face_color="transparent", edge_color=edge, edge_width=4,
                 text={"string": "{region}", "color": "white", "size": 12})
    gating = state.dock("Gating")
    gating.load_cells()
    gating.set_scheme(scheme)  # the rules and thresholds saved to gating.json
    gating.histogram.marker.setCurrentText("CD8")
    gating.apply()
    v.reset_view()
