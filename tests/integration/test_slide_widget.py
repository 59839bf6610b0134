"""Slide widget: open a slide, rename a channel, fix the pixel size."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_dvp._qt.slide.widget import SlideWidget
from napari_dvp.core.slide import write_ome_tiff

NAMES = ["DAPI", "panCK", "CD8", "CD163", "pSTAT1"]


def _sample_image(size: int = 512) -> np.ndarray:
    """The synthetic TEN sample when available, else disks drawn with numpy."""
    try:
        from napari_dvp.core.synthetic import make_sample

        return make_sample(size=size, seed=0).image
    except ImportError:
        rng = np.random.default_rng(0)
        img = rng.integers(100, 400, (5, size, size)).astype(np.uint16)
        yy, xx = np.mgrid[:size, :size]
        for c in range(5):
            for r, q in rng.integers(20, size - 20, (40, 2)):
                img[c][(yy - r) ** 2 + (xx - q) ** 2 < 80] += 3000
        return img


@pytest.fixture
def slide(tmp_path):
    return write_ome_tiff(tmp_path / "biopsy.ome.tif", _sample_image(), NAMES, 0.5, tile=128)


def test_open_rename_colour_contrast(make_napari_viewer, qtbot, slide):
    viewer = make_napari_viewer()
    widget = SlideWidget(viewer)
    qtbot.addWidget(widget)
    added = widget.open_path(slide)
    assert [lay.name for lay in added] == NAMES
    assert widget.slide_combo.currentText() == "biopsy.ome.tif"
    assert widget.table.rowCount() == 5
    text = widget.info.text()
    assert "512 × 512 px" in text and "0.26 × 0.26 mm" in text and "Pyramid levels: 3" in text
    assert "0.5 µm" in text and "Fluorescence, 5 channel" in text

    widget.table.item(2, 0).setText("CD8 (T cells)")  # as if typed by the user
    assert viewer.layers[2].name == "CD8 (T cells)"
    assert widget.table.item(2, 0).text() == "CD8 (T cells)"

    widget.table.cellWidget(1, 1).setCurrentText("red")
    assert viewer.layers["panCK"].colormap.name == "red"

    widget.table.setCurrentCell(3, 0)
    assert widget.contrast_label.text() == "Contrast of CD163"
    widget.contrast.setValue((200.0, 900.0))
    assert tuple(viewer.layers["CD163"].contrast_limits) == pytest.approx((200.0, 900.0))


def test_pixel_size_applies_to_all_layers(make_napari_viewer, qtbot, tmp_path):
    img = np.random.default_rng(0).integers(0, 500, (2, 200, 300), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "nopx.tif", img, photometric="minisblack")
    other = write_ome_tiff(tmp_path / "other.ome.tif", img, ["a", "b"], 0.5, tile=64)
    viewer = make_napari_viewer()
    widget = SlideWidget(viewer)
    qtbot.addWidget(widget)
    widget.open_path(other)
    widget.open_path(tmp_path / "nopx.tif")
    assert "Pixel size unknown" in widget.info.text()
    labels = viewer.add_labels(np.zeros((200, 300), np.uint32), name="cells")
    points = viewer.add_points(np.array([[10.0, 20.0]]), name="marks")
    assert widget.slide_combo.currentText() == "nopx.tif"

    widget.pixel.setValue(0.325)
    widget.apply_btn.click()
    for layer in [viewer.layers["Channel 0"], viewer.layers["Channel 1"], labels, points]:
        assert tuple(layer.scale) == pytest.approx((0.325, 0.325)), layer.name
        assert layer.metadata["pixel_size_um"] == 0.325
    assert tuple(viewer.layers["a"].scale) == (0.5, 0.5), "another slide is left alone"
    assert "0.325 µm" in widget.info.text() and "Pixel size unknown" not in widget.info.text()


def test_open_error_is_a_notification(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    from qtpy.QtWidgets import QFileDialog

    shown = []
    monkeypatch.setattr("napari_dvp._qt._common.show_error", shown.append)
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"garbage" * 50)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    viewer = make_napari_viewer()
    widget = SlideWidget(viewer)
    qtbot.addWidget(widget)
    widget.open_btn.click()
    assert shown and "not a TIFF file" in shown[0]
    assert len(viewer.layers) == 0


def test_screenshot_docked(make_napari_viewer, qtbot, slide, screenshot_path):
    viewer = make_napari_viewer(show=True)
    widget = SlideWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Slide", area="right")
    widget.open_path(slide)
    viewer.window._qt_window.resize(1400, 850)
    qtbot.wait(300)
    image = viewer.window._qt_window.grab()
    assert image.width() > 0
    image.save(str(screenshot_path("slide_widget.png")))


def test_rgb_slide(make_napari_viewer, qtbot, tmp_path):
    import imageio.v3 as iio

    rgb = np.full((120, 160, 3), 230, np.uint8)
    rgb[30:90, 40:120] = (120, 40, 140)  # a purple (haematoxylin-like) blob
    iio.imwrite(tmp_path / "he.png", rgb)
    viewer = make_napari_viewer()
    widget = SlideWidget(viewer)
    qtbot.addWidget(widget)
    (layer,) = widget.open_path(tmp_path / "he.png")
    assert layer.rgb and widget.table.rowCount() == 1
    assert "Brightfield colour (H&amp;E)" in widget.info.text() or "H&E" in widget.info.text()
    assert "Pixel size unknown" in widget.info.text()
    assert not widget.table.cellWidget(0, 1).isEnabled()
    assert not widget.contrast.isEnabled()


def test_follows_the_active_layer(make_napari_viewer, qtbot, tmp_path):
    img = np.random.default_rng(0).integers(0, 500, (2, 64, 64), dtype=np.uint16)
    first = write_ome_tiff(tmp_path / "first.ome.tif", img, ["DAPI", "CD8"], 0.5, tile=32)
    second = write_ome_tiff(tmp_path / "second.ome.tif", img, ["DAPI", "CD163"], 0.5, tile=32)
    viewer = make_napari_viewer()
    widget = SlideWidget(viewer)
    qtbot.addWidget(widget)
    a = widget.open_path(first)
    widget.open_path(second)
    assert widget.slide_combo.currentText() == "second.ome.tif"
    a[1].name = "CD8 renamed in the layer list"
    viewer.layers.selection.active = a[1]
    assert widget.slide_combo.currentText() == "first.ome.tif"
    assert widget.table.item(1, 0).text() == "CD8 renamed in the layer list"
