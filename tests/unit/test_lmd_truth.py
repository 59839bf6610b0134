"""Issue 12: cells inside region samples, a truthful manifest, valid rounded shapes, one pixel
convention for the LMD XML, and a contamination-aware margin.

Each test reads the export back independently (py-lmd's reader, the XML mapped to pixels by
hand, shapes rasterised on pixel centres with scikit-image) instead of trusting our own shapes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import ndimage as ndi
from skimage.draw import polygon as draw_polygon

from napari_dvp.cli import main
from napari_dvp.core.lmd import Calibration, ExportOptions, PlanOptions, export_lmd
from napari_dvp.core.lmd import export as lmd_export
from napari_dvp.core.lmd.plan import combine_plans, plan_from_table, plan_samples, region_samples

from ._lmd_synth import PIXEL_SIZE_UM, make_tissue

lmd_lib = pytest.importorskip("lmd.lib", reason="py-lmd is the independent reader")


def _read_back(xml_path, px: float, scale: int = 100):
    """Shapes of an XML via py-lmd, mapped to pixels by hand: col = X/(s·px), row = -Y/(s·px)."""
    coll = lmd_lib.Collection()
    coll.load(str(xml_path))
    polys, wells = [], []
    for s in coll.shapes:
        p = np.asarray(s.points, dtype=float) / (scale * px)
        polys.append(shapely.Polygon(np.c_[p[:, 0], -p[:, 1]]))  # x = col, y = row
        wells.append(s.well)
    return polys, wells


def _raster(polys, wells, shape):
    """Well index per pixel (-1 = not cut), a pixel cut when its centre lies in a shape."""
    names = sorted(set(wells))
    out = np.full(shape, -1, dtype=np.int64)
    for g, w in zip(polys, wells, strict=True):
        xy = np.asarray(g.exterior.coords)
        rr, cc = draw_polygon(xy[:, 1], xy[:, 0], shape)
        out[rr, cc] = names.index(w)
    return out, names


def _exact_share(labels, polys, wells, cell_well: dict[int, str]) -> dict[int, float]:
    """Share of each cell's area (its pixels as unit squares) inside its own well's shapes."""
    out = {}
    wells = np.asarray(wells)
    polys = np.asarray(polys, dtype=object)
    for cid, well in cell_well.items():
        rr, cc = np.nonzero(labels == cid)
        cell = shapely.union_all(shapely.box(cc - 0.5, rr - 0.5, cc + 0.5, rr + 0.5))
        own = shapely.union_all(polys[wells == well])
        out[int(cid)] = cell.intersection(own).area / cell.area
    return out


def _share_in_own_well(labels, raster, names, cell_well: dict[int, str]) -> dict[int, float]:
    """Share of each planned cell's pixels that lie in its own well (raster check)."""
    ids = np.fromiter(cell_well, dtype=np.int64)
    target = np.full(int(labels.max()) + 1, -2, dtype=np.int64)
    target[ids] = [names.index(cell_well[c]) if cell_well[c] in names else -3 for c in ids]
    lab = labels.ravel()
    own = (raster.ravel() == target[lab]) & (lab > 0)
    got = np.bincount(lab, weights=own, minlength=target.size)
    tot = np.bincount(lab, minlength=target.size)
    return {int(c): got[c] / tot[c] for c in ids}


CAL = Calibration(np.array([[5.0, 5.0], [5.0, 390.0], [390.0, 200.0]]), PIXEL_SIZE_UM)


