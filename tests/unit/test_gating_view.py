"""Qt-free parts of the gating widget: markers, usable rules, histogram range, class counts."""

import numpy as np
import pandas as pd

from napari_dvp.core.classes.gating_view import (
    class_counts,
    histogram_input,
    markers_of,
    usable_rules,
)


def test_gating_view_helpers():
    t = pd.DataFrame({"cell_id": [1, 2, 3], "mean_CD8": [0.0, 5.0, np.nan],
                      "mean_panCK": [1.0, 2.0, 3.0]})
    assert markers_of(t) == ["CD8", "panCK"]
    assert usable_rules([("T", "CD8+"), ("M", "CD163+")], ["CD8", "panCK"]) == [("T", "CD8+")]
    v, (lo, hi) = histogram_input(t, "CD8")
    assert v.tolist() == [0.0, 5.0] and lo == 0.0 and 4.9 < hi <= 5.0
    assert class_counts(np.array([0, 1, 1, 2]), ["A", "B"]) == {"A": 2, "B": 1, "unclassified": 1}
