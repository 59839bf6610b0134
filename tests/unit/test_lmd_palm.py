"""Issue 12 #8: Zeiss PALM export in absolute stage µm, registered by the three marks.

The file is read back by a reader written here from the public description of PALMRobo
element lists (header lines, a ``Type … Coordinates`` column row, one row per element,
then rows starting with ``.`` holding up to five ``x,y`` pairs), independent of
``core.lmd.palm``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from napari_dvp.cli import main
from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.lmd import Calibration, ExportOptions, PlanOptions, export_lmd
from napari_dvp.core.lmd.plan import plan_from_table, plan_samples

from ._lmd_synth import PIXEL_SIZE_UM, make_tissue

MARKS = np.array([[5.0, 5.0], [5.0, 390.0], [390.0, 200.0]])  # (row, col)


def read_palm_elements(path) -> list[dict]:
    """Elements of a PALMRobo list: type, well, comment and points (stage µm)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    head = next(i for i, line in enumerate(lines) if line.split("\t")[0] == "Type")
    cols = lines[head].split("\t")
    elements: list[dict] = []
    for line in lines[head + 1:]:
        if not line.strip():
            continue
        cells = line.split("\t")
        if cells[0] == ".":
            pts = [tuple(float(v) for v in c.split(",")) for c in cells[1:] if c.strip()]
            elements[-1]["points"].extend(pts)
        else:
            row = dict(zip(cols, cells, strict=False))
            elements.append({"type": row["Type"], "well": row.get("Well", ""),
                             "comment": row.get("Comment", ""), "function":
                             row.get("Laser function", ""), "points": []})
    return elements


def _stage_affine(angle_deg: float, mirror: bool, offset=(61_234.5, -18_765.25)):
    """A made-up stage: rotated, maybe mirrored, shifted; pixel (x, y) -> stage µm."""
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    lin = rot @ (np.diag([-1.0, 1.0]) if mirror else np.eye(2)) * PIXEL_SIZE_UM
    m = np.eye(3)
    m[:2, :2], m[:2, 2] = lin, offset
    return m


def _apply(m, xy):
    return np.asarray(xy, float) @ m[:2, :2].T + m[:2, 2]


@pytest.mark.parametrize(("angle", "mirror"), [(180.0, False), (7.5, True)])
def test_palm_elements_land_on_their_cells(tmp_path, angle, mirror):
    labels, cells = make_tissue(400)
    plan = plan_samples(cells, [("keratinocyte", "epidermis"), ("CD8 T cell", "dermis")],
                        PlanOptions(target_cells=6, replicates=2, mode="contiguous"))
    stage = _stage_affine(angle, mirror)
    stage_marks = _apply(stage, MARKS[:, ::-1])
    cal = Calibration(MARKS, PIXEL_SIZE_UM, stage_um=stage_marks)
    res = export_lmd(labels, plan, cal, tmp_path / "p", ExportOptions(fmt="palm", qc_png=False))
    els = read_palm_elements(res.shapes_path)
    dots = [e for e in els if e["type"] == "Dot"]
    cuts = [e for e in els if e["type"] == "Freehand"]
    np.testing.assert_allclose([d["points"][0] for d in dots], stage_marks, atol=0.006)
    assert [d["comment"] for d in dots] == [f"calibration mark {k}" for k in (1, 2, 3)]
    assert len(cuts) == res.n_shapes and {c["function"] for c in cuts} == {"Cut"}
    # back to pixels through the inverse of the made-up stage (not our fit)
    inv = np.linalg.inv(stage)
    polys = [shapely.Polygon(_apply(inv, c["points"])) for c in cuts]
    assert all(p.is_valid for p in polys)
    well_of = dict(zip(res.manifest["sample_id"], res.manifest["well"], strict=True))
    assert all(c["well"] == well_of[c["comment"]] for c in cuts)
    info = cells.set_index("cell_id")
    for sid, ids in zip(plan["sample_id"], plan["cell_ids"], strict=True):
        mine = shapely.union_all([p for p, c in zip(polys, cuts, strict=True)
                                  if c["comment"] == sid])
        others = shapely.union_all([p for p, c in zip(polys, cuts, strict=True)
                                    if c["comment"] != sid])
        xy = info.loc[list(ids), ["centroid_col", "centroid_row"]].to_numpy()
        assert shapely.contains_xy(mine, xy[:, 0], xy[:, 1]).all()  # every cell in its element
        assert not shapely.contains_xy(others, xy[:, 0], xy[:, 1]).any()
    # the registration is recorded
    import json

    reg = json.loads((tmp_path / "p" / "lmd_export.json").read_text())["stage_registration"]
    assert reg["mirrored"] is mirror
    np.testing.assert_allclose(reg["scale_um_per_px"], [PIXEL_SIZE_UM] * 2, rtol=1e-6)


