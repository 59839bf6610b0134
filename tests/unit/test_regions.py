"""Regions: point-in-polygon assignment, exclude semantics, counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.regions import (
    DEFAULT_REGION_CLASSES,
    Region,
    assign_regions,
    color_for,
    excluded_mask,
    is_exclude_name,
    region_counts,
)

from ._classes_data import make_tissue


def _table(rows, cols):
    return pd.DataFrame({"cell_id": np.arange(1, len(rows) + 1), "centroid_row": rows,
                         "centroid_col": cols})


def test_assignment_equals_ground_truth():
    _, _, table, truth, regions = make_tissue()
    got = assign_regions(table, regions)
    agreement = (got.to_numpy() == truth["true_region"].to_numpy()).mean()
    print(f"region agreement with ground truth: {agreement:.4f} ({len(table)} cells)")
    assert agreement == 1.0
    assert got.name == "region"


def test_x_is_column_y_is_row():
    # a tall thin region: x in [0, 10], y in [0, 100]
    reg = {"epidermis": shapely.box(0, 0, 10, 100)}
    t = _table([50.0, 5.0], [5.0, 50.0])  # (row 50, col 5) inside; (row 5, col 50) outside
    assert assign_regions(t, reg).tolist() == ["epidermis", ""]


def test_overlap_exclude_wins_then_topmost():
    regs = [Region(shapely.box(0, 0, 100, 100), "dermis"),
            Region(shapely.box(40, 40, 60, 60), "exclude"),
            Region(shapely.box(0, 0, 30, 30), "epidermis"),
            Region(shapely.box(45, 45, 55, 55), "blister")]  # drawn above the exclude
    t = _table([10.0, 50.0, 80.0, 200.0, 100.0], [10.0, 50.0, 80.0, 200.0, 50.0])
    got = assign_regions(t, regs).tolist()
    assert got == ["epidermis", "exclude", "dermis", "", "dermis"]  # border counts inside
    t["region"] = got
    assert excluded_mask(t).tolist() == [False, True, False, False, False]


def test_multipolygon_with_hole():
    shell = shapely.Polygon([(0, 0), (100, 0), (100, 100), (0, 100)],
                            [[(40, 40), (60, 40), (60, 60), (40, 60)]])
    mp = shapely.MultiPolygon([shell, shapely.box(200, 200, 210, 210)])
    t = _table([50.0, 10.0, 205.0], [50.0, 10.0, 205.0])
    assert assign_regions(t, {"dermis": mp}).tolist() == ["", "dermis", "dermis"]


def test_invalid_polygon_repaired():
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    t = _table([2.0, 5.0], [8.0, 20.0])
    assert assign_regions(t, {"dermis": bowtie}).tolist() == ["dermis", ""]


def test_counts_and_area():
    _, _, table, _, regions = make_tissue()
    table["region"] = assign_regions(table, regions)
    counts = region_counts(table, regions, pixel_size_um=0.5)
    assert counts["region"].tolist()[:3] == ["epidermis", "dermis", "blister"]
    assert counts["n_cells"].sum() == len(table)
    epi = counts.set_index("region").loc["epidermis"]
    assert epi["region_area"] == pytest.approx(400 * 160 * 0.25)
    assert epi["cell_area_um2"] == pytest.approx(
        table.loc[table.region == "epidermis", "area_um2"].sum())


def test_bad_input():
    t = _table([1.0], [1.0])
    with pytest.raises(DvpInputError, match="no geometry"):
        assign_regions(t, {"dermis": shapely.Polygon()})
    with pytest.raises(DvpInputError, match="centroid_row"):
        assign_regions(pd.DataFrame({"cell_id": [1]}), {"dermis": shapely.box(0, 0, 1, 1)})
    with pytest.raises(DvpInputError, match="assign cells"):
        region_counts(t)
    assert assign_regions(t.iloc[:0], {"a": shapely.box(0, 0, 1, 1)}).empty


def test_names_and_colours():
    assert [r.name for r in DEFAULT_REGION_CLASSES][:3] == ["epidermis", "dermis", "blister"]
    assert is_exclude_name("Exclude/artefact") and is_exclude_name("Ignore*")
    assert not is_exclude_name("dermis")
    assert color_for("dermis") == DEFAULT_REGION_CLASSES[1].color
    assert color_for("my region") == color_for("my region")  # stable


def test_many_cells_agree_with_shapely():
    """Many cells and regions in one vectorised pass (speed: bench, not here)."""
    rng = np.random.default_rng(0)
    n = 20_000
    t = _table(rng.uniform(0, 8000, n), rng.uniform(0, 8000, n))
    regs = {f"r{i}": shapely.Point(rng.uniform(0, 8000), rng.uniform(0, 8000)).buffer(300)
            for i in range(50)}
    got = assign_regions(t, regs)
    expect = np.full(n, "", dtype=object)
    for k, g in regs.items():
        expect[shapely.contains_xy(g, t.centroid_col, t.centroid_row)] = k
    assert (got.to_numpy() == expect).all()
