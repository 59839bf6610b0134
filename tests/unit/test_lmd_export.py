"""LMD export end to end, checked by an independent reader (py-lmd)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.lmd import Calibration, ExportOptions, PlanOptions, export_lmd
from napari_dvp.core.lmd.export import MANIFEST_COLUMNS
from napari_dvp.core.lmd.leica_xml import is_leica_xml, read_leica_xml
from napari_dvp.core.lmd.palm import read_palm
from napari_dvp.core.lmd.plan import combine_plans, plan_from_table, plan_samples, region_samples

from ._lmd_synth import PIXEL_SIZE_UM, make_tissue

lmd_lib = pytest.importorskip("lmd.lib", reason="py-lmd is the independent oracle")


@pytest.fixture(scope="module")
def tissue():
    return make_tissue(400)


@pytest.fixture(scope="module")
def calibration():
    return Calibration(np.array([[5.0, 5.0], [5.0, 390.0], [390.0, 200.0]]), PIXEL_SIZE_UM)


def _plan(cells):
    return plan_samples(cells, [("keratinocyte", "epidermis"), ("CD8 T cell", "dermis"),
                                ("keratinocyte", "dermis")],
                        PlanOptions(target_area_um2=400, replicates=2, mode="contiguous"))


def _no_partial(tmp_path):
    return not any(".partial" in p.name for p in tmp_path.iterdir())


def test_export_checked_by_py_lmd(tissue, calibration, tmp_path):
    labels, cells = tissue
    plan = _plan(cells)
    res = export_lmd(labels, plan, calibration, tmp_path / "out",
                     ExportOptions(plate="96", fill_order="serpentine", skip_outer=True),
                     cells=cells)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    # the export folder lists what napari-dvp wrote (.napari-dvp-output.json, see robustness.md)
    assert files == [".napari-dvp-output.json", "lmd_export.json", "lmd_shapes.xml",
                     "lmd_shapes_qc.png", "lost_cells.csv", "manifest.csv", "plate_map.csv"]
    manifest = pd.read_csv(res.manifest_path)
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert manifest["well"].tolist()[:3] == ["B2", "B3", "B4"]
    assert manifest["n_shapes"].sum() == res.n_shapes

    coll = lmd_lib.Collection()
    coll.load(str(res.shapes_path))
    assert len(coll.shapes) == res.n_shapes
    np.testing.assert_array_equal(coll.calibration_points, calibration.marks_xml())
    assert [s.well for s in coll.shapes] == res.shapes["well"].tolist()
    assert set(s.well for s in coll.shapes) == set(manifest["well"])
    well_of_sample = dict(zip(manifest["sample_id"], manifest["well"], strict=True))

    polys = np.array([s.to_shapely() for s in coll.shapes], dtype=object)
    wells = np.array([s.well for s in coll.shapes])
    assert shapely.is_valid(polys).all()
    tree = shapely.STRtree(polys)
    cxy = calibration.to_xml(cells[["centroid_row", "centroid_col"]].to_numpy())
    pts = shapely.points(cxy)
    hit_p, hit_t = tree.query(pts, predicate="within")
    cell_well = {}
    for sid, ids in zip(plan["sample_id"], plan["cell_ids"], strict=True):
        cell_well.update({c: well_of_sample[sid] for c in ids})
    ids = cells["cell_id"].to_numpy()
    # no unselected cell's centre lies inside any shape
    unselected = ~np.isin(ids, list(cell_well))
    assert not unselected[hit_p].any()
    # every selected cell's centre lies inside a shape of its own well
    selected_hits = {(ids[p], wells[t]) for p, t in zip(hit_p, hit_t, strict=True)}
    lost = set(res.lost_cells.tolist())
    for cid, well in cell_well.items():
        if cid not in lost:
            assert (cid, well) in selected_hits, cid
        assert all(w == well for c, w in selected_hits if c == cid)  # never in two wells
    assert len(lost) <= 0.02 * len(cell_well)
    # our own reader agrees with py-lmd
    ours = read_leica_xml(res.shapes_path)
    assert is_leica_xml(res.shapes_path)
    np.testing.assert_array_equal(ours.calibration_xy, coll.calibration_points)
    assert ours.wells == list(wells)
    for a, b in zip(ours.shapes, coll.shapes, strict=True):
        np.testing.assert_array_equal(a, b.points)
    # cut order shortened the stage path
    assert res.path_after_um <= res.path_before_um
    settings = json.loads((tmp_path / "out" / "lmd_export.json").read_text())
    assert settings["scale"] == 100 and settings["pixel_size_um"] == PIXEL_SIZE_UM


def test_shapes_dilated_merged_simplified(tissue, calibration, tmp_path):
    labels, cells = tissue
    plan = _plan(cells)
    merged = export_lmd(labels, plan, calibration, tmp_path / "m",
                        ExportOptions(dilate_um=2.0, qc_png=False), cells=cells)
    single = export_lmd(labels, plan, calibration, tmp_path / "s",
                        ExportOptions(dilate_um=0.5, merge=False, qc_png=False), cells=cells)
    assert merged.n_shapes < single.n_shapes
    assert single.n_shapes == sum(len(c) for c in plan["cell_ids"])
    # dilation grows the cut area beyond the cells' own area
    cut_area = shapely.area(merged.shapes["geometry"].to_numpy()).sum() * PIXEL_SIZE_UM**2
    assert cut_area > plan["area_um2"].sum()
    # simplification lowers the vertex count
    fine = export_lmd(labels, plan, calibration, tmp_path / "f",
                      ExportOptions(simplify_um=0, merge=False, qc_png=False), cells=cells)
    coarse = export_lmd(labels, plan, calibration, tmp_path / "c",
                        ExportOptions(simplify_um=1.0, merge=False, qc_png=False), cells=cells)
    nv = [shapely.get_num_coordinates(r.shapes["geometry"].to_numpy()).sum()
          for r in (fine, coarse)]
    assert nv[1] < 0.7 * nv[0]


def test_conflicting_samples_never_share_a_cell(calibration, tmp_path):
    lab = np.zeros((120, 120), np.uint32)
    lab[20:40, 20:40] = 1
    lab[20:40, 40:60] = 2  # touches 1, other sample
    lab[42:47, 20:60] = 3  # thin unselected cell between...
    lab[49:70, 20:60] = 4
    lab[20:30, 90:100] = 5  # far away: its shape survives the "drop" rule
    table = pd.DataFrame({"cell_id": [1, 2, 4, 5], "sample": ["a", "b", "a", "b"]})
    plan = plan_from_table(table, label_ids=np.unique(lab))
    cal = Calibration(np.array([[0, 0], [0, 119], [119, 60]]), 0.5)
    for rule in ("shrink", "drop"):
        # "drop" leaves sample b's shape next to a out: cell 2 is lost, which is half of b
        res = export_lmd(lab, plan, cal, tmp_path / rule,
                         ExportOptions(dilate_um=3.0, conflict=rule, qc_png=False,
                                       accept_loss=rule == "drop"))
        if rule == "drop":
            assert res.loss[["sample_id", "cell_id", "status"]].values.tolist() == [
                ["b", 2, "lost"]]
            assert "dropped" in res.loss["reason"][0]
            m = res.manifest.set_index("sample_id")
            assert m.loc["b", "cell_ids"] == "5" and m.loc["b", "n_lost"] == 1
        g = res.shapes["geometry"].to_numpy()
        s = res.shapes["sample_id"].to_numpy()
        assert len(res.conflicts) == 1
        assert {res.conflicts["sample_a"][0], res.conflicts["sample_b"][0]} == {"a", "b"}
        union_a = shapely.union_all(g[s == "a"])
        union_b = shapely.union_all(g[s == "b"])
        assert union_a.intersection(union_b).area < 1e-6
        # the unselected thin cell 3 is not cut into any well
        assert not shapely.union_all(g).contains(shapely.Point(40, 44.5))
        # no cell of one sample has its centre in the other's shapes
        assert not union_a.contains(shapely.Point(49.5, 29.5))
        assert not union_b.contains(shapely.Point(29.5, 29.5))


def test_ring_of_cells_around_unselected_cell(calibration, tmp_path):
    yy, xx = np.mgrid[:100, :100]
    r = np.hypot(yy - 50, xx - 50)
    ang = np.arctan2(yy - 50, xx - 50)
    lab = np.zeros((100, 100), np.uint32)
    ring = (r > 12) & (r < 25)
    lab[ring] = 1 + ((ang[ring] + np.pi) / (2 * np.pi) * 8).astype(np.uint32) % 8
    lab[r < 8] = 9  # unselected centre cell
    plan = plan_from_table(pd.DataFrame({"cell_id": range(1, 9), "sample": "ring"}))
    cal = Calibration(np.array([[0, 0], [0, 99], [99, 50]]), 0.5)
    res = export_lmd(lab, plan, cal, tmp_path / "o", ExportOptions(dilate_um=4, smooth_um=3,
                                                                 qc_png=False))
    g = res.shapes["geometry"].to_numpy()
    assert (shapely.get_num_interior_rings(g) == 0).all()
    assert not shapely.union_all(g).contains(shapely.Point(50, 50))
    assert len(res.lost_cells) == 0


def test_palm_and_regions(tissue, calibration, tmp_path):
    labels, cells = tissue
    cell_plan = plan_samples(cells, [("CD8 T cell", "dermis")], PlanOptions(target_cells=8))
    regions = region_samples({"patch": shapely.box(30, 30, 150, 110)}, ["patch"], PIXEL_SIZE_UM,
                             max_piece_um2=600, cells=cells)
    plan = combine_plans(cell_plan, regions)
    # stage positions of the marks = their image µm: the PALM frame is the image frame here
    staged = Calibration(calibration.marks_rc, PIXEL_SIZE_UM,
                         stage_um=calibration.to_um(calibration.marks_rc))
    res = export_lmd(labels, plan, staged, tmp_path / "p",
                     ExportOptions(fmt="palm", plate="strip8"), cells=cells)
    assert res.shapes_path.suffix == ".txt"
    shapes, wells, types = read_palm(res.shapes_path)
    assert types[:3] == ["Dot"] * 3 and types.count("Freehand") == res.n_shapes
    assert set(wells[3:]) == {"A", "B"}
    np.testing.assert_allclose(shapes[0], calibration.to_um(calibration.marks_rc[:1]))
    region_area = shapely.area(res.shapes["geometry"][res.shapes["sample_id"] == "R001"]).sum()
    assert region_area * PIXEL_SIZE_UM**2 == pytest.approx(120 * 80 * 0.25, rel=0.02)


@pytest.mark.parametrize("case", ["collinear", "duplicate", "unknown_cell", "too_many_samples",
                                  "empty", "off_image", "bad_format"])
def test_bad_input_leaves_nothing(case, tissue, calibration, tmp_path):
    labels, cells = tissue
    plan = _plan(cells)
    cal, opts = calibration, ExportOptions(qc_png=False)
    match = None
    if case == "collinear":
        cal, match = Calibration(np.array([[0, 0], [100, 100], [200, 201]]), 0.5), "one line"
    elif case == "duplicate":
        cal, match = Calibration(np.array([[10, 10], [10, 10], [300, 5]]), 0.5), "same spot"
    elif case == "unknown_cell":
        plan.at[0, "cell_ids"] = (*plan.at[0, "cell_ids"], 999_999)
        match = "do not exist"
    elif case == "too_many_samples":
        opts, match = ExportOptions(plate="custom", custom_wells=("A1", "A2")), "usable wells"
    elif case == "empty":
        plan, match = plan.iloc[:0], "empty"
    elif case == "off_image":
        plan = region_samples({"far": shapely.box(300, 300, 600, 600)}, ["far"], 0.5)
        match = "runs off"
    elif case == "bad_format":
        opts, match = ExportOptions(fmt="zeiss-xml"), "format"
    with pytest.raises(DvpInputError, match=match):
        export_lmd(labels, plan, cal, tmp_path / "out", opts, cells=cells)
    assert not (tmp_path / "out").exists()
    assert _no_partial(tmp_path)


def test_old_export_is_kept_when_new_one_fails(tissue, calibration, tmp_path):
    labels, cells = tissue
    plan = _plan(cells)
    export_lmd(labels, plan, calibration, tmp_path / "out", ExportOptions(qc_png=False))
    before = (tmp_path / "out" / "manifest.csv").read_text()
    with pytest.raises(DvpInputError):
        export_lmd(labels, plan, calibration, tmp_path / "out",
                   ExportOptions(plate="custom", custom_wells=("A1",)))
    assert (tmp_path / "out" / "manifest.csv").read_text() == before
    assert _no_partial(tmp_path)
