"""Demo step: measure every cell, flag suspicious ones, show the QC review."""

from __future__ import annotations

import numpy as np

TITLE = "Measure cells and review the segmentation (QC)"


def run(state) -> None:
    """Measure ``state.labels`` on ``state.image``, flag QC, write cells.csv and 03_qc.png."""
    from ..core.atomic import atomic_path
    from ..core.csv_safe import write_csv
    from ..core.measure import measure_cells
    from ..core.review.qc import QcThresholds, flag_cells, qc_codes, suspicious

    labels = state.labels
    source = "segmentation"
    if labels is None:  # the segmentation step did not run: review the ground truth
        labels = state.extra.get("truth_labels")
        source = "ground-truth labels (segmentation step missing)"
        state.labels = labels
    if labels is None or state.image is None:
        state.say("no image/labels to review; skipped")
        return
    names = list(state.channel_names)
    table = measure_cells(np.asarray(labels), state.image, names, state.pixel_size_um)
    nuclear = next((n for n in names if n.lower() in ("dapi", "hoechst")), None)
    table = flag_cells(table, QcThresholds(), nuclear)
    if isinstance(state.cells, type(table)) and len(state.cells):
        extra = [c for c in state.cells.columns if c not in table.columns]
        if extra:  # keep what earlier steps added (e.g. classes)
            table = table.merge(state.cells[["cell_id", *extra]], on="cell_id", how="left")
    state.cells = table
    state.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(state.out / "cells.csv") as tmp:
        write_csv(table, tmp, float_format="%.4g")
    sus = suspicious(table)
    with atomic_path(state.out / "qc_suspicious_cells.csv") as tmp:
        write_csv(sus, tmp, float_format="%.4g")
    codes = qc_codes(table)
    state.say(f"measured {len(table)} cells on the {source}; {int((codes == 1).sum())} flagged "
              f"for review ({', '.join(_top_reasons(sus))}); wrote cells.csv")
    if state.viewer is None:
        return
    _show(state, table)


def _top_reasons(sus) -> list[str]:
    counts = sus["reasons"].str.split(", ").explode().value_counts()
    return [f"{n} {k}" for k, n in counts.head(3).items()] or ["none"]


def _show(state, table) -> None:
    from .._qt._common import set_cell_table
    from .._qt.review.widget import ReviewWidget

    viewer = state.viewer
    px = state.pixel_size_um
    if "cells" in viewer.layers:
        layer = viewer.layers["cells"]
    else:
        layer = viewer.add_labels(state.labels, name="cells", scale=(px, px), opacity=0.4,
                                  units=("um", "um"), metadata={"pixel_size_um": px})
    set_cell_table(layer, table)
    try:  # the docked one when the manifest registers it (reused if already open)
        dock, widget = viewer.window.add_plugin_dock_widget("napari-dvp", "Review segmentation")
    except Exception:  # not registered (yet): dock it directly
        dock, widget = None, None
    if not isinstance(widget, ReviewWidget):
        widget = ReviewWidget(viewer)
        dock = viewer.window.add_dock_widget(widget, name="Review segmentation", area="right")
    dock.show()
    dock.raise_()
    widget._refresh_choices()
    widget.cells_combo.setCurrentText("cells")
    widget.find_suspicious()
    if widget.proxy.rowCount():
        widget.view.selectRow(0)
        widget.go_to_row(0)
    viewer.reset_view()
    state.screenshot("03_qc.png")
