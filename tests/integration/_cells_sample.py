"""A measured synthetic biopsy for the class docks' click tests (built with core functions).

384² pixels of the synthetic TEN sample (five channels, 0.5 µm/px), its true
labels measured by :func:`napari_dvp.core.measure.measure_cells` — about 125
cells of four true classes — shown in a viewer as a slide with a cells layer
carrying the measured table, plus the hidden ground-truth layer the sample
comes with (which no dock may take for the cells).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from qtpy.QtCore import QPoint, Qt

SIZE = 384


@dataclass(frozen=True)
class MeasuredSample:
    image: np.ndarray
    labels: np.ndarray
    table: pd.DataFrame
    truth: pd.Series  #: true class per cell_id
    channels: tuple[str, ...]
    pixel_um: float


@lru_cache(maxsize=1)
def measured_sample() -> MeasuredSample:
    """The sample and its measured cell table (computed once per test process)."""
    from napari_dvp.core.measure import measure_cells
    from napari_dvp.core.synthetic import make_sample

    s = make_sample(SIZE, seed=0)
    table = measure_cells(s.labels, s.image, s.channel_names, s.pixel_size_um)
    truth = s.cells.set_index("cell_id")["true_class"].astype(str).reindex(table["cell_id"])
    return MeasuredSample(s.image, s.labels, table, truth, tuple(s.channel_names),
                          s.pixel_size_um)


def open_in_viewer(viewer, sample: MeasuredSample):
    """Show the sample as a slide with a measured ``cells`` layer; returns the cells layer."""
    from napari_dvp._qt._common import set_cell_table

    px = (sample.pixel_um, sample.pixel_um)
    for k, ch in enumerate(sample.channels):
        viewer.add_image(sample.image[k], name=ch, scale=px, blending="additive",
                         metadata={"slide": "synthetic TEN", "pixel_size_um": sample.pixel_um})
    cells = viewer.add_labels(sample.labels, name="cells", scale=px, opacity=0.3)
    set_cell_table(cells, sample.table.copy(), step="measure")
    # newest, but hidden ground truth: never the cells unless the user picks it
    viewer.add_labels(sample.labels, name="ground truth", scale=px, visible=False,
                      metadata={"ground_truth": True})
    viewer.layers.selection.active = cells
    return cells


def world_of(sample: MeasuredSample, cell_id: int) -> tuple[float, float]:
    """World position (µm, row/col) of a pixel inside cell ``cell_id``."""
    rr, cc = np.nonzero(sample.labels == cell_id)
    k = int(np.argmin((rr - rr.mean()) ** 2 + (cc - cc.mean()) ** 2))
    return float(rr[k] * sample.pixel_um), float(cc[k] * sample.pixel_um)


def press(viewer, qtbot, key: int) -> None:
    """A real key press on the viewer window (through napari's key bindings)."""
    qtbot.keyClick(viewer.window._qt_viewer, getattr(Qt.Key, f"Key_{key}"))


def click_cell(viewer, qtbot, sample, cell_id: int) -> None:
    """Zoom onto the cell and click it on the canvas with the mouse."""
    world = world_of(sample, cell_id)
    viewer.scene.camera.center = world
    viewer.scene.camera.zoom = 12
    qtbot.wait(10)
    canvas = viewer.window._qt_viewer.canvas
    view = canvas.view
    x, y = (view.transform * view.scene.transform).map([world[1], world[0]])[:2]
    qtbot.mouseClick(canvas.native, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(float(x)), round(float(y))))
