"""The cell table from the accumulated sums: centroids, eccentricity, solidity, µm."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cells import columns as ct
from ._block_stats import _Acc


def _table(acc: _Acc, names: list[str], px: float, border: bool) -> pd.DataFrame:
    ids = np.flatnonzero(acc.nblocks > 0) if acc.nblocks.size else np.zeros(0, np.int64)
    s = acc.sums[ids] if ids.size else np.zeros((0, 7 + len(names)))
    n = s[:, 0]
    mr, mc = s[:, 1] / np.maximum(n, 1), s[:, 2] / np.maximum(n, 1)
    vr = np.maximum(s[:, 3] / np.maximum(n, 1) - mr * mr, 0)
    vc = np.maximum(s[:, 4] / np.maximum(n, 1) - mc * mc, 0)
    cv = s[:, 5] / np.maximum(n, 1) - mr * mc
    half = (vr + vc) / 2
    rad = np.sqrt(((vr - vc) / 2) ** 2 + cv * cv)
    l1, l2 = half + rad, np.maximum(half - rad, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ecc = np.where(l1 > 0, np.sqrt(np.clip(1 - l2 / l1, 0, 1)), 0.0)
    hull = acc.hull_area[ids] if ids.size else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        solidity = np.where(hull > 0, np.minimum(n / hull, 1.0), 1.0)
    cols: dict[str, np.ndarray] = {
        ct.CELL_ID: ids.astype(np.int64),
        ct.ROW: mr,
        ct.COL: mc,
        ct.Y_UM: mr * px,
        ct.X_UM: mc * px,
        ct.AREA_UM2: n * px * px,
    }
    for c, name in enumerate(names):
        cols[ct.mean_column(name)] = s[:, 7 + c] / np.maximum(n, 1)
    for c, name in enumerate(names):
        cols[ct.median_column(name)] = acc.median[ids, c] if ids.size else np.zeros(0)
    cols["eccentricity"] = ecc
    cols["solidity"] = solidity
    cols["perimeter_um"] = s[:, 6] * px
    cols["touches_border"] = (acc.border[ids] if ids.size else np.zeros(0, bool)) if border \
        else np.zeros(ids.size, bool)
    return pd.DataFrame(cols)