# --- issue 12 #2: cell samples inside a region sample -------------------------------------------
def test_cells_inside_a_region_sample_get_their_own_wells(tmp_path):
    labels, cells = make_tissue(400)
    epidermis = shapely.box(-0.5, -0.5, 399.5, 199.5)  # the top half, drawn as a region
    ker = plan_samples(cells, [("keratinocyte", "epidermis")],
                       PlanOptions(target_cells=12, replicates=3, mode="contiguous"))
    reg = region_samples({"epidermis": epidermis}, ["epidermis"], PIXEL_SIZE_UM, cells=cells)
    plan = combine_plans(ker, reg)
    res = export_lmd(labels, plan, CAL, tmp_path / "o", ExportOptions(qc_png=False), cells=cells)
    polys, wells = _read_back(res.shapes_path, PIXEL_SIZE_UM)
    assert shapely.is_valid(polys).all()
    raster, names = _raster(polys, wells, labels.shape)
    m = res.manifest.set_index("sample_id")
    cell_well = {c: m.loc[s, "well"] for s, ids in zip(ker["sample_id"], ker["cell_ids"],
                                                         strict=True) for c in ids}
    share = _share_in_own_well(labels, raster, names, cell_well)
    assert min(share.values()) > 0.9  # every keratinocyte lies in its own well ...
    assert (m.loc[ker["sample_id"], "n_cells"] == ker.set_index("sample_id")["n_cells"]).all()
    assert (m.loc[ker["sample_id"], "n_lost"] == 0).all()
    # ... and never in the region's well
    region_well = names.index(m.loc["R001", "well"])
    in_region = np.bincount(labels.ravel(), weights=raster.ravel() == region_well,
                            minlength=labels.max() + 1)
    assert in_region[list(cell_well)].sum() == 0
    # the region shape has the holes (its pieces put together), with the protective gap
    wg = np.asarray(polys, dtype=object)[np.asarray(wells) == m.loc["R001", "well"]]
    region_cut = shapely.union_all(wg)
    cells_cut = shapely.union_all(np.asarray(polys, dtype=object)[
        np.isin(wells, m.loc[ker["sample_id"], "well"].tolist())])
    holes = sum(len(p.interiors) for p in shapely.get_parts(region_cut))
    assert holes >= 1
    assert shapely.distance(region_cut, cells_cut) >= 0.25 / PIXEL_SIZE_UM - 0.02
    assert region_cut.area > 0.8 * epidermis.area
    # the region's manifest row no longer lists the cells cut into their own wells
    assert not set(cell_well) & set(map(int, str(m.loc["R001", "cell_ids"]).split(";")))


# --- issue 12 #3: the manifest tells the truth ----------------------------------------------------
def _thin_neighbours():
    """Pairs of touching cells of samples a and b; b's cells are 2 px (1 µm) wide."""
    lab = np.zeros((120, 160), np.uint32)
    for k in range(6):
        c0 = 10 + 24 * k
        lab[20:60, c0:c0 + 12] = 1 + 2 * k  # sample a: 12 px wide
        lab[20:60, c0 + 12:c0 + 14] = 2 + 2 * k  # sample b: 2 px wide, touching a
    lab[80:100, 20:40] = 20  # a healthy cell of b far from a
    return lab


