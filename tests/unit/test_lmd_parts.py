"""Calibration, collectors and cut order of the LMD export."""

from __future__ import annotations

import numpy as np
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.lmd.calibration import Calibration, check_marks, fit_affine, parse_marks
from napari_dvp.core.lmd.collectors import assign_wells, make_collector, plate_wells
from napari_dvp.core.lmd.cutpath import nearest_neighbour, optimise_order, path_length, two_opt


# --- calibration ---------------------------------------------------------------------------
def test_parse_marks_and_errors():
    m = parse_marks("10,20; 30,400;500,60")
    np.testing.assert_array_equal(m, [[10, 20], [30, 400], [500, 60]])
    for bad in ("1,2;3,4", "a,b;c,d;e,f", "1,2,3;4,5,6;7,8,9", ""):
        with pytest.raises(DvpInputError, match="calibration"):
            parse_marks(bad)


def test_marks_collinear_duplicate_offimage():
    with pytest.raises(DvpInputError, match="one line"):
        check_marks(np.array([[0, 0], [100, 100], [200, 201]]))
    with pytest.raises(DvpInputError, match="same spot"):
        check_marks(np.array([[50, 50], [50.5, 50], [300, 10]]))
    with pytest.raises(DvpInputError, match="off the"):
        check_marks(np.array([[0, 0], [0, 100], [150, 50]]), image_shape=(100, 100))
    assert check_marks(np.array([[0, 0], [0, 99], [99, 50]]), image_shape=(100, 100)) == []
    warn = check_marks(np.array([[0, 0], [0, 10], [10, 5]]), image_shape=(1000, 1000))
    assert warn and "span" in warn[0]


def test_transform_orientation_and_inverse():
    cal = Calibration(np.array([[0, 0], [0, 100], [100, 50]]), pixel_size_um=0.5, scale=100)
    # X = col * px * scale, Y = -row * px * scale (y up)
    np.testing.assert_array_equal(cal.to_xml(np.array([[10, 20]])), [[20 * 50, -10 * 50]])
    np.testing.assert_array_equal(cal.marks_xml(), [[0, 0], [5000, 0], [2500, -5000]])
    pts = np.random.default_rng(1).uniform(0, 500, (50, 2))
    np.testing.assert_allclose(cal.from_xml(cal.to_um(pts) * 100), pts, atol=1e-9)
    # a point below (larger row) has a smaller Y: the LMD frame has y up
    assert cal.to_um(np.array([[100, 0]]))[0, 1] < cal.to_um(np.array([[0, 0]]))[0, 1]
    # same as py-lmd's documented orientation [[0, -1], [1, 0]] for (row, col) input
    orient = np.array([[0, -1], [1, 0]])
    np.testing.assert_allclose(cal.to_um(pts), pts @ orient * 0.5)
    with pytest.raises(DvpInputError, match="pixel size"):
        Calibration(cal.marks_rc, pixel_size_um=0)


def test_fit_affine_recovers_mapping():
    src = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, -800.0]])
    a = np.array([[0.0, -0.02], [0.02, 0.0]])
    dst = src @ a.T + [5, 7]
    m = fit_affine(src, dst)
    np.testing.assert_allclose((np.c_[src, np.ones(3)] @ m.T)[:, :2], dst, atol=1e-9)


# --- collectors ----------------------------------------------------------------------------
def test_plates():
    wells, every = plate_wells("384")
    assert len(wells) == 384 == len(every)
    assert wells[:3] == ("A1", "A2", "A3") and wells[-1] == "P24"
    inner, _ = plate_wells("384", skip_outer=True)
    assert len(inner) == 14 * 22 and inner[0] == "B2" and "A1" not in inner and "P24" not in inner
    col, _ = plate_wells("96", order="column")
    assert col[:3] == ("A1", "B1", "C1") and len(col) == 96 and col[-1] == "H12"
    serp, _ = plate_wells("96", order="serpentine")
    assert serp[11:14] == ("A12", "B12", "B11")
    eo, _ = plate_wells("96", every_other=True)
    assert eo[:3] == ("A1", "A3", "A5") and len(eo) == 4 * 6 and "B1" not in eo
    strip = make_collector("strip8")
    assert strip.wells == tuple("ABCDEFGH")
    assert make_collector("custom", custom=["C3", "D4"]).wells == ("C3", "D4")
    with pytest.raises(DvpInputError):
        make_collector("1536")
    with pytest.raises(DvpInputError, match="twice"):
        make_collector("custom", custom=["A1", "A1"])


