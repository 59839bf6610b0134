"""``napari-dvp measure`` on files written with tifffile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile
from skimage import draw

from napari_dvp.cli import main
from napari_dvp.core.measure import measure_cells


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    lab = np.zeros((96, 128), np.uint16)
    for i, (r, c) in enumerate([(20, 20), (50, 60), (80, 100), (10, 120), (60, 20)], 1):
        rr, cc = draw.disk((r, c), 9, shape=lab.shape)
        lab[rr, cc] = i
    img = rng.integers(0, 4000, (3, 96, 128)).astype(np.uint16)
    img[0][lab == 5] = 10  # no nucleus in cell 5
    image = tmp_path / "tissue.ome.tif"
    tifffile.imwrite(image, img, ome=True, metadata={
        "axes": "CYX", "Channel": {"Name": ["DAPI", "panCK", "CD8"]},
        "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5})
    labels = tmp_path / "tissue_labels.tif"
    tifffile.imwrite(labels, lab)
    return image, labels, lab, img


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_measure_writes_table(files, tmp_path, capsys, suffix):
    image, labels, lab, img = files
    out = tmp_path / f"cells{suffix}"
    assert main(["measure", str(image), str(labels), "--out", str(out)]) == 0
    table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    expected = measure_cells(lab, img, ["DAPI", "panCK", "CD8"], 0.5)
    pd.testing.assert_frame_equal(table[expected.columns], expected, check_dtype=False)
    assert table.set_index("cell_id").loc[5, "qc_low_nuclear"]
    assert table.set_index("cell_id").loc[4, "qc_border"]
    assert (table["qc_status"] == "pending").all()
    assert "5 cells measured" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_shape_mismatch_one_line(files, tmp_path, capsys):
    image, _, lab, _ = files
    bad = tmp_path / "small_labels.tif"
    tifffile.imwrite(bad, lab[:50])
    out = tmp_path / "cells.csv"
    assert main(["measure", str(image), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "50×128" in err and "96×128" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_float_labels_refused(files, tmp_path, capsys):
    image, _, lab, _ = files
    bad = tmp_path / "float_labels.tif"
    tifffile.imwrite(bad, lab.astype(np.float32))
    assert main(["measure", str(image), str(bad), "--out", str(tmp_path / "c.csv")]) == 2
    assert "integer" in capsys.readouterr().err


def test_bad_suffix_and_channel(files, tmp_path, capsys):
    image, labels, _, _ = files
    assert main(["measure", str(image), str(labels), "--out", str(tmp_path / "c.xlsx")]) == 2
    assert main(["measure", str(image), str(labels), "--out", str(tmp_path / "c.csv"),
                 "--nuclear-channel", "Hoechst"]) == 2
    assert "no channel 'Hoechst'" in capsys.readouterr().err
    assert not (tmp_path / "c.csv").exists()


def test_pixel_size_by_the_one_rule(files, tmp_path, capsys):
    """No pixel size in the files: the assumed 0.5 µm, said once; the labels' or the user's win."""
    from napari_dvp.core.slide import write_labels

    _, _, lab, img = files
    bare = tmp_path / "bare.tif"
    tifffile.imwrite(bare, img, photometric="minisblack")
    plain_labels = tmp_path / "plain_labels.tif"
    tifffile.imwrite(plain_labels, lab)
    out = tmp_path / "cells.csv"
    assert main(["measure", str(bare), str(plain_labels), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "0.5 µm assumed" in captured.err and "bare.tif does not record it" in captured.err
    area = pd.read_csv(out).set_index("cell_id")["area_um2"]
    assert area[1] == pytest.approx((lab == 1).sum() * 0.25)

    recorded = write_labels(tmp_path / "cells.ome.tif", lab, pixel_size_um=0.325)
    assert main(["measure", str(bare), str(recorded), "--out", str(out), "--min-area-um2",
                 "5", "--overwrite"]) == 0
    assert "pixel size 0.325 µm (from cells.ome.tif)" in capsys.readouterr().out
    area = pd.read_csv(out).set_index("cell_id")["area_um2"]
    assert area[1] == pytest.approx((lab == 1).sum() * 0.325 ** 2)

    assert main(["measure", str(bare), str(recorded), "--out", str(out),
                 "--pixel-size-um", "0.25", "--no-flag-border", "--overwrite"]) == 0
    assert "pixel size 0.25 µm (set by you)" in capsys.readouterr().out
    table = pd.read_csv(out).set_index("cell_id")
    assert table.loc[1, "area_um2"] == pytest.approx((lab == 1).sum() * 0.0625)
    assert not table["qc_border"].any()


def test_bad_threshold_and_pixel_size_are_one_line(files, tmp_path, capsys):
    image, labels, _, _ = files
    out = tmp_path / "c.csv"
    assert main(["measure", str(image), str(labels), "--out", str(out),
                 "--min-area-um2", "700"]) == 2
    assert "not below the maximum" in capsys.readouterr().err
    assert main(["measure", str(image), str(labels), "--out", str(out),
                 "--pixel-size-um", "0"]) == 2
    err = capsys.readouterr().err
    assert "--pixel-size-um: 0 is outside (0, 1000]" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
