"""Slide dock, clicked and typed as a user does: open, choose, pixel size, channels.

Every button of the dock is clicked (``clicker`` fails otherwise); file dialogs
are answered by ``dialogs``; an error notification fails a click unless the test
expects it.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLineEdit

from napari_dvp._qt._common import cell_table_of
from napari_dvp._qt._slide import current_slide
from napari_dvp._qt.review.widget import ReviewWidget
from napari_dvp._qt.slide.widget import SlideWidget
from napari_dvp.cli import main
from napari_dvp.core.slide import write_ome_tiff
from napari_dvp.core.synthetic import make_sample

pytestmark = [pytest.mark.gui, pytest.mark.slow]

NAMES = ["DAPI", "panCK", "CD8", "CD163", "pSTAT1"]


@pytest.fixture(scope="module")
def sample():
    return make_sample(size=256, seed=0)


@pytest.fixture
def files(tmp_path, sample):
    img = sample.image
    biopsy = write_ome_tiff(tmp_path / "biopsy.ome.tif", img, NAMES, 0.5, tile=64)
    nopx = tmp_path / "scan.tif"  # a scanner export that does not record its pixel size
    tifffile.imwrite(nopx, img[:2], photometric="minisblack")
    rgb = np.full((120, 160, 3), 230, np.uint8)
    rgb[30:90, 40:120] = (120, 40, 140)
    he = tmp_path / "he.tif"
    tifffile.imwrite(he, rgb, photometric="rgb")
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"garbage" * 50)
    return {"biopsy": biopsy, "nopx": nopx, "he": he, "broken": broken}


def type_into(qtbot, spin, text: str) -> None:
    """Select the spin box's text and type ``text`` + Enter, as a user does."""
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def docked(viewer, qtbot):
    """The Slide and Review docks in one tab group, Slide in front."""
    viewer.window._qt_window.resize(1100, 700)  # small while clicking: software OpenGL is slow
    slide, review = SlideWidget(viewer), ReviewWidget(viewer)
    viewer.window.add_dock_widget(slide, name="Slide")
    viewer.window.add_dock_widget(review, name="Review segmentation")
    qtbot.waitUntil(lambda: slide._dock() is not None and review._dock() is not None)
    qtbot.wait(50)
    slide._dock().raise_()
    qtbot.waitUntil(slide.isVisible)
    return slide, review


