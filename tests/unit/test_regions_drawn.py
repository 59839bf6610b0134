"""Regions as a Shapes layer holds them; what a QuPath file holds; layer-to-layer coordinates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from napari_dvp.core.geojson import GeoFeature, features_to_shapes, shapes_to_features
from napari_dvp.core.layer_coords import bounds_rc, data_to_data, fits_within
from napari_dvp.core.regions import region_counts
from napari_dvp.core.regions.annotations import describe, is_calibration, sort_features
from napari_dvp.core.regions.drawn import (
    append_shapes,
    areas_for_display,
    counts_for_display,
    drawn_regions,
    stamp_drawn,
)

SQUARE = np.array([[0, 0], [0, 10], [10, 10], [10, 0]], float)


def _imported():
    ring = shapely.Polygon(shapely.box(0, 0, 100, 100).exterior.coords,
                           [shapely.box(20, 20, 40, 40).exterior.coords])
    feats = [GeoFeature(shapely.box(200, 0, 300, 50), class_name="epidermis", id="a"),
             GeoFeature(ring, class_name="dermis", name="deep", id="b")]
    return features_to_shapes(feats)


def test_a_drawn_shape_takes_the_dock_class_not_the_last_import():
    _, _, table = _imported()
    # napari copies the last row (the dermis hole, group 1, id "b") into a new shape
    table = pd.concat([table, table.iloc[[-1]]], ignore_index=True)
    out = stamp_drawn(table, [3], "blister")
    new = out.iloc[3]
    assert (new["region"], new["name"], new["id"], bool(new["hole"])) == ("blister", "", "", False)
    assert new["group"] == 2 and list(out["group"].iloc[:3]) == [0, 1, 1]
    assert list(out["region"].iloc[:3]) == ["epidermis", "dermis", "dermis"]


def test_a_half_drawn_polygon_in_an_imported_group_is_not_read():
    """napari holds a polygon being drawn as a 2-vertex path; it once shared the last import's
    group and made shapes_to_features raise ("Component rings…", or "no attribute exterior")."""
    data, types, table = _imported()
    verts = [*data, np.array([[60, 60], [70, 70]], float)]
    kinds = [*types, "path"]
    tab = pd.concat([table, table.iloc[[1]]], ignore_index=True)  # same group as the dermis
    with pytest.raises((NotImplementedError, AttributeError)):
        shapes_to_features(verts, kinds, tab)  # why the layer is filtered first
    regs = drawn_regions(verts, kinds, tab)
    assert [r.region_class for r in regs] == ["epidermis", "dermis"]
    assert len(regs[1].geometry.interiors) == 1
    # a 2-vertex polygon and a line are not regions either
    assert drawn_regions([SQUARE[:2], SQUARE], ["polygon", "path"], None) == []


def test_drawn_regions_default_class_and_groups():
    regs = drawn_regions([SQUARE, SQUARE + 20], ["polygon", "rectangle"],
                         pd.DataFrame({"region": ["", "dermis"]}), default_class="epidermis")
    assert [r.region_class for r in regs] == ["epidermis", "dermis"]
    assert regs[0].geometry.area == pytest.approx(100)


def test_append_shapes_renumbers_imported_groups():
    _, _, table = _imported()
    out = append_shapes(table, table)
    assert list(out["group"]) == [0, 1, 1, 2, 3, 3]
    assert list(out["id"]) == ["a", "b", "b", "a", "b", "b"]


def test_display_tables_say_their_units():
    _, _, table = _imported()
    data, types, _ = _imported()
    regs = drawn_regions(data, types, table)
    areas = areas_for_display(regs, 0.5)
    assert list(areas.columns) == ["region", "region area µm²"]
    assert areas["region area µm²"].tolist() == pytest.approx([5000 * 0.25, 9600 * 0.25])
    assert list(areas_for_display(regs, None).columns) == ["region", "region area px²"]
    cells = pd.DataFrame({"cell_id": [1, 2, 3], "region": ["dermis", "", "dermis"],
                          "area_um2": [10.0, 20.0, 30.0]})
    show = counts_for_display(region_counts(cells, regs, 0.5), 0.5)
    assert list(show.columns) == ["region", "cells", "cell area µm²", "region area µm²"]
    assert show["region"].tolist() == ["epidermis", "dermis", "(outside)"]


def _pt(x, y, name="", cls=""):
    return GeoFeature(shapely.Point(x, y), name=name, class_name=cls)


def test_calibration_points_are_recognised_and_ordered():
    assert is_calibration(_pt(0, 0, "calib2"))
    assert is_calibration(_pt(0, 0, "Calibration 3"))
    assert is_calibration(_pt(0, 0, "cal_1"))
    assert is_calibration(_pt(0, 0, cls="LMD calibration"))
    assert not is_calibration(_pt(0, 0, "calico cat"))
    assert not is_calibration(GeoFeature(shapely.box(0, 0, 1, 1), name="calib1"))
    feats = [_pt(3, 3, "calib3"), _pt(1, 1, "calib1"), _pt(5, 5, cls="Immune cells"),
             GeoFeature(shapely.MultiPoint([(6, 6), (7, 7)]), class_name="Immune cells"),
             _pt(2, 2, "calib2"), _pt(9, 9),
             GeoFeature(shapely.box(0, 0, 9, 9), class_name="dermis"),
             GeoFeature(shapely.box(0, 0, 9, 9), class_name="dermis"),
             GeoFeature(shapely.LineString([(0, 0), (5, 5)])),
             GeoFeature(shapely.box(1, 1, 2, 2), object_type="detection")]
    found = sort_features(feats)
    assert [f.name for f in found.calibration] == ["calib1", "calib2", "calib3"]
    assert list(found.points) == ["Immune cells", ""]
    assert describe(found) == ("2 regions (1 class), 1 line, 1 detection, 4 points (2 classes), "
                               "3 calibration points")
    assert describe(sort_features([])) == "nothing to show"


def test_layer_to_layer_coordinates_and_extent():
    pts = np.array([[10.0, 20.0], [0.0, 0.0]])
    # regions drawn at 0.5 µm translated (5, 5) µm, cells at 0.25 µm without translate
    got = data_to_data(pts, (0.5, 0.5), (5, 5), (0.25, 0.25), (0, 0))
    np.testing.assert_allclose(got, [[40, 60], [20, 20]])
    np.testing.assert_allclose(data_to_data(got, (0.25, 0.25), (0, 0), (0.5, 0.5), (5, 5)), pts)
    b = bounds_rc([SQUARE, np.array([[-0.4, 3.0]])])
    assert b == (-0.4, 0.0, 10.0, 10.0)
    assert bounds_rc([np.empty((0, 2))]) is None
    assert fits_within(b, (11, 11)) and not fits_within(b, (8, 20))
    assert not fits_within((-3.0, 0.0, 5.0, 5.0), (11, 11))
