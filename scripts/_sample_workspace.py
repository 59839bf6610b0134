"""What every screenshot script starts from: the synthetic TEN biopsy in napari with its
cells, and napari-dvp's docks opened from the Plugins menu (they form one tab group).

Used by ``screenshot_workspace.py``, ``screenshot_regions_dock.py`` and
``screenshot_lmd_palm.py`` (run as scripts, so this sibling module is importable).
"""

from __future__ import annotations

import napari
import numpy as np

from napari_dvp._qt._common import set_cell_table
from napari_dvp.core.synthetic import make_sample

DOCKS = ("Slide", "Segment cells", "Review segmentation", "Regions", "Gating",
         "Cell classifier", "LMD export", "Proteins on tissue", "Project")
COLORMAPS = {"DAPI": "blue", "panCK": "green", "CD8": "magenta", "CD163": "yellow",
             "pSTAT1": "cyan"}


def open_sample(tissue: int = 768, classified: bool = False, docks=DOCKS):
    """``(viewer, sample, cells layer, {dock name: widget})`` of a fresh napari window.

    The channels are on the slide's µm grid with the file's pixel size; the cells carry
    id, centroid and area (and, when ``classified``, the true class and region).
    """
    s = make_sample(tissue)
    px = s.pixel_size_um
    viewer = napari.Viewer(show=True)
    meta = {"slide": "TEN_biopsy.ome.tif", "pixel_size_um": px, "pixel_size_source": "file"}
    for k, name in enumerate(s.channel_names):
        viewer.add_image(s.image[k], name=name, colormap=COLORMAPS.get(name, "gray"),
                         blending="additive", scale=(px, px), units=("um", "um"),
                         metadata=dict(meta))
    table = s.cells[["cell_id", "centroid_row", "centroid_col"]].copy()
    table["area_um2"] = np.bincount(s.labels.ravel())[table["cell_id"].to_numpy()] * px ** 2
    if classified:
        table["class"] = s.cells["true_class"].astype(str).to_numpy()
        table["region"] = s.cells["true_region"].astype(str).to_numpy()
    cells = viewer.add_labels(s.labels, name="cells", scale=(px, px), units=("um", "um"),
                              metadata={"slide": meta["slide"]}, opacity=0.25)
    set_cell_table(cells, table, step="classify" if classified else "segmentation")
    widgets = {name: viewer.window.add_plugin_dock_widget("napari-dvp", name)[1]
               for name in docks}
    return viewer, s, cells, widgets
