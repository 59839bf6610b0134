"""Regions dock, clicked as a user does; GeoJSON and LMD XML opened with File › Open.

The viewer shows a 400 × 400 px slide at 0.5 µm per pixel (translated, as a
slide opened beside another would be) with a labelled tissue and its cell table
(``unit._classes_data.make_tissue``: epidermis on top, dermis below, a blister
inside the dermis). Every button of the dock is clicked; dialogs are answered;
a region is drawn with the mouse on the canvas; no error or warning may appear.
"""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
import shapely
from napari.utils.notifications import NotificationSeverity, notification_manager
from qtpy.QtCore import QEvent, QPoint, QPointF, Qt
from qtpy.QtGui import QMouseEvent
from qtpy.QtWidgets import QApplication

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt._slide import apply_pixel_size, current_slide, role_of
from napari_dvp._qt.regions.widget import RegionsWidget
from napari_dvp.core.geojson import read_geojson
from napari_dvp.core.lmd.calibration import Calibration
from napari_dvp.core.lmd.export import SETTINGS_NAME
from napari_dvp.core.lmd.leica_xml import write_leica_xml
from unit._classes_data import make_tissue

PX = 0.5
SHIFT = (10.0, 20.0)  # µm: the slide's translate
SLIDE = "biopsy.ome.tif"
HOLE = shapely.box(240, 240, 360, 360)  # the blister (x = col, y = row, pixels)


# ---------------------------------------------------------------------- QuPath file
def _feature(geom, *, cls=None, name=None, otype="annotation", color=None):
    props = {"objectType": otype, "isLocked": False}
    if cls is not None:
        props["classification"] = {"name": cls, "color": color or [200, 0, 0]}
    if name is not None:
        props["name"] = name
    return {"type": "Feature", "id": str(uuid.uuid4()),
            "geometry": shapely.geometry.mapping(geom), "properties": props}


def qupath_geojson(path):
    """A QuPath 0.5 "Export objects as GeoJSON" file (REFERENCE.md): pixels, x = col, y = row."""
    dermis = shapely.Polygon(shapely.box(0, 160, 400, 400).exterior.coords,
                             [HOLE.exterior.coords])
    features = [
        _feature(shapely.box(0, 0, 400, 160), cls="epidermis", color=[214, 96, 77]),
        _feature(dermis, cls="dermis", name="deep dermis", color=[67, 147, 195]),
        _feature(shapely.LineString([(20, 150), (380, 150)]), cls="epidermis",
                 name="basement membrane"),
        _feature(shapely.Point(30, 30), name="calib1"),
        _feature(shapely.Point(370, 370), name="calib3"),
        _feature(shapely.Point(370, 30), name="calib2"),
        _feature(shapely.MultiPoint([(50, 250), (70, 270)]), cls="Immune cells",
                 color=[0, 200, 0]),
        _feature(shapely.Point(90, 290), cls="Immune cells", color=[0, 200, 0]),
        _feature(shapely.box(100, 100, 110, 110), cls="Tumor", otype="detection"),
        _feature(shapely.box(200, 100, 210, 110), cls="Tumor", otype="detection"),
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


SUMMARY = ("2 regions (2 classes), 1 line, 2 detections, 3 points (1 class), "
           "3 calibration points")


# ---------------------------------------------------------------------- fixtures
@pytest.fixture
def infos():
    """Info notifications shown during the test."""
    seen: list[str] = []

    def record(event) -> None:
        note = event.value if hasattr(event, "value") else event
        if getattr(note, "severity", None) == NotificationSeverity.INFO:
            seen.append(str(note.message))

    notification_manager.notification_ready.connect(record)
    yield seen
    notification_manager.notification_ready.disconnect(record)


def _add_slide(viewer, image, key=SLIDE, px=PX, translate=SHIFT):
    meta = {"slide": key, "pixel_size_um": px, "pixel_size_source": "file"}
    names = [f"{key}:{c}" for c in ("DAPI", "panCK", "CD8", "CD163", "pSTAT1")]
    return viewer.add_image(image, channel_axis=0, name=names[:len(image)], scale=(px, px),
                            translate=translate, units=("um", "um"), metadata=meta)


@pytest.fixture
def tissue(make_napari_viewer):
    image, labels, table, truth, _ = make_tissue(400)
    viewer = make_napari_viewer(show=True)
    _add_slide(viewer, image)
    cells = viewer.add_labels(labels, name="cells", scale=(PX, PX), translate=SHIFT,
                              units=("um", "um"), metadata={"slide": SLIDE})
    set_cell_table(cells, table, step="segmentation")
    return viewer, cells, truth


# ---------------------------------------------------------------------- mouse helpers
def _settle(qtbot, ms=30):
    qtbot.wait(ms)
    QApplication.processEvents()


def _drawn(viewer, qtbot):
    """Draw the canvas now: napari checks the layers' units when it draws."""
    viewer.screenshot(canvas_only=True)
    _settle(qtbot)


def canvas_point(viewer, world_rc) -> QPoint:
    """Canvas pixel (Qt logical coordinates) showing world position (row, col)."""
    canvas = viewer.window._qt_viewer.canvas
    tr = canvas.view.transform * canvas.view.scene.transform
    x, y = tr.map([world_rc[1], world_rc[0]])[:2]
    return QPoint(round(x), round(y))


def _mouse(widget, kind, pos: QPoint, button=Qt.MouseButton.LeftButton) -> None:
    """Deliver one mouse event now (QTest's mouseMove goes through the window system and
    may arrive after the next click)."""
    held = Qt.MouseButton.NoButton if kind in (QEvent.Type.MouseMove,
                                               QEvent.Type.MouseButtonRelease) else button
    QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(pos),
                                               QPointF(widget.mapToGlobal(pos)), button, held,
                                               Qt.KeyboardModifier.NoModifier))


