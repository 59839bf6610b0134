"""Issue 12, QuPath workflow parity: calibration points from the GeoJSON, one sample per
polygon or per class, QuPath detections as cut shapes, well options for cells and regions,
a plate map beside the manifest, and a warning for shapes outside the calibration triangle.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
import tifffile

from napari_dvp.cli import main
from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.geojson import parse_geojson
from napari_dvp.core.lmd.collectors import make_collector, plate_map
from napari_dvp.core.lmd.qupath import (
    annotation_samples,
    calibration_points,
    detection_samples,
    detections_to_labels,
)

from ._lmd_synth import make_tissue


def _feature(geom, object_type="annotation", cls=None, name=None):
    props = {"objectType": object_type}
    if cls:
        props["classification"] = {"name": cls, "color": [200, 0, 0]}
    if name:
        props["name"] = name
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}


def _qupath_file(tmp_path, with_detections=False):
    """A QuPath-style export (QuPath frame: pixel corners at integers) of a 200x200 image."""
    feats = [
        _feature(shapely.Point(3.5, 3.5), name="calib1"),
        _feature(shapely.Point(197.5, 3.5), name="calib2"),
        _feature(shapely.Point(100.5, 197.5), name="calib3"),
        _feature(shapely.Point(50, 50), cls="landmark", name="other point"),
        _feature(shapely.box(10, 10, 60, 60), cls="tumour", name="t-left"),
        _feature(shapely.box(120, 10, 190, 60), cls="tumour"),
        _feature(shapely.box(10, 120, 90, 190), cls="stroma"),
        _feature(shapely.box(100, 100, 120, 120), cls="Ignore*"),
    ]
    if with_detections:
        rng = np.random.default_rng(1)
        for k in range(24):
            x, y = 20 + 20 * (k % 8) + rng.uniform(-2, 2), 80 + 30 * (k // 8)
            poly = shapely.Point(x, y).buffer(5 + (k % 3), quad_segs=6)
            feats.append(_feature(poly, "detection", ["CD8", "macrophage"][k % 2]))
    p = tmp_path / "qupath.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return p


def test_calibration_points_by_name_or_class():
    feats = parse_geojson([
        _feature(shapely.Point(10.5, 20.5), name="calib2"),
        _feature(shapely.Point(30.5, 40.5), name="Calib1 "),
        _feature(shapely.Point(50.5, 60.5), name="calib3"),
        _feature(shapely.Point(1.5, 1.5), cls="marks", name="m3"),
        _feature(shapely.Point(2.5, 2.5), cls="marks", name="m1"),
        _feature(shapely.Point(3.5, 3.5), cls="marks", name="m10"),
    ])
    # (row, col) in napari-dvp pixels: QuPath (x, y) - 0.5, swapped
    np.testing.assert_array_equal(calibration_points(feats), [[40, 30], [20, 10], [60, 50]])
    np.testing.assert_array_equal(calibration_points(feats, class_name="marks"),
                                  [[2, 2], [1, 1], [3, 3]])  # m1, m3, m10
    with pytest.raises(DvpInputError, match=r"no point named 'calib1'.*calib2"):
        calibration_points(feats[:1])
    with pytest.raises(DvpInputError, match="found 0 point"):
        calibration_points(feats, class_name="nothing")


def test_annotation_samples_per_class_and_per_polygon(tmp_path):
    feats = parse_geojson(json.loads(_qupath_file(tmp_path).read_text()))
    per_class = annotation_samples(feats, ["all"], 0.5, per="class", image_shape=(200, 200))
    assert per_class["region"].tolist() == ["tumour", "stroma"]  # Ignore* is never cut
    per_poly = annotation_samples(feats, ["tumour"], 0.5, per="polygon", image_shape=(200, 200))
    assert per_poly["sample_id"].tolist() == ["tumour_001", "tumour_002"]
    assert per_poly["area_um2"].tolist() == pytest.approx([2500 * 0.25, 3500 * 0.25])
    with pytest.raises(DvpInputError, match="no annotation of class or name 'fat'"):
        annotation_samples(feats, ["fat"], 0.5, per="polygon")


def test_cli_regions_from_qupath_with_wells_and_plate_map(tmp_path, capsys):
    gj = _qupath_file(tmp_path)
    labels, _ = make_tissue(200)
    lp = tmp_path / "labels.tif"
    tifffile.imwrite(lp, labels)
    sel = tmp_path / "sel.csv"
    pd.DataFrame({"cell_id": [100, 101], "sample": "cd8"}).to_csv(sel, index=False)
    out = tmp_path / "lmd"
    rc = main(["export-lmd", "--labels", str(lp), "--pixel-size-um", "0.5", "--regions", str(gj),
               "--region-samples", "all", "--sample-per", "polygon", "--selection", str(sel),
               "--plate", "96", "--skip-outer", "--every-other", "--sample-wells",
               "tumour_002=G11", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "calibration marks from qupath.geojson" in printed
    m = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert m["sample_id"].tolist() == ["cd8", "tumour_001", "tumour_002", "stroma_001"]
    # skip-outer + every-other on a 96-well plate: B2, B4, B6 … for cells and regions alike
    assert m["well"].tolist() == ["B2", "B4", "G11", "B6"]
    settings = json.loads((out / "lmd_export.json").read_text())
    assert settings["calibration_marks_rc"] == [[3, 3], [3, 197], [197, 100]]
    pm = pd.read_csv(out / "plate_map.csv", index_col=0, keep_default_na=False)
    assert pm.shape == (8, 12) and pm.loc["G", "11"] == "tumour_002" and pm.loc["B", "2"] == "cd8"
    assert (pm.to_numpy() != "").sum() == 4
    # a chosen well list, used in its order
    rc = main(["export-lmd", "--labels", str(lp), "--pixel-size-um", "0.5", "--regions", str(gj),
               "--region-samples", "stroma,tumour", "--wells", "C7,A1", "--out",
               str(tmp_path / "custom")])
    assert rc == 0
    m = pd.read_csv(tmp_path / "custom" / "manifest.csv", keep_default_na=False)
    assert m["region"].tolist() == ["stroma", "tumour"] and m["well"].tolist() == ["C7", "A1"]


def test_cli_detections_as_cut_shapes(tmp_path, capsys):
    gj = _qupath_file(tmp_path, with_detections=True)
    out = tmp_path / "det"
    rc = main(["export-lmd", "--detections", str(gj), "--pixel-size-um", "0.5",
               "--image-size", "200,200", "--fill-order", "column", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    m = pd.read_csv(out / "manifest.csv", keep_default_na=False).set_index("sample_id")
    assert sorted(m.index) == ["CD8", "macrophage"] and m["n_cells"].tolist() == [12, 12]
    assert m["well"].tolist() == ["A1", "B1"]  # column order
    det = pd.read_csv(out / "detections.csv")
    assert len(det) == 24 and set(det["class"]) == {"CD8", "macrophage"}
    # each QuPath detection lies inside a cut shape of its class's well
    from napari_dvp._lmd_reader import lmd_xml_to_layer_data

    (shapes, meta, _), _ = lmd_xml_to_layer_data(next(out.glob("*.xml")))
    polys = np.array([shapely.Polygon(np.asarray(s)[:, ::-1]) for s in shapes], dtype=object)
    wells = np.asarray(meta["features"]["well"])
    feats = parse_geojson(json.loads(gj.read_text()))
    dets = [f for f in feats if f.object_type == "detection"]
    for f in dets:
        own = shapely.union_all(polys[wells == m.loc[f.class_name, "well"]])
        assert own.buffer(1e-6).covers(f.geometry.buffer(-0.75))


def test_detections_to_labels_lands_on_pixels():
    # a QuPath detection on the pixel edges of rows 10..19, cols 22..29 (QuPath frame)
    feats = parse_geojson([_feature(shapely.box(22, 10, 30, 20), "detection", "CD8")])
    labels, table = detections_to_labels(feats, (40, 40))
    want = np.zeros((40, 40), bool)
    want[10:20, 22:30] = True
    np.testing.assert_array_equal(labels > 0, want)
    assert table["n_pixels"].tolist() == [80]
    plan = detection_samples(table, pixel_size_um=0.5)
    assert plan["sample_id"].tolist() == ["CD8"] and plan["area_um2"][0] == 20.0


def test_warning_for_shapes_outside_the_calibration_triangle(tmp_path, capsys):
    labels, _ = make_tissue(200)
    lp = tmp_path / "labels.tif"
    tifffile.imwrite(lp, labels)
    sel = tmp_path / "sel.csv"
    pd.DataFrame({"cell_id": [1, 2, 120, 121], "sample": ["a", "a", "b", "b"]}).to_csv(
        sel, index=False)
    rc = main(["export-lmd", "--labels", str(lp), "--selection", str(sel), "--pixel-size-um",
               "0.5", "--calibration", "0,0;0,60;60,0", "--out", str(tmp_path / "o")])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "shapes lie outside the triangle of the three calibration marks" in printed
    settings = json.loads((tmp_path / "o" / "lmd_export.json").read_text())
    n_out = settings["n_shapes_outside_calibration_triangle"]
    assert 1 <= n_out < settings["n_shapes"]  # sample b's shapes; a's lie inside


def test_plate_map_of_strip_and_custom_wells():
    strip = plate_map({"a": "B", "b": "D"}, make_collector("strip8"))
    assert strip.loc["strip"].tolist() == ["", "a", "", "b", "", "", "", ""]
    custom = plate_map({"x": "C3", "y": "J20"}, make_collector("custom", custom=["C3", "J20"]))
    assert custom.shape == (16, 24) and custom.loc["J", "20"] == "y"
    other = plate_map({"x": "tube-1"}, make_collector("custom", custom=["tube-1"]))
    assert other.to_dict("records") == [{"well": "tube-1", "sample_id": "x"}]
