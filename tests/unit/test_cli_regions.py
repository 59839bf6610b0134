"""``napari-dvp regions``: region areas in µm² by the one pixel-size rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from napari_dvp.cli import main
from napari_dvp.core.geojson import regions_to_features, write_geojson
from napari_dvp.core.measure import measure_cells
from napari_dvp.core.regions import Region
from napari_dvp.core.slide.facts import pixel_size_of_table


@pytest.fixture
def files(tmp_path):
    lab = np.zeros((60, 80), np.uint16)
    lab[5:15, 5:15], lab[30:40, 50:60], lab[45:55, 10:20] = 1, 2, 3
    table = measure_cells(lab, None, None, 0.4)
    table.to_csv(tmp_path / "cells.csv", index=False, float_format="%.4g")
    write_geojson(tmp_path / "r.geojson", regions_to_features(
        [Region(box(0, 0, 40, 30), "epidermis"), Region(box(0, 30, 80, 60), "dermis")]))
    return tmp_path


def test_areas_use_the_pixel_size_the_cells_were_measured_with(files, capsys):
    assert pixel_size_of_table(pd.read_csv(files / "cells.csv")) == 0.4
    assert main(["regions", str(files / "cells.csv"), str(files / "r.geojson"),
                 "-o", str(files / "out.csv"), "--counts", str(files / "counts.csv")]) == 0
    out = capsys.readouterr().out
    assert "pixel size 0.4 µm (from the cell table" in out
    assert "epidermis: 1 cells, region area 192 µm²" in out  # 40 x 30 px at 0.16 µm²
    counts = pd.read_csv(files / "counts.csv").set_index("region")
    assert counts.loc["dermis", "region_area"] == pytest.approx(80 * 30 * 0.16)
    assert main(["regions", str(files / "cells.csv"), str(files / "r.geojson"),
                 "-o", str(files / "out.csv"), "--pixel-size-um", "0.5", "--overwrite"]) == 0
    assert "region area 300 µm²" in capsys.readouterr().out


def test_a_table_without_micrometres_gets_the_assumed_size_with_a_warning(files, capsys):
    table = pd.read_csv(files / "cells.csv").drop(columns=["centroid_y_um", "centroid_x_um"])
    table.to_csv(files / "px_only.csv", index=False)
    assert main(["regions", str(files / "px_only.csv"), str(files / "r.geojson"),
                 "-o", str(files / "out.csv")]) == 0
    captured = capsys.readouterr()
    assert "warning: pixel size 0.5 µm assumed" in captured.err
    assert "region area 300 µm²" in captured.out
