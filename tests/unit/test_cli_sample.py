"""``napari-dvp sample``: a readable pyramidal OME-TIFF plus ground truth; bad input -> exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_dvp.cli import main
from napari_dvp.core import synthetic as syn


def test_sample_writes_pyramidal_ome_tiff_and_truth(tmp_path, capsys):
    out = tmp_path / "ten.ome.tif"
    assert main(["sample", "--out", str(out), "--size", "1100", "--seed", "5"]) == 0
    printed = capsys.readouterr().out
    for name in ("ten.ome.tif", "ten_labels.tif", "ten_cells.csv", "ten_regions.geojson"):
        assert (tmp_path / name).is_file()
        assert name in printed
    with tifffile.TiffFile(out) as tif:
        assert tif.is_ome
        series = tif.series[0]
        assert series.shape == (5, 1100, 1100) and series.dtype == np.uint16
        assert len(series.levels) > 1
        assert series.levels[1].shape == (5, 550, 550)
        assert tif.pages[0].is_tiled and tif.pages[0].compression != 1
        ome = tif.ome_metadata
        image = series.asarray()
    names = re.findall(r'<Channel [^>]*Name="([^"]+)"', ome)
    assert names == list(syn.CHANNELS)
    assert float(re.search(r'PhysicalSizeX="([^"]+)"', ome).group(1)) == 0.5
    assert float(re.search(r'PhysicalSizeY="([^"]+)"', ome).group(1)) == 0.5
    # the written pixels are the generator's, exactly
    expect, _ = syn.render_tile(syn.make_spec(1100, 5), 500, 300, 200, 250)
    np.testing.assert_array_equal(image[:, 500:700, 300:550], expect)

    with tifffile.TiffFile(tmp_path / "ten_labels.tif") as tif:
        labels = tif.series[0].asarray()
        assert len(tif.series[0].levels) > 1
    assert labels.dtype == np.uint32 and labels.shape == (1100, 1100)
    cells = pd.read_csv(tmp_path / "ten_cells.csv")
    assert list(cells.columns) == ["cell_id", "true_class", "true_region", "lesional",
                                   "centroid_row", "centroid_col"]
    ids = np.unique(labels)
    np.testing.assert_array_equal(np.sort(cells["cell_id"]), ids[ids > 0])
    assert set(cells["true_class"]) <= set(syn.CLASSES)
    fc = json.loads((tmp_path / "ten_regions.geojson").read_text())
    assert fc["type"] == "FeatureCollection"
    assert {f["properties"]["classification"]["name"] for f in fc["features"]} == set(
        syn.REGIONS)
    assert all(f["properties"]["objectType"] == "annotation" for f in fc["features"])


@pytest.mark.parametrize("args, message", [
    (["--size", "100"], "out of range"),
    (["--size", "40001"], "out of range"),
    (["--seed", "-3"], "seed"),
])
def test_bad_numbers_exit_2(tmp_path, capsys, args, message):
    assert main(["sample", "--out", str(tmp_path / "s.ome.tif"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err
    assert not list(tmp_path.iterdir())


def test_bad_file_name_exits_2(tmp_path, capsys):
    assert main(["sample", "--out", str(tmp_path / "s.png"), "--size", "256"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and ".ome.tif" in err


def test_unwritable_folder_exits_2(tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    assert main(["sample", "--out", str(blocker / "s.ome.tif"), "--size", "256"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not a folder" in err


def test_console_script(tmp_path):
    exe = Path(sys.executable).with_name("napari-dvp")
    if not exe.exists():
        pytest.skip(f"console script not installed beside {sys.executable}")
    out = tmp_path / "small.ome.tif"
    proc = subprocess.run([str(exe), "sample", "--out", str(out), "--size", "256"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "small_cells.csv" in proc.stdout
    assert out.is_file()
    bad = subprocess.run([str(exe), "sample", "--out", str(out), "--size", "99"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