def draw_polygon(viewer, qtbot, world_rc, pause_ms=400):
    """Move to each vertex and click it on the canvas, double-click the last, as a user draws.

    ``pause_ms`` between clicks is longer than the dock's auto-assign delay, so
    the dock sees the half-drawn polygon (which once gave "NotImplementedError:
    Component rings…").
    """
    native = viewer.window._qt_viewer.canvas.native
    for k, rc in enumerate(world_rc):
        pos = canvas_point(viewer, rc)
        _mouse(native, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton)
        _settle(qtbot)
        _mouse(native, QEvent.Type.MouseButtonPress, pos)
        _mouse(native, QEvent.Type.MouseButtonRelease, pos)
        _settle(qtbot, pause_ms if k < 2 else 30)
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick,
                 QEvent.Type.MouseButtonRelease):
        _mouse(native, kind, pos)
    _settle(qtbot, 50)


def pick_class(qtbot, dock, name):
    """Click a region class in the dock's list."""
    lst = dock.classes.list
    row = lst.names().index(name)
    rect = lst.visualItemRect(lst.item(row, 0))
    qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert dock.classes.current() == name


def world_of_px(rc):
    return np.asarray(rc, float) * PX + np.asarray(SHIFT)


# ---------------------------------------------------------------------- the dock
def test_every_button_of_the_regions_dock(tissue, qtbot, clicker, dialogs, errors, infos,
                                          tmp_path):
    viewer, cells, truth = tissue
    dock = RegionsWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Regions")
    viewer.window._qt_window.resize(1920, 1080)
    viewer.reset_view()
    _settle(qtbot, 100)
    click = clicker(dock)
    assert "Cells: <b>cells</b>" in dock.counts.source.text()
    assert "0.5 µm" in dock.counts.source.text()

    # Import: a QuPath export, through the file dialog
    src = qupath_geojson(tmp_path / "qupath.geojson")
    click.click(dialogs.open(src) and "Import GeoJSON…")
    layer = viewer.layers["regions"]
    assert len(layer.data) == 4  # epidermis, dermis shell + hole, the line
    assert list(layer.features["region"]) == ["epidermis", "dermis", "dermis", "epidermis"]
    assert tuple(layer.scale) == (PX, PX) and tuple(layer.translate) == SHIFT
    assert layer.metadata["slide"] == SLIDE
    assert layer.face_color[2, 3] == 0  # the hole is see-through
    assert infos[-1] == f"qupath.geojson: imported {SUMMARY}"
    cal = viewer.layers["calibration"]
    assert role_of(cal) == "calibration" and tuple(cal.scale) == (PX, PX)
    np.testing.assert_allclose(cal.data, [[30, 30], [30, 370], [370, 370]], atol=0.5)
    assert list(cal.features["mark"]) == [1, 2, 3]
    assert len(viewer.layers["Immune cells"].data) == 3
    assert viewer.layers["qupath detections"].nshapes == 2
    qtbot.waitUntil(lambda: "region" in cells.features
                    and (cells.features["region"] == "epidermis").sum() > 0, timeout=3000)

    # Draw: the blister, class picked in the dock, polygon clicked on the canvas
    pick_class(qtbot, dock, "blister")
    click.click("Draw new region of the selected class")
    assert viewer.layers.selection.active is layer and layer.mode == "add_polygon"
    corners = [(242, 242), (242, 358), (358, 358), (358, 242)]  # (row, col) px
    draw_polygon(viewer, qtbot, [world_of_px(rc) for rc in corners])
    assert len(layer.data) == 5, layer.shape_type
    new = layer.features.iloc[-1]
    assert new["region"] == "blister"  # not the class, group or id of the last import
    assert new["id"] == "" and new["group"] not in set(layer.features["group"].iloc[:-1])
    np.testing.assert_allclose(layer.data[-1], corners, atol=1.0)
    assert "Drawn: 1 <b>blister</b> region" in dock.draw.status.text()
    assert errors == [], errors

    def regions_match():
        t = cell_table_of(cells)
        return (t["region"].to_numpy() == truth["true_region"].to_numpy()).all()

    qtbot.waitUntil(regions_match, timeout=3000)  # assigned automatically
    rows = dock.counts.rows()
    assert {k: int(v[0]) for k, v in rows.items()} == truth["true_region"].value_counts(
    ).to_dict()
    assert dock.counts.headers() == ["region", "cells", "cell area µm²", "region area µm²"]
    # 116 × 116 px drawn -> µm² at 0.5 µm per pixel
    assert float(rows["blister"][2].replace(",", "")) == pytest.approx(116 * 116 * PX ** 2,
                                                                       rel=0.03)

    # Give selected shapes the selected class: the blister becomes a lesion border and back
    layer.mode = "select"
    layer.selected_data = {4}
    pick_class(qtbot, dock, "lesion border")
    click.click("Give selected shapes the selected class")
    assert layer.features["region"].iloc[-1] == "lesion border"
    qtbot.waitUntil(lambda: "lesion border" in dock.counts.rows(), timeout=3000)
    pick_class(qtbot, dock, "blister")
    click.click("Give selected shapes the selected class")
    layer.selected_data = set()

    # Add a class, remove it again
    click.click("Add class")
    assert dock.classes.list.names()[-1] == "region 6" and dock.classes.current() == "region 6"
    click.click("Remove class")
    assert "region 6" not in dock.classes.list.names()

    # Assign by hand: the cell table gets the regions, written by the regions step
    cells.features = cells.features.assign(region="")
    click.click("Assign cells to regions")
    assert regions_match()
    assert cells.metadata["napari_dvp_columns"]["region"] == "regions"
    assert cells.metadata["napari_dvp_columns"]["centroid_row"] == "segmentation"

    # the pixel size is set anew in the Slide dock: areas follow, the regions stay on the slide
    slide = current_slide(viewer)
    slide.set_pixel_size(0.25)
    apply_pixel_size(viewer, slide)
    assert tuple(layer.scale) == (0.25, 0.25)
    qtbot.waitUntil(lambda: "0.25 µm" in dock.counts.source.text(), timeout=3000)
    click.click("Assign cells to regions")
    area = float(dock.counts.rows()["blister"][2].replace(",", ""))
    assert area == pytest.approx(116 * 116 * 0.25 ** 2, rel=0.03)
    assert regions_match()

    # Export: QuPath GeoJSON in slide pixels, classes and holes kept
    out = tmp_path / "regions.geojson"
    click.click(dialogs.save(out) and "Export GeoJSON…")
    back = read_geojson(out)
    assert [f.class_name for f in back] == ["epidermis", "dermis", "blister"]
    assert back[1].name == "deep dermis" and len(back[1].geometry.interiors) == 1
    drawn = shapely.box(242, 242, 358, 358)  # x = col, y = row, as clicked
    assert back[2].geometry.symmetric_difference(drawn).area < 0.02 * drawn.area
    _drawn(viewer, qtbot)
    assert errors == [] and errors.warnings == [], (errors, errors.warnings)
    dialogs.done()