def test_palm_needs_stage_positions_that_fit(tmp_path):
    labels, cells = make_tissue(200)
    plan = plan_samples(cells, [("keratinocyte", "*")], PlanOptions(target_cells=4))
    marks = np.array([[3.0, 3.0], [3.0, 190.0], [190.0, 90.0]])
    with pytest.raises(DvpInputError, match="stage positions"):
        export_lmd(labels, plan, Calibration(marks, 0.5), tmp_path / "a",
                   ExportOptions(fmt="palm"))
    wrong = _apply(_stage_affine(0, True), marks[:, ::-1])
    wrong[1] += [40.0, 0.0]  # mark 2 mistyped by 40 µm
    with pytest.raises(DvpInputError, match="do not fit"):
        export_lmd(labels, plan, Calibration(marks, 0.5, stage_um=wrong), tmp_path / "b",
                   ExportOptions(fmt="palm"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("fmt", ["palm", "leica"])
@pytest.mark.parametrize("bad", ["S1\n.\t1,1", "S1\tCut", "S1\r\nFreehand", "S1\x00",
                                 "S1\u2028x"])
def test_sample_ids_with_control_characters_are_refused(tmp_path, fmt, bad):
    labels, _cells = make_tissue(120)
    plan = plan_from_table(pd.DataFrame({"cell_id": [1, 2], "sample": [bad, "ok"]}))
    marks = np.array([[3.0, 3.0], [3.0, 110.0], [110.0, 60.0]])
    cal = Calibration(marks, 0.5, stage_um=_apply(_stage_affine(0, True), marks[:, ::-1]))
    with pytest.raises(DvpInputError, match="control character"):
        export_lmd(labels, plan, cal, tmp_path / "o", ExportOptions(fmt=fmt, qc_png=False))
    assert not (tmp_path / "o").exists()


def test_cli_palm_with_stage_marks(tmp_path, capsys):
    import tifffile

    labels, _cells = make_tissue(200)
    lp = tmp_path / "labels.tif"
    tifffile.imwrite(lp, labels)
    sel = tmp_path / "sel.csv"
    pd.DataFrame({"cell_id": [1, 2, 3, 40], "sample": ["a", "a", "a", "b"]}).to_csv(
        sel, index=False)
    marks = np.array([[2.0, 2.0], [2.0, 197.0], [197.0, 100.0]])
    st = _apply(_stage_affine(180, False, offset=(-500.0, -300.0)), marks[:, ::-1])
    text = ";".join(f"{x:.2f},{y:.2f}" for x, y in st)
    assert text.startswith("-")  # a value starting with a minus sign parses as a value
    base = ["export-lmd", "--labels", str(lp), "--selection", str(sel), "--pixel-size-um",
            "0.5", "--calibration", "2,2;2,197;197,100", "--format", "palm"]
    assert main([*base, "--out", str(tmp_path / "no")]) == 2
    assert "--stage-marks-um" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "p"), "--stage-marks-um", text]) == 0
    els = read_palm_elements(next((tmp_path / "p").glob("*.txt")))
    np.testing.assert_allclose([e["points"][0] for e in els[:3]], st, atol=0.006)
