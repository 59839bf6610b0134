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
    assert "0.35 x 0.3 mm" in capsys.readouterr().out


def test_info_missing_file_is_one_line_exit_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.ome.tif")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.ome.tif" in err