def test_regions_without_cells_and_a_clipped_import(make_napari_viewer, qtbot, clicker,
                                                    dialogs, errors, tmp_path):
    """No cells yet: regions can be drawn and imported; areas show; Assign says what is missing."""
    image, *_ = make_tissue(200)
    viewer = make_napari_viewer()
    _add_slide(viewer, image, px=0.25, translate=(0.0, 0.0))
    dock = RegionsWidget(viewer)
    click = clicker(dock, check_all=False)
    assert "Cells: none yet" in dock.counts.source.text()
    src = tmp_path / "beyond.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [
        _feature(shapely.box(-50, 0, 100, 100), cls="new kind", color=[9, 9, 9])]}))
    click.click(dialogs.open(src) and "Import GeoJSON…")
    assert any("clipped 1 shape" in w for w in errors.warnings)
    assert "new kind" in dock.classes.list.names()
    qtbot.waitUntil(lambda: "new kind" in dock.counts.rows(), timeout=3000)
    assert dock.counts.headers() == ["region", "region area µm²"]
    # clipped to the 200 × 200 image: 100.5 × 100 px (pixel centres, QuPath corners ± 0.5)
    area = float(dock.counts.rows()["new kind"][0].replace(",", ""))
    assert area == pytest.approx(100 * 100 * 0.25 ** 2, rel=0.02)
    click.click("Assign cells to regions", allow_error="segment the slide")
    assert len(errors) == 1 and "segment" in errors[0]


