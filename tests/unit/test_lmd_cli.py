"""``napari-dvp export-lmd`` end to end."""

from __future__ import annotations

import pandas as pd
import pytest
import tifffile

from napari_dvp.cli import main

from ._lmd_synth import make_tissue


@pytest.fixture
def files(tmp_path):
    labels, _cells = make_tissue(200)
    lp = tmp_path / "labels.tif"
    tifffile.imwrite(lp, labels)
    sel = tmp_path / "sel.csv"
    pd.DataFrame({"cell_id": [1, 2, 3, 20, 21, 40], "sample": ["a", "a", "a", "b", "b", "c"],
                  "well": ["", "", "", "", "", "H1"]}).to_csv(sel, index=False)
    return tmp_path, lp, sel


def test_cli_export(files, capsys):
    tmp, lp, sel = files
    out = tmp / "lmd"
    rc = main(["export-lmd", "--labels", str(lp), "--selection", str(sel), "--calibration",
               "2,2;2,197;197,100", "--out", str(out), "--plate", "96", "--dilate-um", "1.5",
               "--pixel-size-um", "0.5"])
    assert rc == 0
    assert len(list(out.glob("*.xml"))) == 1 and (out / "manifest.csv").exists()
    assert len(list(out.glob("*.png"))) == 1
    m = pd.read_csv(out / "manifest.csv")
    assert m["sample_id"].tolist() == ["a", "b", "c"] and m["well"].tolist() == ["A1", "A2", "H1"]
    assert m["cell_ids"][0] == "1;2;3"
    assert "shapes" in capsys.readouterr().out


def test_cli_palm(files):
    tmp, lp, sel = files
    rc = main(["export-lmd", "--labels", str(lp), "--selection", str(sel), "--calibration",
               "2,2;2,197;197,100", "--out", str(tmp / "p"), "--format", "palm",
               "--stage-marks-um", "-1,-1;-98.5,-1;-50,-98.5",
               "--pixel-size-um", "0.5"])
    assert rc == 0 and len(list((tmp / "p").glob("*.txt"))) == 1


@pytest.mark.parametrize(("extra", "msg"), [
    (["--calibration", "2,2;50,50;100,100"], "one line"),
    (["--calibration", "2,2;2,197"], "three"),
    (["--pixel-size-um", "0.5", "--plate", "strip8", "--selection", "MANY"], "usable wells"),
    (["--pixel-size-um", "0.5", "--selection", "UNKNOWN"], "do not exist"),
])
def test_cli_bad_input(files, capsys, extra, msg):
    tmp, lp, sel = files
    if "MANY" in extra:
        p = tmp / "many.csv"
        pd.DataFrame({"cell_id": range(1, 11), "sample": [f"s{i}" for i in range(10)]}).to_csv(
            p, index=False)
        extra[extra.index("MANY")] = str(p)
    if "UNKNOWN" in extra:
        p = tmp / "unknown.csv"
        pd.DataFrame({"cell_id": [1, 99999], "sample": "a"}).to_csv(p, index=False)
        extra[extra.index("UNKNOWN")] = str(p)
    args = {"--labels": str(lp), "--selection": str(sel), "--calibration": "2,2;2,197;197,100",
            "--out": str(tmp / "bad"), "--pixel-size-um": "0.5"}
    for k, v in zip(extra[::2], extra[1::2], strict=True):
        args[k] = v
    rc = main(["export-lmd", *[x for kv in args.items() for x in kv]])
    assert rc == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1
    assert not (tmp / "bad").exists()


def _ome_labels(tmp, px=0.5):
    """The labels as an OME-TIFF that records its pixel size."""
    labels, _ = make_tissue(200)
    p = tmp / "labels_px.ome.tif"
    tifffile.imwrite(p, labels, ome=True,
                     metadata={"axes": "YX", "PhysicalSizeX": px, "PhysicalSizeY": px})
    return p


def test_cli_pixel_size_zero_is_refused_not_replaced(files, capsys):
    """Issue 12 #5: `--pixel-size-um 0` was silently replaced by the file's pixel size."""
    tmp, _lp, sel = files
    lp = _ome_labels(tmp)
    base = ["export-lmd", "--labels", str(lp), "--selection", str(sel), "--calibration",
            "2,2;2,197;197,100"]
    assert main([*base, "--out", str(tmp / "ok")]) == 0  # the file's 0.5 µm is used
    rc = main([*base, "--out", str(tmp / "zero"), "--pixel-size-um", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and "--pixel-size-um" in err and len(err.strip().splitlines()) == 1
    assert not (tmp / "zero").exists()


def test_cli_calibration_starting_with_a_minus(files):
    """Issue 12 #5: a calibration starting with a negative number parsed only as --calibration=."""
    import json

    tmp, lp, sel = files
    rc = main(["export-lmd", "--labels", str(lp), "--selection", str(sel), "--calibration",
               "-0.4,2;2,197;197,100", "--out", str(tmp / "neg"), "--pixel-size-um", "0.5"])
    assert rc == 0
    settings = json.loads((tmp / "neg" / "lmd_export.json").read_text())
    assert settings["calibration_marks_rc"][0] == [-0.4, 2.0]


@pytest.mark.parametrize("flag", ["--pixel-size-um", "--dilate-um", "--simplify-um",
                                  "--max-piece-um2"])
@pytest.mark.parametrize("value", ["nan", "-inf"])
def test_cli_refuses_nan_and_inf(files, capsys, flag, value):
    tmp, lp, sel = files
    args = {"--labels": str(lp), "--selection": str(sel), "--calibration": "2,2;2,197;197,100",
            "--out": str(tmp / "bad"), "--pixel-size-um": "0.5", flag: value}
    rc = main(["export-lmd", *[x for kv in args.items() for x in kv]])
    err = capsys.readouterr().err
    assert rc == 2 and flag in err and len(err.strip().splitlines()) == 1
    assert not (tmp / "bad").exists()
