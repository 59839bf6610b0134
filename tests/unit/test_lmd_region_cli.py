"""``napari-dvp export-lmd`` with drawn regions as samples (GeoJSON), alone and mixed with cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
import tifffile

from napari_dvp._lmd_reader import napari_get_reader
from napari_dvp.cli import main
from napari_dvp.core.geojson import regions_to_features, write_geojson
from napari_dvp.core.lmd.region_plan import regions_by_name
from napari_dvp.core.regions import Region
from napari_dvp.core.synthetic import make_sample

CAL = "5,5;5,500;500,250"


@pytest.fixture(scope="module")
def sample():
    return make_sample(512)


@pytest.fixture
def files(tmp_path, sample):
    lp = tmp_path / "labels.tif"
    tifffile.imwrite(lp, sample.labels)
    gj = tmp_path / "regions.geojson"
    write_geojson(gj, regions_to_features([Region(g, n) for n, g in sample.regions.items()]))
    return tmp_path, lp, gj


def _run(*args):
    return main(["export-lmd", "--calibration", CAL, "--pixel-size-um", "0.5", *map(str, args)])


def _shapes_by_sample(out):
    """Shapes of the export read back onto the image (rows, cols) -> sample id, via the wells."""
    xml = next(out.glob("*.xml"))
    (shapes, meta, _), _ = napari_get_reader(str(xml))(str(xml))
    m = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    sid = dict(zip(m["well"], m["sample_id"], strict=True))
    by: dict[str, list] = {}
    for rc, well in zip(shapes, meta["features"]["well"], strict=True):
        by.setdefault(sid[well], []).append(shapely.Polygon(np.asarray(rc)[:, ::-1]))
    return m, by


def test_regions_only(files, sample, capsys):
    tmp, lp, gj = files
    out = tmp / "lmd"
    assert _run("--labels", lp, "--regions", gj, "--region-samples", "epidermis",
                "--max-piece-um2", "2000", "--out", out) == 0
    m, by = _shapes_by_sample(out)
    assert m["sample_id"].tolist() == ["R001"] and m["region"].tolist() == ["epidermis"]
    assert m["n_shapes"][0] == len(by["R001"]) > 1  # tiled into pieces of <= 2000 µm²
    region = sample.regions["epidermis"]
    assert m["area_um2"][0] == pytest.approx(region.area * 0.25, rel=0.01)
    areas = shapely.area(np.asarray(by["R001"], dtype=object)) * 0.25
    assert areas.max() <= 2000 * 1.05
    inside = shapely.contains_xy(region, sample.cells["centroid_col"],
                                 sample.cells["centroid_row"])
    assert m["n_cells"][0] == inside.sum() > 0
    assert "1 samples" in capsys.readouterr().out


def test_cells_and_regions_mixed(files, sample):
    tmp, lp, gj = files
    cells = sample.cells
    in_epi = shapely.contains_xy(sample.regions["epidermis"], cells["centroid_col"],
                                 cells["centroid_row"])
    picked = cells.loc[in_epi, "cell_id"].to_numpy()[:6]  # cells cut on their own ...
    sel = tmp / "sel.csv"
    pd.DataFrame({"cell_id": picked, "sample": "kera_cells"}).to_csv(sel, index=False)
    out = tmp / "mixed"
    assert _run("--labels", lp, "--selection", sel, "--regions", gj,
                "--region-samples", "epidermis, blister", "--out", out) == 0
    m, by = _shapes_by_sample(out)
    assert m["sample_id"].tolist() == ["kera_cells", "R001", "R002"]
    assert m["region"].tolist()[1:] == ["epidermis", "blister"]
    assert m["n_cells"][0] == 6 and m["n_shapes"].tolist()[1:] == [1, 1]
    # ... are not listed again by the region they lie in
    assert m["n_cells"][1] == in_epi.sum() - 6
    assert not set(picked) & set(map(int, m["cell_ids"][1].split(";")))
    regions = regions_by_name([Region(g, n) for n, g in sample.regions.items()], (512, 512))
    for sid, name in (("R001", "epidermis"), ("R002", "blister")):
        cut = shapely.union_all(by[sid])
        # the cut follows the drawn region (simplified outline; cells of other samples left out)
        assert cut.difference(regions[name].buffer(1.0)).area < 1.0
        assert cut.area > 0.9 * regions[name].area
    cut_cells = shapely.union_all(by["kera_cells"])
    assert cut_cells.intersection(shapely.union_all(by["R001"])).area < 0.01 * cut_cells.area


def test_missing_region_name(files, capsys):
    tmp, lp, gj = files
    rc = _run("--labels", lp, "--regions", gj, "--region-samples", "tumour",
              "--out", tmp / "bad")
    assert rc == 2
    err = capsys.readouterr().err
    assert "tumour" in err and "epidermis" in err and len(err.strip().splitlines()) == 1
    assert not (tmp / "bad").exists()


@pytest.mark.parametrize(("extra", "msg"), [
    ([], "nothing to cut"),
    (["--region-samples", "blister"], "needs --regions"),
    (["--regions", "GJ", "--region-samples", "blister", "--max-piece-um2", "-1"], "max-piece"),
])
def test_bad_region_arguments(files, capsys, extra, msg):
    tmp, lp, gj = files
    extra = [str(gj) if x == "GJ" else x for x in extra]
    assert _run("--labels", lp, "--out", tmp / "bad", *extra) == 2
    err = capsys.readouterr().err
    assert msg in err and len(err.strip().splitlines()) == 1
    assert not (tmp / "bad").exists()
