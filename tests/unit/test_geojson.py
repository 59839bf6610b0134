"""QuPath GeoJSON: reading real-world-shaped exports, writing, round trips, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.geojson import (
    GeoFeature,
    GeoJsonWarning,
    cells_to_features,
    features_to_points,
    features_to_regions,
    features_to_shapes,
    match_detections,
    parse_geojson,
    points_to_features,
    read_geojson,
    regions_to_features,
    shapes_to_features,
    write_geojson,
)
from napari_dvp.core.regions import Region, assign_regions

# Shaped like QuPath 0.5 "Export objects as GeoJSON" (FeatureCollection, uuid ids,
# classification objects, an ellipse exported as a polygon, a MultiPolygon, holes,
# a detection with measurements, a named calibration point, a line).
_ELLIPSE = [[round(300 + 40 * np.cos(t), 2), round(200 + 20 * np.sin(t), 2)]
            for t in np.linspace(0, 2 * np.pi, 33)]
QUPATH = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "id": "6f1c2f5e-0b1a-4a57-9d36-1f0f4c1d1a01",
         "geometry": {"type": "Polygon", "coordinates": [
             [[0, 0], [500, 0], [500, 150], [0, 150], [0, 0]],
             [[100, 50], [140, 50], [140, 90], [100, 90], [100, 50]]]},
         "properties": {"objectType": "annotation", "name": "Lesional epidermis",
                        "classification": {"name": "epidermis", "color": [214, 96, 77]},
                        "isLocked": False}},
        {"type": "Feature", "id": "6f1c2f5e-0b1a-4a57-9d36-1f0f4c1d1a02",
         "geometry": {"type": "MultiPolygon", "coordinates": [
             [[[0, 150], [250, 150], [250, 400], [0, 400], [0, 150]]],
             [[[260, 250], [500, 250], [500, 400], [260, 400], [260, 250]]]]},
         "properties": {"objectType": "annotation",
                        "classification": {"name": "dermis", "color": [67, 147, 195]}}},
        {"type": "Feature", "id": "6f1c2f5e-0b1a-4a57-9d36-1f0f4c1d1a03",
         "geometry": {"type": "Polygon", "coordinates": [_ELLIPSE]},
         "properties": {"objectType": "annotation",
                        "classification": {"name": "blister", "colorRGB": -5888}}},
        {"type": "Feature", "id": "6f1c2f5e-0b1a-4a57-9d36-1f0f4c1d1a04",
         "geometry": {"type": "Polygon", "coordinates": [
             [[10, 10], [20, 10], [20, 20], [10, 20], [10, 10]]]},
         "properties": {"objectType": "detection",
                        "classification": {"name": "CD8 T cell", "color": [213, 40, 40]},
                        "measurements": {"Nucleus: Area": 100.0}}},
        {"type": "Feature", "id": "6f1c2f5e-0b1a-4a57-9d36-1f0f4c1d1a05",
         "geometry": {"type": "Point", "coordinates": [5, 395]},
         "properties": {"objectType": "annotation", "name": "calib1"}},
        {"type": "Feature", "id": "6f1c2f5e-0b1a-4a57-9d36-1f0f4c1d1a06",
         "geometry": {"type": "LineString", "coordinates": [[0, 160], [500, 160]]},
         "properties": {"objectType": "annotation", "name": "basement membrane"}},
    ],
}


def _write(tmp_path, obj, name="q.geojson"):
    p = tmp_path / name
    p.write_text(json.dumps(obj))
    return p


def test_reads_qupath_export(tmp_path):
    feats = read_geojson(_write(tmp_path, QUPATH), image_shape=(400, 500))
    assert [f.object_type for f in feats] == ["annotation"] * 3 + ["detection"] + [
        "annotation"] * 2
    epi, derm, blister, det, pt, line = feats
    assert epi.name == "Lesional epidermis" and epi.class_name == "epidermis"
    assert epi.color == (214, 96, 77) and len(epi.geometry.interiors) == 1
    assert epi.properties == {"isLocked": False}
    assert derm.geometry.geom_type == "MultiPolygon" and derm.name == ""
    assert blister.color == (255, 233, 0)  # packed colorRGB of QuPath 0.2
    assert blister.geometry.area == pytest.approx(np.pi * 40 * 20, rel=0.02)
    assert det.properties["measurements"] == {"Nucleus: Area": 100.0}
    assert pt.geometry.geom_type == "Point" and pt.name == "calib1"
    assert line.geometry.geom_type == "LineString"
    regions = features_to_regions(feats)
    assert [r.region_class for r in regions] == ["epidermis", "dermis", "blister"]
    # x = column, y = row: a cell at row 120, col 400 is epidermis, one in the hole is not
    t = pd.DataFrame({"cell_id": [1, 2, 3, 4], "centroid_row": [120.0, 70.0, 300.0, 200.0],
                      "centroid_col": [400.0, 120.0, 100.0, 255.0]})
    assert assign_regions(t, regions).tolist() == ["epidermis", "", "dermis", ""]


def test_bare_list_and_single_feature():
    feats = parse_geojson(QUPATH["features"][:2])
    assert len(feats) == 2
    assert parse_geojson(QUPATH["features"][0])[0].name == "Lesional epidermis"
    assert parse_geojson({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}
                         )[0].object_type == "annotation"


def test_roundtrip_exact(tmp_path):
    feats = read_geojson(_write(tmp_path, QUPATH))
    out = tmp_path / "out.geojson"
    write_geojson(out, feats)
    back = read_geojson(out)
    assert len(back) == len(feats)
    for a, b in zip(feats, back, strict=True):
        assert shapely.equals_exact(a.geometry, b.geometry, tolerance=0)
        assert (a.object_type, a.class_name, a.color, a.name, a.id, a.properties) == (
            b.object_type, b.class_name, b.color, b.name, b.id, b.properties)
    d = json.loads(out.read_text())
    assert d["type"] == "FeatureCollection"
    props = d["features"][0]["properties"]
    assert props["objectType"] == "annotation"
    assert props["classification"] == {"name": "epidermis", "color": [214, 96, 77]}


def test_regions_roundtrip(tmp_path):
    regs = [Region(shapely.box(0, 0, 10, 20), "epidermis", name="top"),
            Region(shapely.box(0, 20, 10, 40), "exclude")]
    write_geojson(tmp_path / "r.geojson", regions_to_features(regs))
    back = features_to_regions(read_geojson(tmp_path / "r.geojson"))
    assert [(r.region_class, r.name) for r in back] == [("epidermis", "top"), ("exclude", "")]
    assert all(shapely.equals_exact(a.geometry, b.geometry, 0)
               for a, b in zip(regs, back, strict=True))


def test_napari_shapes_roundtrip_keeps_holes_and_multipolygons(tmp_path):
    feats = read_geojson(_write(tmp_path, QUPATH))
    data, types, table = features_to_shapes(feats)
    # epidermis: shell + hole; dermis: 2 parts; blister; detection; line (point excluded)
    assert len(data) == 7 and types.count("path") == 1
    assert table["hole"].tolist() == [False, True, False, False, False, False, False]
    # napari is (row, col), pixel centres at integers: QuPath's (x=500, y=0) is (-0.5, 499.5)
    np.testing.assert_array_equal(data[0][1], [-0.5, 499.5])
    back = shapes_to_features(data, types, table)
    assert len(back) == 5
    for a, b in zip([f for f in feats if f.geometry.geom_type != "Point"], back, strict=True):
        assert shapely.equals_exact(shapely.normalize(a.geometry),
                                    shapely.normalize(b.geometry), 1e-9)
        assert (a.class_name, a.name, a.object_type, a.color, a.id) == (
            b.class_name, b.name, b.object_type, b.color, b.id)
    pts, ptab = features_to_points(feats)
    np.testing.assert_array_equal(pts, [[394.5, 4.5]])
    p = points_to_features(pts, ptab)[0]
    assert (p.geometry.x, p.geometry.y, p.name) == (4.5, 394.5, "calib1")


def test_plain_napari_shapes_without_features():
    rect = np.array([[0, 0], [0, 10], [20, 10], [20, 0]], float)  # (row, col)
    ell = np.array([[0, 0], [0, 20], [10, 20], [10, 0]], float)
    feats = shapes_to_features([rect, ell], ["rectangle", "ellipse"], default_class="dermis")
    assert [f.class_name for f in feats] == ["dermis", "dermis"]
    assert feats[0].geometry.bounds == (0, 0, 10, 20)  # x=col 0..10, y=row 0..20
    assert feats[1].geometry.area == pytest.approx(np.pi * 10 * 5, rel=0.01)


def test_invalid_polygon_repaired_with_warning():
    bowtie = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
        [[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]]}, "properties": {}}
    with pytest.warns(GeoJsonWarning, match="repaired 1 invalid"):
        f = parse_geojson([bowtie])[0]
    assert f.geometry.is_valid and f.geometry.area == pytest.approx(50)
    assert f.geometry.geom_type in ("MultiPolygon", "Polygon")


def test_outside_image():
    far = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
        [[90, 90], [150, 90], [150, 150], [90, 150], [90, 90]]]}, "properties": {}}
    gone = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [500, 500]},
            "properties": {}}
    with pytest.raises(DvpInputError, match="outside the 100×100 image"):
        parse_geojson([far], image_shape=(100, 100), outside="error")
    with pytest.warns(GeoJsonWarning):
        got = parse_geojson([far, gone], image_shape=(100, 100))
    # clipped to the image in the file's frame (0..100), then shifted into ours (-0.5)
    assert len(got) == 1 and got[0].geometry.bounds == (89.5, 89.5, 99.5, 99.5)
    with pytest.raises(DvpInputError, match="every object lies outside"), pytest.warns(
            GeoJsonWarning):
        parse_geojson([gone], image_shape=(100, 100))
    assert parse_geojson([far], image_shape=(100, 100), outside="keep")[0].geometry.area == 3600


@pytest.mark.parametrize("text,match", [
    ("{not json", "not valid JSON"),
    ('{"type": "Topology"}', "not GeoJSON"),
    ('[1, 2]', "not GeoJSON"),
    ('{"type": "FeatureCollection", "features": 3}', "without a 'features' list"),
    ('{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": "x"}}',
     "unreadable geometry"),
])
def test_not_geojson(tmp_path, text, match):
    p = tmp_path / "bad.geojson"
    p.write_text(text)
    with pytest.raises(DvpInputError, match=match):
        read_geojson(p)


def test_cells_export_and_match_back(tmp_path):
    labels = np.zeros((60, 60), np.uint32)
    labels[5:15, 5:20] = 1
    labels[30:50, 30:40] = 2
    labels[40:45, 10:12] = 3
    table = pd.DataFrame({"cell_id": [1, 2, 3], "centroid_row": [9.5, 39.5, 42.0],
                          "centroid_col": [12.0, 34.5, 10.5],
                          "class": ["keratinocyte", "CD8 T cell", ""],
                          "region": ["epidermis", "dermis", "dermis"]})
    feats = cells_to_features(table, labels, measurements=["centroid_row"])
    assert [f.class_name for f in feats] == ["keratinocyte", "CD8 T cell", ""]
    # outlines follow pixel edges: the 10×15 box has area 150 (corners cut by tracing);
    # pixel centres at integers here, so rows 5..14 span 4.5..14.5
    assert feats[0].geometry.area == pytest.approx(150, abs=1.0)
    assert feats[0].geometry.bounds == (4.5, 4.5, 19.5, 14.5)
    write_geojson(tmp_path / "cells.geojson", feats)
    # in the file, QuPath's frame: pixel corners at integers
    coords = np.asarray(json.loads((tmp_path / "cells.geojson").read_text())["features"][0][
        "geometry"]["coordinates"][0])
    assert (coords.min(0).tolist(), coords.max(0).tolist()) == ([5, 5], [20, 15])
    back = read_geojson(tmp_path / "cells.geojson")
    m = match_detections(back, labels)
    assert m.set_index("cell_id")["class"].to_dict() == {1: "keratinocyte", 2: "CD8 T cell",
                                                         3: ""}
    assert back[1].properties["region"] == "dermis"
    pts = cells_to_features(table)
    assert pts[0].geometry.geom_type == "Point" and (pts[0].geometry.x, pts[0].geometry.y) == (
        12.0, 9.5)


def test_write_is_atomic(tmp_path):
    target = tmp_path / "x.geojson"
    target.write_text("old")
    bad = GeoFeature(geometry=shapely.box(0, 0, 1, 1), properties={"o": object()})
    with pytest.raises(TypeError):
        write_geojson(target, [bad])
    assert target.read_text() == "old"


def test_read_geojson_of_a_folder_is_one_line(tmp_path):
    """A folder picked instead of a file: DvpInputError, not IsADirectoryError."""
    import pytest

    from napari_dvp.core.errors import DvpInputError
    from napari_dvp.core.geojson import read_geojson

    with pytest.raises(DvpInputError, match="cannot read GeoJSON file"):
        read_geojson(tmp_path)


def _pixels_inside(geom, shape):
    """Pixels (row, col) whose centre lies inside ``geom`` (napari-dvp frame)."""
    rr, cc = np.mgrid[:shape[0], :shape[1]]
    inside = shapely.contains_xy(geom, cc.ravel().astype(float), rr.ravel().astype(float))
    return set(zip(rr.ravel()[inside].tolist(), cc.ravel()[inside].tolist(), strict=True))


def test_pixel_square_round_trip_lands_on_the_same_pixels(tmp_path):
    """Issue 12 #6: one pixel convention both ways (QuPath corners vs napari-dvp centres).

    A square of pixels exported as a detection and re-imported as a region covers the
    same pixels, and a region drawn in QuPath on pixel edges selects exactly its pixels.
    """
    labels = np.zeros((40, 40), np.uint32)
    labels[10:20, 22:30] = 7  # rows 10..19, cols 22..29
    want = {(r, c) for r in range(10, 20) for c in range(22, 30)}
    table = pd.DataFrame({"cell_id": [7], "class": ["x"]})
    write_geojson(tmp_path / "c.geojson", cells_to_features(table, labels))
    back = read_geojson(tmp_path / "c.geojson", image_shape=labels.shape)
    assert _pixels_inside(back[0].geometry, labels.shape) == want
    assert match_detections(back, labels)["cell_id"].tolist() == [7]
    # a QuPath rectangle on the pixel edges of the same square (x 22..30, y 10..20)
    drawn = {"type": "Feature", "properties": {"objectType": "annotation",
                                               "classification": {"name": "epidermis"}},
             "geometry": shapely.geometry.mapping(shapely.box(22, 10, 30, 20))}
    region = features_to_regions(parse_geojson([drawn], image_shape=labels.shape))[0]
    assert _pixels_inside(region.geometry, labels.shape) == want
    cen = pd.DataFrame({"cell_id": [7], "centroid_row": [14.5], "centroid_col": [25.5]})
    assert assign_regions(cen, [region]).tolist() == ["epidermis"]
    # and a detection drawn by QuPath on those edges finds the cell
    det = {**drawn, "properties": {"objectType": "detection"}}
    assert match_detections(parse_geojson([det]), labels)["cell_id"].tolist() == [7]