def test_manifest_lists_only_cells_cut_and_export_stops_on_loss(tmp_path):
    lab = _thin_neighbours()
    table = pd.DataFrame({"cell_id": [*range(1, 13), 20],
                          "sample": ["a", "b"] * 6 + ["b"]})
    plan = plan_from_table(table, label_ids=np.unique(lab))
    cal = Calibration(np.array([[2, 2], [2, 157], [117, 80]]), 0.5)
    opts = ExportOptions(dilate_um=1.0, qc_png=False)
    with pytest.raises(lmd_export.LmdLossError, match="sample b loses") as err:
        export_lmd(lab, plan, cal, tmp_path / "o", opts)
    assert not (tmp_path / "o").exists()
    assert set(err.value.samples["sample_id"]) == {"b"}
    assert len(err.value.cells) >= 6
    opts.accept_loss = True
    res = export_lmd(lab, plan, cal, tmp_path / "o", opts)
    assert res.over_limit["sample_id"].tolist() == ["b"]  # for the dock's warning
    polys, wells = _read_back(res.shapes_path, 0.5)
    m = res.manifest.set_index("sample_id")
    cell_well = dict(zip(table["cell_id"], m.loc[table["sample"], "well"], strict=True))
    share = _exact_share(lab, polys, wells, cell_well)
    listed = {s: set(map(int, str(m.loc[s, "cell_ids"]).split(";"))) for s in ("a", "b")}
    for cid, s in zip(table["cell_id"], table["sample"], strict=True):
        # listed in the manifest if and only if (nearly) all of it lies in its well
        assert (cid in listed[s]) == (share[cid] >= 0.9), (cid, share[cid])
    assert m.loc["b", "n_cells"] == len(listed["b"]) < 7
    assert m.loc["b", "n_planned"] == 7
    assert m.loc["b", "n_partial"] + m.loc["b", "n_lost"] == 7 - m.loc["b", "n_cells"]
    lost = pd.read_csv(tmp_path / "o" / "lost_cells.csv")
    assert set(lost["sample_id"]) == {"b"} and set(lost["cell_id"]) == set(range(2, 13, 2))
    assert lost["reason"].str.contains("touches a cell of sample a").all()
    # the area column is the cell area actually inside the cut
    px_area = np.bincount(lab.ravel())[list(listed["a"])].sum() * 0.25
    assert m.loc["a", "area_um2"] == pytest.approx(px_area, rel=0.05)


def test_cli_loss_exits_with_one_line_unless_accepted(tmp_path, capsys):
    import tifffile

    lab = _thin_neighbours()
    lp = tmp_path / "lab.tif"
    tifffile.imwrite(lp, lab)
    sel = tmp_path / "sel.csv"
    pd.DataFrame({"cell_id": range(1, 13), "sample": ["a", "b"] * 6}).to_csv(sel, index=False)
    args = ["export-lmd", "--labels", str(lp), "--selection", str(sel), "--calibration",
            "2,2;2,157;117,80", "--pixel-size-um", "0.5"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "sample b loses" in err and "--accept-loss" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
    assert main([*args, "--out", str(tmp_path / "o"), "--accept-loss"]) == 0
    assert "accepted" in capsys.readouterr().out
    # a looser limit lets it through as well
    assert main([*args, "--out", str(tmp_path / "o2"), "--max-loss", "100"]) == 0


# --- issue 12 #4: valid geometry after rounding to 0.01 µm ----------------------------------------
def test_shapes_stay_valid_after_rounding(tmp_path):
    from napari_dvp.core.lmd.leica_xml import read_leica_xml
    from napari_dvp.core.synthetic import make_sample

    s = make_sample(512)
    ids = s.cells["cell_id"].to_numpy()
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"cell_id": ids, "sample": rng.integers(0, 20, len(ids)).astype(str)})
    cal = Calibration(np.array([[0, 0], [0, 511], [511, 256]]), 0.1725)  # odd pixel size
    kw = {"accept_loss": True} if "accept_loss" in ExportOptions.__dataclass_fields__ else {}
    res = export_lmd(s.labels, plan_from_table(table), cal, tmp_path / "o",
                     ExportOptions(dilate_um=0.5, qc_png=False, **kw))
    polys, _ = _read_back(res.shapes_path, 0.1725)
    assert len(polys) > 150 and shapely.is_valid(polys).all()
    ours = read_leica_xml(res.shapes_path)
    assert all(shapely.Polygon(p).is_valid for p in ours.shapes)
    # what the file holds is what the result reports (the rounded shapes, in pixels)
    for g, p in zip(res.shapes["geometry"], polys, strict=True):
        assert g.symmetric_difference(p).area < 1e-6 * max(g.area, 1)


