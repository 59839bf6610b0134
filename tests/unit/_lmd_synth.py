"""Small synthetic tissue for the LMD tests: a grid of disk cells with classes and regions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from skimage.draw import disk

PIXEL_SIZE_UM = 0.5


def make_tissue(size: int = 400, spacing: int = 16, seed: int = 0):
    """Return ``(labels, cells)``: disk cells of radius 4-7 px on a jittered grid.

    ``cells`` has cell_id, centroid_row/col, area_um2, class (left half
    keratinocyte, right half CD8 T cell), region (top half epidermis, bottom
    dermis) and qc_status "accepted".
    """
    rng = np.random.default_rng(seed)
    labels = np.zeros((size, size), np.uint32)
    n = 0
    for r in range(12, size - 12, spacing):
        for c in range(12, size - 12, spacing):
            n += 1
            rr, cc = disk((r + rng.integers(-2, 3), c + rng.integers(-2, 3)),
                          int(rng.integers(4, 8)), shape=labels.shape)
            labels[rr, cc] = n
    ids = np.arange(1, n + 1)
    rows, cols = np.nonzero(labels)
    lab = labels[rows, cols].astype(np.intp)
    cnt = np.bincount(lab, minlength=n + 1)[1:]
    cr = np.bincount(lab, weights=rows, minlength=n + 1)[1:] / cnt
    cc_ = np.bincount(lab, weights=cols, minlength=n + 1)[1:] / cnt
    cells = pd.DataFrame({
        "cell_id": ids, "centroid_row": cr, "centroid_col": cc_,
        "area_um2": cnt * PIXEL_SIZE_UM**2,
        "class": np.where(cc_ < size / 2, "keratinocyte", "CD8 T cell"),
        "region": np.where(cr < size / 2, "epidermis", "dermis"),
        "qc_status": "accepted",
    })
    return labels, cells
