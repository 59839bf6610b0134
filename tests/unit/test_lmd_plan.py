"""Sample plan: pooling cells into samples, plain tables, regions as samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.lmd.plan import (
    PLAN_COLUMNS,
    PlanOptions,
    combine_plans,
    eligible_mask,
    plan_from_table,
    plan_samples,
    region_samples,
    touching_pairs,
)

from ._lmd_synth import make_tissue


@pytest.fixture(scope="module")
def tissue():
    return make_tissue(400)


def _spread(cells, ids):
    xy = cells.set_index("cell_id").loc[list(ids), ["centroid_row", "centroid_col"]].to_numpy()
    return np.linalg.norm(xy - xy.mean(0), axis=1).mean()


def test_pooling_by_area_and_replicates(tissue):
    _, cells = tissue
    cells = cells.copy()
    cells.loc[cells.index[:40], "qc_status"] = "rejected"
    cells.loc[cells.index[40:60], "region"] = "exclude"
    cells["qc_too_small"] = False
    cells.loc[cells.index[60:75], "qc_too_small"] = True
    cells.loc[cells.index[60:70], "qc_status"] = "pending"  # flagged, not reviewed: left out
    opts = PlanOptions(target_area_um2=500, replicates=3, mode="spread")
    plan = plan_samples(cells, [("keratinocyte", "epidermis"), ("CD8 T cell", "*")], opts)
    assert list(plan.columns) == PLAN_COLUMNS
    assert len(plan) == 6 and plan["sample_id"].is_unique
    assert (plan["replicate"].to_numpy() == [1, 2, 3, 1, 2, 3]).all()
    all_ids = np.concatenate([np.asarray(c) for c in plan["cell_ids"]])
    assert len(np.unique(all_ids)) == len(all_ids)
    bad = set(cells["cell_id"].iloc[:70])
    assert not bad & set(all_ids.tolist())
    # flagged but accepted by a person: may be cut
    ok = eligible_mask(cells)
    assert ok[70:75].all() and not ok[:70].any()
    assert plan.attrs["warnings"] == []
    info = cells.set_index("cell_id")
    for _, row in plan.iterrows():
        sub = info.loc[list(row["cell_ids"])]
        assert row["area_um2"] == pytest.approx(sub["area_um2"].sum())
        assert row["area_um2"] >= 500 and row["area_um2"] - sub["area_um2"].max() < 500
        if row["class"] == "keratinocyte":
            assert (sub["region"] == "epidermis").all() and (sub["class"] == row["class"]).all()


def test_contiguous_is_more_compact_than_spread(tissue):
    _, cells = tissue
    g = [("keratinocyte", "*")]
    spread = plan_samples(cells, g, PlanOptions(target_cells=30, replicates=2, mode="spread"))
    patch = plan_samples(cells, g, PlanOptions(target_cells=30, replicates=2, mode="contiguous"))
    assert (patch["n_cells"] == 30).all() and (spread["n_cells"] == 30).all()
    for a, b in zip(patch["cell_ids"], spread["cell_ids"], strict=True):
        assert _spread(cells, a) < 0.5 * _spread(cells, b)
    assert not set(patch["cell_ids"][0]) & set(patch["cell_ids"][1])


def test_short_groups_warn_or_drop(tissue):
    _, cells = tissue
    plan = plan_samples(cells, [("keratinocyte", "epidermis")],
                        PlanOptions(target_area_um2=1e9, replicates=2))
    # too few cells: the two replicates share them (they were filled one after the other)
    assert len(plan) == 2 and any("only" in w for w in plan.attrs["warnings"])
    with pytest.raises(DvpInputError, match="no eligible"):
        plan_samples(cells, [("keratinocyte", "epidermis")],
                     PlanOptions(target_area_um2=1e9, allow_short=False))
    with pytest.raises(DvpInputError, match="no eligible"):
        plan_samples(cells, [("macrophage", "dermis")], PlanOptions())
    with pytest.raises(DvpInputError, match="no class"):
        plan_samples(cells, [], PlanOptions())


def test_skip_touching():
    lab = np.zeros((40, 40), np.uint32)
    lab[5:10, 5:10] = 1
    lab[5:10, 10:15] = 2  # touches 1
    lab[20:25, 20:25] = 3  # alone
    lab[30:35, 5:10] = 4  # alone
    assert touching_pairs(lab).tolist() == [[1, 2]]
    cells = pd.DataFrame({"cell_id": [1, 2, 3, 4], "centroid_row": [7, 7, 22, 32],
                          "centroid_col": [7, 12, 22, 7], "area_um2": 6.25,
                          "class": "k", "region": "e"})
    plan = plan_samples(cells, [("k", "e")], PlanOptions(target_cells=10, skip_touching=True),
                        labels=lab)
    assert plan["cell_ids"][0] == (3, 4)
    with pytest.raises(DvpInputError, match="labels"):
        plan_samples(cells, [("k", "e")], PlanOptions(skip_touching=True))


def test_plan_from_table(tissue):
    labels, cells = tissue
    t = pd.DataFrame({"cell_id": [1, 2, 3, 10, 11], "sample": ["a", "a", "a", "b", "b"],
                      "well": ["C3", "", "", "", ""]})
    plan = plan_from_table(t, cells, label_ids=np.unique(labels))
    assert plan["sample_id"].tolist() == ["a", "b"]
    assert plan["well"].tolist() == ["C3", ""]
    assert plan["cell_ids"].tolist() == [(1, 2, 3), (10, 11)]
    assert plan["class"][0] == "keratinocyte" and plan["n_cells"].tolist() == [3, 2]
    with pytest.raises(DvpInputError, match="do not exist"):
        plan_from_table(pd.DataFrame({"cell_id": [1, 99999], "sample": "a"}), cells,
                        label_ids=np.unique(labels))
    with pytest.raises(DvpInputError, match="more than once"):
        plan_from_table(pd.DataFrame({"cell_id": [1, 1], "sample": ["a", "b"]}))
    with pytest.raises(DvpInputError, match="empty"):
        plan_from_table(pd.DataFrame({"cell_id": [], "sample": []}))
    with pytest.raises(DvpInputError, match="lacks"):
        plan_from_table(pd.DataFrame({"id": [1]}))
    rej = cells.copy()
    rej.loc[rej["cell_id"].isin([10, 11]), "qc_status"] = "rejected"
    with pytest.raises(DvpInputError, match="sample 'b' are rejected"):
        plan_from_table(t, rej)
    with pytest.raises(DvpInputError, match="one per sample"):
        plan_from_table(pd.DataFrame({"cell_id": [1, 2], "sample": "a", "well": ["A1", "A2"]}))


def test_region_samples_tiled_and_mixed(tissue):
    _, cells = tissue
    regions = {"lesional": shapely.box(20, 20, 180, 120)}  # 160 x 100 px = 4000 µm²
    plan = region_samples(regions, ["lesional"], 0.5, max_piece_um2=500, cells=cells)
    geom = plan["geometry"][0]
    pieces = shapely.get_parts(geom)
    assert len(pieces) >= 8 and (shapely.area(pieces) * 0.25 <= 500 + 1e-6).all()
    assert plan["area_um2"][0] == pytest.approx(4000)
    inside = shapely.contains_xy(regions["lesional"], cells["centroid_col"], cells["centroid_row"])
    assert plan["n_cells"][0] == inside.sum() > 0
    cell_plan = plan_samples(cells, [("CD8 T cell", "dermis")], PlanOptions(target_cells=5))
    mixed = combine_plans(cell_plan, plan)
    assert mixed["kind"].tolist() == ["cells", "region"]
    with pytest.raises(DvpInputError, match="used twice"):
        combine_plans(cell_plan, cell_plan)
    with pytest.raises(DvpInputError, match="no region"):
        region_samples(regions, ["nope"], 0.5)


@pytest.mark.parametrize("mode", ["spread", "contiguous"])
@pytest.mark.parametrize("by", ["area", "count"])
def test_replicates_are_balanced(tissue, mode, by):
    """GUI issue: replicates within 10 % of each other (they were filled one after another)."""
    _, cells = tissue
    group = [("keratinocyte", "epidermis")]
    ok = eligible_mask(cells) & (cells["class"] == "keratinocyte").to_numpy() & (
        cells["region"] == "epidermis").to_numpy()
    total = cells.loc[ok, "area_um2"].sum() if by == "area" else ok.sum()
    target = total / 2.4  # enough for two replicates, not for three
    opts = (PlanOptions(target_area_um2=target, replicates=3, mode=mode) if by == "area"
            else PlanOptions(target_cells=int(target), replicates=3, mode=mode))
    plan = plan_samples(cells, group, opts)
    size = plan["area_um2"] if by == "area" else plan["n_cells"]
    assert len(plan) == 3
    assert (size.max() - size.min()) <= 0.10 * size.max(), size.tolist()
    assert size.sum() == pytest.approx(total)  # every eligible cell used once
    assert any("too few cells for 3 replicates" in w for w in plan.attrs["warnings"])
    # with enough cells each replicate reaches the target, all within 10 %
    opts.replicates = 2
    plan = plan_samples(cells, group, opts)
    size = plan["area_um2"] if by == "area" else plan["n_cells"]
    assert (size >= int(target)).all() and (size.max() - size.min()) <= 0.10 * size.max()
    assert not plan.attrs["warnings"]


def test_replicates_that_cannot_be_balanced_say_so():
    cells = pd.DataFrame({"cell_id": [1, 2, 3], "centroid_row": [0.0, 10, 20],
                          "centroid_col": [0.0, 0, 0], "area_um2": [100.0, 10, 10],
                          "class": "k", "region": "e"})
    plan = plan_samples(cells, [("k", "e")], PlanOptions(target_area_um2=500, replicates=2))
    assert len(plan) == 2
    assert any("differ by" in w and "too few cells" in w for w in plan.attrs["warnings"])
