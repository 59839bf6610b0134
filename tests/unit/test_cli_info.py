from __future__ import annotations

import json

import numpy as np

from napari_dvp.cli import main
from napari_dvp.core.slide import write_ome_tiff


def test_info_prints_what_the_slide_holds(tmp_path, capsys):
    path = tmp_path / "slide.ome.tif"
    data = np.random.default_rng(0).integers(0, 4000, (2, 600, 700), dtype=np.uint16)
    write_ome_tiff(path, data, channel_names=["DAPI", "CD8"], pixel_size_um=0.5, tile=256)
    assert main(["info", str(path), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["size_px"] == [700, 600]
    assert facts["channels"] == ["DAPI", "CD8"]
    assert facts["pixel_size_um"] == 0.5
    assert facts["pyramid_levels"] >= 2
    assert facts["kind"] == "fluorescence"
    assert main(["info", str(path)]) == 0
    assert "700 × 600 px = 0.35 × 0.30 mm" in capsys.readouterr().out


def test_info_missing_file_is_one_line_exit_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.ome.tif")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.ome.tif" in err


def test_info_without_pixel_size_says_it_is_assumed(tmp_path, capsys):
    import tifffile

    path = tmp_path / "bare.tif"
    tifffile.imwrite(path, np.zeros((3, 400, 500), np.uint16), photometric="minisblack")
    assert main(["info", str(path), "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["pixel_size_um"] == 0.5 and facts["pixel_size_source"] == "assumed"
    assert facts["size_mm"] == [0.25, 0.2]
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0.5 µm assumed: a typical 20x scan; bare.tif does not record it" in out
    assert "≈ 0.25 × 0.20 mm (if the pixel size is right)" in out
    assert main(["info", str(path), "--pixel-size-um", "0.25"]) == 0
    out = capsys.readouterr().out
    assert "0.25 µm (set by you)" in out and "= 0.12 × 0.10 mm" in out
