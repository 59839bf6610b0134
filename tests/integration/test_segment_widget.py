"""Segment widget in a real napari viewer (Xvfb): run, cancel, region, offline cellpose."""

from __future__ import annotations

import numpy as np
import pytest

from napari_dvp._qt.segmentation.widget import OFFLINE, SegmentWidget
from napari_dvp.core.segmentation.metrics import match_labels


def grid_of_cells(size: int, spacing: int = 26, seed: int = 0):
    """Nuclei (radius 7) inside cells (radius 11) on a jittered grid, with noise."""
    from skimage.draw import disk

    rng = np.random.default_rng(seed)
    truth = np.zeros((size, size), np.uint32)
    nuc = np.zeros((size, size), np.float32)
    cyto = np.zeros((size, size), np.float32)
    centres = np.arange(12, size - 12, spacing)
    for k, (r, c) in enumerate(np.array(np.meshgrid(centres, centres)).reshape(2, -1).T, 1):
        rr, cc = r + rng.integers(-3, 4), c + rng.integers(-3, 4)
        y, x = disk((rr, cc), 11, shape=truth.shape)
        truth[y, x], cyto[y, x] = k, 1
        nuc[disk((rr, cc), 7, shape=truth.shape)] = 1
    image = np.stack([nuc * 1000 + rng.normal(100, 20, nuc.shape),
                      cyto * 600 + rng.normal(100, 20, nuc.shape)]).astype(np.float32)
    return image, truth

pytestmark = pytest.mark.gui


def add_image(viewer, size=384, seed=0, scale=(0.5, 0.5)):
    image, truth = grid_of_cells(size, seed=seed)
    for name, data in zip(("DAPI", "panCK"), image, strict=True):
        viewer.add_image(data, name=name, scale=scale, blending="additive",
                         metadata={"pixel_size_um": scale[0]})
    return truth


def make(make_napari_viewer, qtbot, **kw):
    viewer = make_napari_viewer()
    truth = add_image(viewer, **kw)
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Segment cells")
    return viewer, widget, truth


def wait_done(qtbot, widget, timeout=60_000):
    qtbot.waitUntil(lambda: widget.worker is not None and not widget.worker.is_running
                    and widget.run_btn.isEnabled(), timeout=timeout)


def test_run_adds_cells_layer_with_table(make_napari_viewer, qtbot):
    viewer, widget, truth = make(make_napari_viewer, qtbot)
    assert widget.nuclear.currentText() == "DAPI" and widget.cyto.currentText() == "panCK"
    assert widget.pixel.value() == 0.5
    widget.nuc_diam.setValue(7), widget.expand.setValue(3), widget.tile.setValue(128)
    widget.run_btn.click()
    wait_done(qtbot, widget)
    cells = viewer.layers["cells"]
    assert tuple(cells.scale) == (0.5, 0.5)
    assert match_labels(np.asarray(cells.data), truth).f1 > 0.95
    assert widget.progress.value() == widget.progress.maximum() == 9
    table = cells.features
    if "cell_id" in table.columns:  # measurements available (core.measure)
        assert len(table) == cells.data.max()
        assert {"area_um2", "mean_DAPI", "mean_panCK"} <= set(table.columns)
    assert "Found" in widget.status.text()


def test_cancel_leaves_viewer_unchanged(make_napari_viewer, qtbot):
    viewer, widget, _ = make(make_napari_viewer, qtbot, size=1536)
    before = [lay.name for lay in viewer.layers]
    widget.tile.setValue(128)  # 144 tiles: far from done when Cancel is pressed
    widget.run_btn.click()
    qtbot.waitUntil(lambda: widget.progress.value() >= 2, timeout=30_000)
    widget.cancel_btn.click()
    wait_done(qtbot, widget, timeout=10_000)
    assert widget.progress.value() < 144
    assert [lay.name for lay in viewer.layers] == before
    assert "Cancelled" in widget.status.text()


