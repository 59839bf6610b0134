"""group_counts: the class x region groups the LMD widget offers."""

import pandas as pd

from napari_dvp.core.lmd.plan_common import group_counts


def test_group_counts_skip_excluded_and_unclassified():
    cells = pd.DataFrame({"class": ["A", "A", "B", "", "A"],
                          "region": ["dermis", "dermis", "Exclude", "dermis", "epidermis"]})
    assert group_counts(cells) == [("A", "dermis", 2), ("A", "epidermis", 1)]
    assert group_counts(cells.drop(columns="region")) == []


def test_artefact_and_qupath_ignore_regions_are_never_cut():
    import pandas as pd

    from napari_dvp.core.lmd.plan_common import eligible_mask, group_counts

    cells = pd.DataFrame({"cell_id": [1, 2, 3, 4], "class": ["keratinocyte"] * 4,
                          "region": ["epidermis", "exclude", "artefact", "Ignore*"]})
    assert eligible_mask(cells).tolist() == [True, False, False, False]
    assert group_counts(cells) == [("keratinocyte", "epidermis", 1)]