def test_assign_wells():
    col = make_collector("96")
    got = assign_wells(["s1", "s2", "s3"], col, {"s2": "a1"})
    assert got == {"s1": "A2", "s2": "A1", "s3": "A3"}
    with pytest.raises(DvpInputError, match="only 8 usable wells"):
        assign_wells([f"s{i}" for i in range(9)], make_collector("strip8"))
    with pytest.raises(DvpInputError, match="does not have"):
        assign_wells(["s1"], col, {"s1": "Q99"})
    with pytest.raises(DvpInputError, match="both go to well"):
        assign_wells(["s1", "s2"], col, {"s1": "A1", "s2": "A1"})


# --- cut order -----------------------------------------------------------------------------
def test_cut_order_shortens_path():
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 10_000, (400, 2))
    nn = nearest_neighbour(pts)
    assert sorted(nn.tolist()) == list(range(400))
    improved = two_opt(pts, nn)
    assert sorted(improved.tolist()) == list(range(400))
    assert path_length(pts, improved) < path_length(pts, nn)
    order = optimise_order(pts)
    opt_len = path_length(pts, order)
    assert opt_len < 0.35 * path_length(pts)  # input order is random here
    randoms = [path_length(pts, rng.permutation(400)) for _ in range(5)]
    assert opt_len < 0.35 * min(randoms)
    # an already good order is never made worse
    line = np.c_[np.arange(50.0), np.zeros(50)]
    assert path_length(line, optimise_order(line)) <= path_length(line)
    assert optimise_order(pts[:2]).tolist() == [0, 1]


def test_plan_wells_and_preview_lut():
    import pandas as pd

    from napari_dvp.core.lmd.collectors import plan_wells
    from napari_dvp.core.lmd.qc import well_lut
    from napari_dvp.core.overlay.lut import apply_lut

    plan = pd.DataFrame({"sample_id": ["a", "b", "c"], "well": ["", "D4", ""],
                         "cell_ids": [(1, 2), (3,), (5,)]})
    wells = plan_wells(plan, make_collector("96", order="column"))
    assert wells == {"a": "A1", "b": "D4", "c": "B1"}
    lut = well_lut(plan, wells, max_id=6)
    assert lut.shape == (7, 4) and lut.dtype == np.uint8
    assert (lut[[0, 4, 6], 3] == 0).all() and (lut[[1, 2, 3, 5], 3] == 255).all()
    assert (lut[1] == lut[2]).all() and not (lut[1] == lut[3]).all()
    labels = np.array([[0, 1], [3, 4]])
    assert (apply_lut(labels, lut)[1, 0] == lut[3]).all()


def test_qc_legend_rows_and_picture(tmp_path):
    """The QC picture's legend: sample -> well in the well's colour (no grey wells)."""
    import matplotlib.image as mpimg
    import shapely

    from napari_dvp.core.lmd.qc import draw_qc, legend_rows, well_colours

    rows = legend_rows(["B2", "B2", "C3"], ["S1", "S1", "S2"])
    assert [(s, w) for s, w, _ in rows] == [("S1", "B2"), ("S2", "C3")]
    colours = well_colours([f"W{k}" for k in range(18)])
    assert all(len({round(v, 3) for v in c[:3]}) > 1 for c in colours.values())  # none grey
    labels = np.zeros((100, 100), np.uint32)
    labels[20:30, 20:30] = 1
    draw_qc(tmp_path / "qc.png", labels, np.array([shapely.box(18, 18, 32, 32)], dtype=object),
            ["B2"], np.array([[0, 0], [0, 99], [99, 50]]), samples=["S1"])
    assert mpimg.imread(tmp_path / "qc.png").shape[1] > 1000