# ---------------------------------------------------------------------- File › Open
def _lmd_xml(folder, polygons_rc, px=PX):
    """A Leica XML as napari-dvp's export writes it (with lmd_export.json beside it)."""
    folder.mkdir()
    cal = Calibration(np.array([[5.0, 5.0], [5.0, 390.0], [390.0, 200.0]]), px)
    write_leica_xml(folder / "shapes.xml", cal.marks_xml(),
                    [cal.to_xml(p) for p in polygons_rc], ["A1", "A1", "B2"])
    (folder / SETTINGS_NAME).write_text(json.dumps({"pixel_size_um": px, "scale": 100}))
    return folder / "shapes.xml"


def test_file_open_geojson_and_lmd_xml_on_a_half_micron_slide(tissue, qtbot, errors, infos,
                                                             tmp_path):
    viewer, _, _ = tissue
    n0 = len(viewer.layers)
    src = qupath_geojson(tmp_path / "qupath.geojson")
    viewer.open(str(src), plugin="napari-dvp")
    _drawn(viewer, qtbot)
    added = list(viewer.layers)[n0:]
    kinds = {lay.name: type(lay).__name__ for lay in added}
    assert kinds == {"regions": "Shapes", "qupath detections": "Shapes",
                     "Immune cells": "Points", "calibration": "Points"}
    for lay in added:
        assert tuple(lay.scale) == (PX, PX) and tuple(lay.translate) == SHIFT, lay.name
        assert lay.metadata["slide"] == SLIDE
    assert role_of(viewer.layers["calibration"]) == "calibration"
    assert infos[-1] == f"napari-dvp: qupath.geojson: {SUMMARY} on slide {SLIDE}"
    epi = viewer.layers["regions"].data[0]  # QuPath box 0..400 × 0..160, in slide pixels
    assert epi[:, 0].max() == pytest.approx(160, abs=0.5)

    polys = [np.array([[20, 20], [20, 60], [60, 60], [60, 20]], float),
             np.array([[100, 100], [100, 140], [150, 120]], float),
             np.array([[300, 300], [300, 340], [340, 340], [340, 300]], float)]
    xml = _lmd_xml(tmp_path / "lmd", polys)
    viewer.open(str(xml), plugin="napari-dvp")
    _drawn(viewer, qtbot)
    shapes, marks = viewer.layers["LMD shapes"], viewer.layers["LMD shapes calibration"]
    assert type(shapes).__name__ == "Shapes" and type(marks).__name__ == "Points"
    for lay in (shapes, marks):
        assert tuple(lay.scale) == (PX, PX) and tuple(lay.translate) == SHIFT
    for got, want in zip(shapes.data, polys, strict=True):
        np.testing.assert_allclose(got, want, atol=0.02)
    assert role_of(marks) == "calibration"
    assert infos[-1] == ("napari-dvp: shapes.xml: 3 cut shapes in 2 wells, 3 calibration "
                         f"marks on slide {SLIDE}")
    assert errors == [] and errors.warnings == [], (errors, errors.warnings)


def test_file_open_asks_which_slide_when_ambiguous(make_napari_viewer, dialogs, errors,
                                                   tmp_path):
    image, small = np.zeros((1, 400, 400), np.uint8), np.zeros((1, 200, 200), np.uint8)
    viewer = make_napari_viewer()
    _add_slide(viewer, image, key="a.ome.tif", px=0.5, translate=(0.0, 0.0))
    b = _add_slide(viewer, image, key="b.ome.tif", px=0.25, translate=(0.0, 200.0))
    _add_slide(viewer, small, key="c.ome.tif", px=0.5, translate=(400.0, 0.0))
    src = qupath_geojson(tmp_path / "qupath.geojson")  # 400 px wide: fits a and b, not c
    dialogs.text("b.ome.tif")
    n0 = len(viewer.layers)
    viewer.open(str(src), plugin="napari-dvp")
    assert len(dialogs.asked) == 1 and "which slide" in dialogs.asked[0]
    for lay in list(viewer.layers)[n0:]:
        assert tuple(lay.scale) == (0.25, 0.25) and tuple(lay.translate) == (0.0, 200.0)
        assert lay.metadata["slide"] == "b.ome.tif"
    # with b closed, the file fits slide a only: put there without asking
    for lay in b:
        viewer.layers.remove(lay)
    n0 = len(viewer.layers)
    viewer.open(str(src), plugin="napari-dvp")
    assert len(dialogs.asked) == 1
    assert {lay.metadata["slide"] for lay in list(viewer.layers)[n0:]} == {"a.ome.tif"}
    assert errors == []
    dialogs.done()
