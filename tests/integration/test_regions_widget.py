"""Regions widget in a real napari viewer: draw, auto-assign, counts, GeoJSON both ways."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt.regions.widget import RegionsWidget
from unit._classes_data import make_tissue


def _poly_rc(geom):
    """(row, col) vertices of a polygon's exterior (napari order)."""
    return np.asarray(geom.exterior.coords)[:-1, ::-1]


@pytest.fixture
def setup(make_napari_viewer):
    image, labels, table, truth, regions = make_tissue()
    viewer = make_napari_viewer()
    viewer.add_image(image, channel_axis=0, name=["DAPI", "panCK", "CD8", "CD163", "pSTAT1"])
    lab = viewer.add_labels(labels, name="cells")
    set_cell_table(lab, table)
    w = RegionsWidget(viewer)
    viewer.window.add_dock_widget(w, name="Regions")
    return viewer, w, lab, truth, regions


def test_draw_assign_counts_and_export(setup, qtbot, tmp_path, screenshot_path):
    viewer, w, lab, truth, regions = setup
    for k, name in enumerate(["epidermis", "dermis", "blister"]):
        w.classes.setCurrentCell(k, 0)
        w.new_region()
        layer = viewer.layers["regions"]
        assert layer.mode == "add_polygon"
        assert layer.feature_defaults["region"][0] == name
        geom = regions[name]
        if name == "dermis":  # drawn as a plain polygon under the blister (blister drawn later)
            geom = shapely.box(*geom.bounds)
        layer.add_polygons([_poly_rc(geom)])
    qtbot.waitUntil(lambda: "region" in lab.features.columns
                    and (lab.features["region"] != "").all(), timeout=3000)
    table = cell_table_of(lab)
    agree = (table["region"].to_numpy() == truth["true_region"].to_numpy()).mean()
    assert agree == 1.0
    assert w.counts.rowCount() == 3
    heads = [w.counts.horizontalHeaderItem(c).text() for c in range(w.counts.columnCount())]
    assert heads[:2] == ["region", "cells"]
    counts = {w.counts.item(r, 0).text(): int(w.counts.item(r, 1).text()) for r in range(3)}
    assert counts == truth["true_region"].value_counts().to_dict()
    out = tmp_path / "regions.geojson"
    w.export_geojson(str(out))
    d = json.loads(out.read_text())
    assert [f["properties"]["classification"]["name"] for f in d["features"]] == [
        "epidermis", "dermis", "blister"]
    assert d["features"][0]["properties"]["objectType"] == "annotation"
    viewer.window._qt_window.resize(1400, 900)
    qtbot.wait(100)
    viewer.window._qt_window.grab().save(str(screenshot_path("regions_widget.png")))


def test_import_geojson_with_hole_and_recolour(setup, qtbot, tmp_path):
    viewer, w, lab, _, _ = setup
    ring = shapely.Polygon(shapely.box(0, 0, 400, 400).exterior.coords,
                           [shapely.box(100, 200, 200, 300).exterior.coords])
    src = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(ring),
         "properties": {"objectType": "annotation", "name": "ring",
                        "classification": {"name": "lesion border", "color": [1, 2, 3]}}},
        {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.box(-50, 0, 10, 10)),
         "properties": {"objectType": "annotation",
                        "classification": {"name": "new kind", "color": [9, 9, 9]}}}]}
    p = tmp_path / "in.geojson"
    p.write_text(json.dumps(src))
    w.import_geojson(str(p))  # the second shape reaches beyond the image: clipped, warned
    layer = viewer.layers["regions"]
    assert len(layer.data) == 3  # shell, hole, clipped square
    assert "new kind" in w.classes.names()
    assert layer.face_color[1, 3] == 0  # the hole is see-through
    w.assign()
    t = cell_table_of(lab)
    inside_hole = shapely.contains_xy(shapely.box(100, 200, 200, 300), t.centroid_col,
                                      t.centroid_row)
    assert (t.loc[inside_hole, "region"] == "").all()
    assert (t.loc[~inside_hole & (t.centroid_col > 10), "region"] == "lesion border").all()
    out = tmp_path / "out.geojson"
    w.export_geojson(str(out))
    back = json.loads(out.read_text())["features"]
    assert back[0]["properties"]["name"] == "ring"
    assert shapely.geometry.shape(back[0]["geometry"]).equals(ring)