# --- issue 12 #5: one pixel convention for the LMD XML, both ways ---------------------------------
def test_pixel_square_through_lmd_xml_lands_on_the_same_pixels(tmp_path):
    from napari_dvp._lmd_reader import lmd_xml_to_layer_data

    lab = np.zeros((60, 60), np.uint32)
    lab[10:20, 22:30] = 1
    plan = plan_from_table(pd.DataFrame({"cell_id": [1], "sample": ["a"]}))
    cal = Calibration(np.array([[0, 0], [0, 59], [59, 30]]), 0.5)
    res = export_lmd(lab, plan, cal, tmp_path / "o",
                     ExportOptions(dilate_um=0, smooth_um=0, simplify_um=0, qc_png=False))
    polys, wells = _read_back(res.shapes_path, 0.5)
    raster, _ = _raster(polys, wells, lab.shape)
    np.testing.assert_array_equal(raster >= 0, lab > 0)
    # the outline runs on the pixel edges: X from col 21.5 to 29.5, Y from -(9.5) to -(19.5)
    coll = lmd_lib.Collection()
    coll.load(str(res.shapes_path))
    xy = np.asarray(coll.shapes[0].points)
    assert (xy.min(0).tolist(), xy.max(0).tolist()) == ([1075, -975], [1475, -475])
    # and our own reader puts it back on the same pixels
    (shapes, _, _), _ = lmd_xml_to_layer_data(res.shapes_path)
    back = shapely.Polygon(np.asarray(shapes[0])[:, ::-1])
    rr, cc = np.mgrid[:60, :60]
    inside = shapely.contains_xy(back, cc.ravel().astype(float), rr.ravel().astype(float))
    np.testing.assert_array_equal(inside.reshape(60, 60), lab > 0)


# --- issue 12 #7 (item 6 of the fix): a contamination-aware margin and purity --------------------
def _dense_grid():
    """Square 8×8 px cells touching each other on a grid (dense epithelium)."""
    lab = np.zeros((100, 100), np.uint32)
    n = 0
    for r in range(10, 90, 8):
        for c in range(10, 90, 8):
            n += 1
            lab[r:r + 8, c:c + 8] = n
    return lab


def test_margin_enters_unselected_cells_by_at_most_the_limit(tmp_path):
    lab = _dense_grid()
    picked = np.arange(1, lab.max() + 1)[::3]  # every third cell; its neighbours unselected
    plan = plan_from_table(pd.DataFrame({"cell_id": picked, "sample": "a"}))
    cal = Calibration(np.array([[0, 0], [0, 99], [99, 50]]), 0.5)
    # depth of each unselected pixel below its cell's edge, in pixels (edge pixels: 0.5)
    depth = np.zeros(lab.shape)
    for cid in np.setdiff1d(np.unique(lab[lab > 0]), picked):
        m = lab == cid
        depth[m] = ndi.distance_transform_cdt(np.pad(m, 1), metric="chessboard")[1:-1, 1:-1][
            m] - 0.5
    unsel = (lab > 0) & ~np.isin(lab, picked)

    def run(**kw):
        if "accept_loss" in ExportOptions.__dataclass_fields__:  # (so it also runs on old code)
            kw["accept_loss"] = True
        res = export_lmd(lab, plan, cal, tmp_path / str(len(kw)),
                         ExportOptions(dilate_um=2.0, qc_png=False, **kw))
        polys, wells = _read_back(res.shapes_path, 0.5)
        cut = _raster(polys, wells, lab.shape)[0] >= 0
        own = (cut & np.isin(lab, picked)).sum() / cut.sum()
        assert res.manifest["purity"][0] == pytest.approx(own, abs=0.05)
        return depth[cut & unsel].max(), res

    deep_after, after = run()  # the default limit: 0.5 µm
    assert deep_after <= 0.5 / 0.5 + 0.01  # at most 0.5 µm (1 px) into any unselected cell
    assert after.manifest["n_lost"][0] == 0 and after.manifest["n_partial"][0] == 0
    deep_before, before = run(max_intrusion_um=None)
    assert deep_before >= 3.5  # without the limit 2 µm = 4 px of margin enter the neighbours
    assert after.manifest["purity"][0] > before.manifest["purity"][0] + 0.03
