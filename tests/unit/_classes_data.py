"""A small labelled tissue with known classes and regions, for the class/region tests.

Used until (and besides) the synthetic sample: 20-pixel grid of disk cells,
epidermis on top, dermis below, a blister rectangle inside the dermis; cells
carry the marker of their true class plus noise. Measurements are computed
from the image with ``scipy.ndimage`` like the real measurement step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy import ndimage
from skimage.draw import disk

CHANNELS = ("DAPI", "panCK", "CD8", "CD163", "pSTAT1")
MARKER = {"keratinocyte": "panCK", "CD8 T cell": "CD8", "macrophage": "CD163",
          "fibroblast": None}


def make_tissue(size: int = 400, step: int = 20, seed: int = 0):
    """Return ``(image (C,Y,X) float32, labels, table, truth, regions)``."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((size, size), np.uint32)
    regions = {
        "epidermis": shapely.box(0, 0, size, size * 0.4),  # x=col, y=row
        "dermis": shapely.box(0, size * 0.4, size, size).difference(
            shapely.box(size * 0.6, size * 0.6, size * 0.9, size * 0.9)),
        "blister": shapely.box(size * 0.6, size * 0.6, size * 0.9, size * 0.9),
    }
    rows, cols = [], []
    cid = 0
    for r in range(step // 2, size, step):
        for c in range(step // 2, size, step):
            cid += 1
            rr, cc = disk((r + rng.integers(-2, 3), c + rng.integers(-2, 3)),
                          rng.uniform(4, 7), shape=labels.shape)
            labels[rr, cc] = cid
            rows.append(rr.mean())
            cols.append(cc.mean())
    rows, cols = np.array(rows), np.array(cols)
    reg = np.full(len(rows), "", dtype=object)
    for name, g in regions.items():
        reg[shapely.contains_xy(g, cols, rows)] = name
    n = cid
    cls = np.empty(n, dtype=object)
    epi = reg == "epidermis"
    cls[epi] = np.where(rng.random(epi.sum()) < 0.85, "keratinocyte", "CD8 T cell")
    other = ~epi
    cls[other] = rng.choice(["CD8 T cell", "macrophage", "fibroblast"], size=other.sum(),
                            p=[0.3, 0.3, 0.4])
    image = np.zeros((len(CHANNELS), size, size), np.float32)
    for k, ch in enumerate(CHANNELS):
        level = np.full(n + 1, 0.0)
        level[1:] = rng.normal(100, 20, n).clip(10)
        if ch == "DAPI":
            level[1:] = rng.normal(1000, 100, n)
        for name, m in MARKER.items():
            if m == ch:
                level[1:][cls == name] = rng.normal(800, 150, (cls == name).sum()).clip(300)
        image[k] = level[labels] + rng.normal(0, 10, labels.shape)
    ids = np.arange(1, n + 1)
    table = pd.DataFrame({"cell_id": ids, "centroid_row": rows, "centroid_col": cols})
    table["area_um2"] = ndimage.sum(np.ones_like(labels), labels, ids) * 0.25
    for k, ch in enumerate(CHANNELS):
        table[f"mean_{ch}"] = ndimage.mean(image[k], labels, ids)
        table[f"median_{ch}"] = ndimage.median(image[k], labels, ids)
    table["qc_status"] = "pending"
    truth = pd.DataFrame({"cell_id": ids, "true_class": cls, "true_region": reg})
    return image, labels, table, truth, regions