def test_click_every_slide_control(make_napari_viewer, qtbot, clicker, dialogs, errors, files,
                                   screenshot_path):
    viewer = make_napari_viewer(show=True)
    dock, _review = docked(viewer, qtbot)
    click = clicker(dock)

    # open a slide that records its pixel size
    dialogs.open(files["biopsy"])
    click.click("Open slide")
    assert [lay.name for lay in viewer.layers] == NAMES
    assert dock.slide_combo.currentText() == "biopsy.ome.tif"
    text = dock.info.text()
    assert "Fluorescence, 5 channels" in text and "256 × 256 px = 0.13 × 0.13 mm" in text
    assert "3 levels" in text
    assert dock.pixel.line.text() == "Pixel size 0.5 µm (from biopsy.ome.tif)"
    assert not dock.pixel.forget_btn.isEnabled()

    # a file without a pixel size: in µm all the same, with a clear warning
    dialogs.open(files["nopx"])
    click.click("Open slide")
    assert dock.slide_combo.currentText() == "scan.tif"
    assert [dock.slide_combo.itemText(i) for i in range(dock.slide_combo.count())] == [
        "biopsy.ome.tif", "scan.tif"]
    scan = [viewer.layers["Channel 0"], viewer.layers["Channel 1"]]
    assert all(tuple(lay.scale) == (0.5, 0.5) for lay in scan)
    warning = dock.pixel.line.text()
    assert "⚠" in warning and "0.5 µm assumed" in warning and "scan.tif does not record" in warning
    assert "≈ 0.13 × 0.13 mm (if the pixel size is right)" in dock.info.text()
    inner = dock.body.parentWidget()  # nothing cut off in a narrow dock (1366 x 768: ~450 px)
    assert dock.width() < 450
    assert inner.minimumSizeHint().width() <= dock.width()
    assert _review.body.parentWidget().minimumSizeHint().width() <= dock.width()
    viewer.layers["DAPI"].visible = False  # show the scan only
    for name in NAMES[1:]:
        viewer.layers[name].visible = False
    viewer.window._qt_window.resize(1920, 1080)
    qtbot.wait(50)
    viewer.window._qt_window.resizeDocks([dock._dock()], [560], Qt.Orientation.Horizontal)
    qtbot.wait(100)
    viewer.reset_view()
    dock._dock().raise_()
    qtbot.wait(300)
    assert dock.isVisible()
    viewer.window._qt_window.grab().save(str(screenshot_path("slide_widget.png")))
    viewer.window._qt_window.resize(1100, 700)

    # derived layers are never offered as slides
    overlay = viewer.add_image(np.zeros((256, 256, 4), np.float32), rgb=True, name="QC state",
                               metadata={"dvp_role": "overlay"}, scale=(0.5, 0.5),
                               units=("um", "um"))
    assert dock.slide_combo.count() == 2
    cells = viewer.add_labels(np.zeros((256, 256), np.uint32), name="cells", scale=(0.5, 0.5),
                              units=("um", "um"))
    marks = viewer.add_points(np.array([[10.0, 20.0]]), name="marks", scale=(0.5, 0.5),
                              units=("um", "um"))

    # type the scanner's value + Enter: the slide and everything on it follow
    type_into(qtbot, dock.pixel.spin, "0.325")
    slide = current_slide(viewer)
    assert slide.name == "scan.tif" and slide.pixel.um == 0.325 and slide.pixel.source == "user"
    for layer in [*scan, cells, marks, overlay]:
        assert tuple(layer.scale) == pytest.approx((0.325, 0.325)), layer.name
    assert cells.metadata["pixel_size_source"] == "user"
    assert tuple(viewer.layers["DAPI"].scale) == (0.5, 0.5), "the other slide is left alone"
    assert dock.pixel.line.text() == "Pixel size 0.325 µm (set by you)"
    assert "= 0.08 × 0.08 mm" in dock.info.text()

    click.click("Forget my value")
    assert current_slide(viewer).pixel.source == "assumed"
    assert tuple(cells.scale) == (0.5, 0.5) and "⚠" in dock.pixel.line.text()
    assert not dock.pixel.forget_btn.isEnabled()

    dock.pixel.spin.setValue(0.4)  # arrows / wheel
    click.click("Set pixel size")
    assert current_slide(viewer).pixel_size_um == 0.4 and tuple(marks.scale) == (0.4, 0.4)

    # rename a channel: double-click its name, type, Enter
    table = dock.table
    rect = table.visualItemRect(table.item(1, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    editor = table.viewport().findChild(QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "CD8 (T cells)")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: scan[1].name != "Channel 1", timeout=2000)  # Qt commits queued
    assert scan[1].name == "CD8 (T cells)"
    assert current_slide(viewer).channels == ("Channel 0", "CD8 (T cells)")

    # colour: type the colour's first letters into its drop-down
    combo = table.cellWidget(0, 1)
    qtbot.keyClicks(combo, "red")
    assert scan[0].colormap.name == "red"

    # contrast of the selected channel
    table.setCurrentCell(1, 0)
    assert dock.channels.contrast_label.text() == "Contrast of CD8 (T cells)"
    dock.channels.contrast.setValue((200.0, 700.0))
    assert tuple(scan[1].contrast_limits) == pytest.approx((200.0, 700.0))

    # choose the other slide in the drop-down; clicking a layer shows its slide too
    qtbot.keyClick(dock.slide_combo, Qt.Key.Key_Up)
    assert current_slide(viewer).name == "biopsy.ome.tif" and table.rowCount() == 5
    viewer.layers.selection.active = scan[0]
    assert dock.slide_combo.currentText() == "scan.tif"
    viewer.layers["CD8"].name = "CD8 renamed in the layer list"
    viewer.layers.selection.active = viewer.layers["CD8 renamed in the layer list"]
    assert dock.slide_combo.currentText() == "biopsy.ome.tif"
    assert table.item(2, 0).text() == "CD8 renamed in the layer list"
    assert current_slide(viewer).channels[2] == "CD8 renamed in the layer list"

    # a brightfield H&E slide
    dialogs.open(files["he"])
    click.click("Open slide")
    assert "Brightfield colour (H&amp;E, IHC)" in dock.info.text() or \
        "Brightfield colour (H&E, IHC)" in dock.info.text()
    assert table.rowCount() == 1 and not table.cellWidget(0, 1).isEnabled()
    assert not dock.channels.contrast.isEnabled()
    assert current_slide(viewer).stain == "brightfield"

    # channels a project put back (they name their file in metadata["path"]): one slide
    for c in range(2):
        viewer.add_image(np.zeros((32, 32), np.uint16), name=f"restored {c}", units=("um", "um"),
                         scale=(0.5, 0.5), metadata={"path": "/data/restored.ome.tif",
                                                     "channel_index": c})
    assert dock.slide_combo.currentText() == "restored.ome.tif" and table.rowCount() == 2

    # a damaged file: one notification, nothing added
    n = len(viewer.layers)
    dialogs.open(files["broken"])
    click.click("Open slide", allow_error="not a TIFF file")
    assert errors and "not a TIFF file" in errors[-1]
    assert len(viewer.layers) == n
    dialogs.done()
    assert not errors.warnings, errors.warnings


def test_pixel_size_set_once_is_used_everywhere(make_napari_viewer, qtbot, clicker, dialogs,
                                                errors, sample, tmp_path, capsys):
    """The issue's check: a slide without a pixel size, set once in the Slide dock by typing;
    the Review, Segment and LMD docks, ``napari-dvp measure`` and ``export-lmd`` then use
    that value."""
    from napari_dvp._qt.lmd.regions import lmd_pixel_um
    from napari_dvp._qt.segmentation.widget import SegmentWidget
    from napari_dvp.core.errors import DvpInputError

    scan = tmp_path / "scan.tif"
    tifffile.imwrite(scan, sample.image, photometric="minisblack")
    viewer = make_napari_viewer(show=True)
    slide_dock, review = docked(viewer, qtbot)
    segment = SegmentWidget(viewer)
    viewer.window.add_dock_widget(segment, name="Segment", tabify=True)
    dialogs.open(scan)
    clicker(slide_dock, check_all=False).click("Open slide")
    # the cells, as Segment leaves them: on the slide's (assumed) scale
    cells = viewer.add_labels(sample.labels.copy(), name="cells", scale=(0.5, 0.5),
                              units=("um", "um"))
    review_clicks = clicker(review, check_all=False)
    counts = np.bincount(sample.labels.ravel())

    def areas():
        return cell_table_of(cells).set_index("cell_id")["area_um2"]

    assert "⚠" in review.picker.note.text() and "0.5 µm assumed" in review.picker.note.text()
    assert "pixel size 0.5 µm assumed" in segment.slide_line.text()
    with pytest.raises(DvpInputError, match="needs the true pixel size"):
        lmd_pixel_um(viewer)  # the LMD refuses an assumed value
    review._dock().raise_()
    review_clicks.click("Find suspicious cells",
                        wait_until=lambda: "area_um2" in cells.features.columns)
    cid = int(areas().index[0])
    assert areas()[cid] == pytest.approx(counts[cid] * 0.25)

    # set it once, in the Slide dock, by typing
    slide_dock._dock().raise_()
    qtbot.waitUntil(slide_dock.isVisible)
    type_into(qtbot, slide_dock.pixel.spin, "0.325")
    assert current_slide(viewer).pixel.source == "user"
    assert tuple(cells.scale) == pytest.approx((0.325, 0.325))
    assert "pixel size 0.325 µm (set by you)" in review.picker.note.text()
    assert "pixel size 0.325 µm (set by you)" in segment.slide_line.text()
    assert lmd_pixel_um(viewer) == pytest.approx(0.325)

    # Review measures again with it (the table was measured at the old value)
    review._dock().raise_()
    review_clicks.click("Find suspicious cells",
                        wait_until=lambda: areas()[cid] != pytest.approx(counts[cid] * 0.25))
    assert "measured at 0.5 µm per pixel, the slide is now at 0.325 µm" in review.status.text()
    assert areas()[cid] == pytest.approx(counts[cid] * 0.325 ** 2)

    # the cells saved through napari (File › Save Selected Layers) carry it to the CLI
    saved = tmp_path / "cells.ome.tif"
    assert cells.save(str(saved), plugin="napari-dvp") == [str(saved)]
    capsys.readouterr()
    out = tmp_path / "cells.csv"
    assert main(["measure", str(scan), str(saved), "--out", str(out)]) == 0
    assert "pixel size 0.325 µm (from cells.ome.tif)" in capsys.readouterr().out
    import pandas as pd

    cli = pd.read_csv(out).set_index("cell_id")["area_um2"]
    np.testing.assert_allclose(cli[areas().index].to_numpy(), areas().to_numpy(), rtol=1e-3)
    # export-lmd reads it from the same file, by the same rule
    import json

    sel = tmp_path / "selection.csv"
    sel.write_text(f"cell_id,sample\n{cid},S1\n")
    lmd = tmp_path / "lmd"
    assert main(["export-lmd", "--labels", str(saved), "--selection", str(sel),
                 "--calibration", "5,5;5,250;250,128", "--out", str(lmd)]) == 0
    assert json.loads((lmd / "lmd_export.json").read_text())["pixel_size_um"] == \
        pytest.approx(0.325)
    dialogs.done()
    assert not errors
