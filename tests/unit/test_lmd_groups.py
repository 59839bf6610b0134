"""group_counts: the class x region groups the LMD widget offers."""

import pandas as pd

from napari_dvp.core.lmd.plan_common import group_counts


def test_group_counts_skip_excluded_and_unclassified():
    cells = pd.DataFrame({"class": ["A", "A", "B", "", "A"],
                          "region": ["dermis", "dermis", "Exclude", "dermis", "epidermis"]})
    assert group_counts(cells) == [("A", "dermis", 2), ("A", "epidermis", 1)]
    assert group_counts(cells.drop(columns="region")) == []