def test_selected_shape_limits_cells(make_napari_viewer, qtbot):
    viewer, widget, _ = make(make_napari_viewer, qtbot)
    # a triangle in world coordinates (µm; the image has 0.5 µm pixels)
    shapes = viewer.add_shapes([np.array([[50, 50], [50, 150], [150, 50]])],
                               shape_type="polygon", name="region")
    shapes.selected_data = {0}
    widget.region.setCurrentText("Selected shape")
    widget.nuc_diam.setValue(7), widget.expand.setValue(3), widget.tile.setValue(128)
    widget.run_btn.click()
    wait_done(qtbot, widget)
    labels = np.asarray(viewer.layers["cells"].data)
    rows, cols = np.nonzero(labels)
    assert 5 < labels.max() < 100
    assert rows.min() >= 100 - 15 and cols.min() >= 100 - 15
    assert (rows + cols).max() <= 400 + 30  # below the hypotenuse (+ a cell's size)


def test_cellpose_offline_is_explained(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(tmp_path))
    viewer, widget, _ = make(make_napari_viewer, qtbot)
    widget.backend.setCurrentIndex(1)
    assert widget.status.text() == OFFLINE
    assert not widget.model.isHidden() and widget.nuc_diam.isHidden()
    from napari_dvp.core.segmentation import cellpose_backend

    monkeypatch.setattr(cellpose_backend, "is_online", lambda *a, **k: False)  # mock: offline
    n_layers = len(viewer.layers)
    widget.run_btn.click()
    assert len(viewer.layers) == n_layers and widget.worker is None


def test_visible_area_limits_cells(make_napari_viewer, qtbot):
    viewer, widget, _ = make(make_napari_viewer, qtbot)
    viewer.scene.camera.center = (0, 50, 50)  # world µm: pixel (100, 100)
    viewer.scene.camera.zoom = viewer.scene.camera.zoom * 4
    qtbot.wait(200)
    widget.region.setCurrentText("Visible area")
    r0, r1, c0, c1 = widget._region(viewer.layers["DAPI"], (384, 384))[0]
    assert 0 <= r0 < 100 < r1 < 384 and 0 <= c0 < 100 < c1 < 384
    widget.nuc_diam.setValue(7), widget.expand.setValue(3), widget.tile.setValue(128)
    widget.run_btn.click()
    wait_done(qtbot, widget)
    labels = np.asarray(viewer.layers["cells"].data)
    rows, cols = np.nonzero(labels)
    assert labels.max() > 3
    assert rows.max() < r1 + 15 and cols.max() < c1 + 15


@pytest.mark.slow
def test_run_on_a_local_dask_cluster(make_napari_viewer, qtbot):
    viewer, widget, truth = make(make_napari_viewer, qtbot, size=256)
    widget.nuc_diam.setValue(7), widget.expand.setValue(3), widget.tile.setValue(128)
    widget.workers.setValue(1)
    widget.run_btn.click()
    wait_done(qtbot, widget, timeout=120_000)
    assert match_labels(np.asarray(viewer.layers["cells"].data), truth).f1 > 0.95
    assert widget.progress.value() == widget.progress.maximum() == 4


def test_channels_are_guessed_when_the_slide_arrives_after_the_widget(make_napari_viewer):
    from napari_dvp._qt.segmentation.widget import NONE, SegmentWidget

    viewer = make_napari_viewer()
    widget = SegmentWidget(viewer)
    assert widget.cyto.currentText() == NONE
    viewer.add_image(np.zeros((64, 64), np.uint16), name="DAPI")
    viewer.add_image(np.zeros((64, 64), np.uint16), name="panCK")
    assert widget.nuclear.currentText() == "DAPI"
    assert widget.cyto.currentText() == "panCK"
    # a choice made by hand survives new layers
    widget.cyto.setCurrentText(NONE)
    widget.cyto.setProperty("chosen", NONE)
    viewer.add_image(np.zeros((64, 64), np.uint16), name="CD8")
    assert widget.cyto.currentText() == NONE
