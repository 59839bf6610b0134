"""Match imported QuPath detections to our cell labels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from ._model import GeoFeature


def match_detections(features: Sequence[GeoFeature], labels: np.ndarray) -> pd.DataFrame:
    """Match imported detections/cells to our labels by a point inside each one.

    Returns
    -------
    pandas.DataFrame
        ``cell_id, class, name`` for detections that land on a cell (vectorised:
        one ``point_on_surface`` per detection, one label look-up for all).
    """
    dets = [f for f in features if f.object_type in ("detection", "cell")]
    if not dets:
        return pd.DataFrame({"cell_id": pd.Series(dtype=np.int64), "class": [], "name": []})
    pts = shapely.point_on_surface(np.array([f.geometry for f in dets], dtype=object))
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    labels = np.asarray(labels)
    # napari-dvp frame: pixel (r, c) covers [c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]
    r = np.clip(np.floor(y + 0.5).astype(np.int64), 0, labels.shape[0] - 1)
    c = np.clip(np.floor(x + 0.5).astype(np.int64), 0, labels.shape[1] - 1)
    inside = (y >= -0.5) & (x >= -0.5) & (y < labels.shape[0] - 0.5) & (
        x < labels.shape[1] - 0.5)
    ids = np.where(inside, labels[r, c], 0).astype(np.int64)
    df = pd.DataFrame({"cell_id": ids, "class": [f.class_name for f in dets],
                       "name": [f.name for f in dets]})
    return df[df["cell_id"] > 0].drop_duplicates("cell_id", keep="last").reset_index(drop=True)

