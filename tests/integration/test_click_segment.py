"""Segment dock, clicked and typed as a user does (Xvfb, real napari, real files).

The issue-13 test: an H&E (brightfield immunohistochemistry, shipped inside
scikit-image) TIFF and a nuclei-only fluorescence TIFF, both without a pixel
size, opened with File › Open's reader and segmented with the defaults through
clicks. Every button of the dock is clicked in a state where it means something;
dialogs are answered; no error notification may appear. cellpose runs once
(slow) with a randomly initialised network chosen through the dock's
*Model file…* dialog.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from qtpy.QtCore import Qt

from napari_dvp._qt._common import cell_table_of
from napari_dvp._qt._forms import ParamsForm
from napari_dvp._qt._slide import current_slide
from napari_dvp._qt.segmentation.channels import ChannelPicker
from napari_dvp._qt.segmentation.model_picker import ModelPicker
from napari_dvp._qt.segmentation.widget import MODEL_KEY, SegmentWidget
from napari_dvp.core.cells.table import PROVENANCE
from napari_dvp.core.segmentation.metrics import match_labels
from napari_dvp.core.segmentation.params import BuiltinParams
from napari_dvp.core.segmentation.report import NUCLEI_ONLY
from napari_dvp.core.slide.model import Slide
from unit.test_segmentation_realistic import fluorescence_nuclei

pytestmark = pytest.mark.gui


# ---------------------------------------------------------------------- files and helpers
@pytest.fixture
def he_tiff(tmp_path):
    """skimage's immunohistochemistry image (512², hematoxylin + DAB), no pixel size."""
    from skimage.data import immunohistochemistry

    path = tmp_path / "ihc.tif"
    tifffile.imwrite(path, immunohistochemistry(), photometric="rgb")
    return path


@pytest.fixture
def nuclei_tiff(tmp_path):
    """A nuclei-only fluorescence TIFF (no channel name, no pixel size) and its true nuclei."""
    image, truth = fluorescence_nuclei(size=768, radius=9.0, spacing=24, seed=3)
    path = tmp_path / "nuclei.tif"
    tifffile.imwrite(path, image)
    return path, truth


def open_file(viewer, path):
    viewer.open(str(path), plugin="napari-dvp")


def make_dock(viewer) -> SegmentWidget:
    dock = SegmentWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Segment")
    return dock


def choose(qtbot, combo, text: str) -> None:
    """Pick the entry starting with ``text`` in a drop-down by typing, as a user does."""
    combo.setFocus()
    qtbot.keyClicks(combo, text)
    assert combo.currentText().startswith(text), (combo.currentText(), text)


def type_number(qtbot, spin, text: str) -> None:
    """Type a value into a spin box and press Enter."""
    edit = spin.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def items(combo) -> list[str]:
    return [combo.itemData(i) for i in range(combo.count())]


def done(dock):
    return lambda: not dock.runner.running


def diameters_px(layer) -> np.ndarray:
    labels = np.asarray(layer.data)
    area = np.bincount(labels.ravel())[1:]
    return np.sqrt(4 * area[area > 0] / np.pi)


# ---------------------------------------------------------------------- the whole dock
@pytest.mark.slow
def test_every_button_he_and_nuclei_only_tiffs_with_defaults(
        make_napari_viewer, qtbot, clicker, dialogs, errors, he_tiff, nuclei_tiff, tmp_path,
        monkeypatch):
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(tmp_path / "no_models"))
    viewer = make_napari_viewer()
    open_file(viewer, he_tiff)
    dock = make_dock(viewer)
    click = clicker(dock)
    slide = current_slide(viewer)
    assert slide.is_rgb and slide.pixel.source == "assumed"
    assert "ihc.tif" in dock.slide_line.text() and "assumed" in dock.slide_line.text()
    # H&E: hematoxylin / RGB / eosin, the built-in method reads hematoxylin (RGB is cellpose's)
    nuclear = dock.channels.nuclear
    assert items(nuclear) == ["hematoxylin", "RGB", "eosin"]
    assert nuclear.currentData() == "hematoxylin"
    assert not nuclear.model().item(items(nuclear).index("RGB")).isEnabled()
    assert dock.channels.cyto.currentData() == "none"
    assert NUCLEI_ONLY in dock.method.note.text() and dock.method.note.isVisibleTo(dock)
    assert not dock.size.use_btn.isVisibleTo(dock)

    # the nucleus size, measured before any run, and the pixel size it suggests
    click.click("Measure nucleus size", wait_until=done(dock))
    assert "nucleus diameter estimated from the image" in dock.size.line.text()
    assert dock.size.use_btn.isVisibleTo(dock)
    offered = dock.size.offered
    assert 0.3 < offered < 1.5

    # Run with the defaults: nuclei, measured, recorded as the slide's cells
    click.click("Run", wait_until=done(dock))
    cells = viewer.layers["cells"]
    assert slide.cells == "cells"
    n = int(np.asarray(cells.data).max())
    assert n > 300, n
    d = diameters_px(cells)
    assert 7 < np.median(d) < 20, np.median(d)  # the image's nuclei are 8-16 px across
    table = cell_table_of(cells)
    assert len(table) == n and {"area_um2", "mean_hematoxylin", "mean_eosin"} <= set(table)
    assert table.attrs[PROVENANCE]["area_um2"] == "segment"
    assert tuple(cells.scale) == tuple(viewer.layers["ihc"].scale)
    assert f"Found {n:,} nuclei (from hematoxylin)" in dock.status.text()
    assert "estimated from the image" in dock.size.line.text()

    # the pixel size the nuclei suggest goes to the slide only when asked
    assert slide.estimated_um is None
    click.click(f"Use {offered:g} µm as pixel size")
    assert slide.pixel.source == "estimated" and slide.pixel.um == offered
    assert "estimated from the size of the nuclei" in dock.slide_line.text()
    assert not dock.size.use_btn.isVisibleTo(dock)

    # a nuclei-only TIFF without pixel size: nuclei by default, expansion offered
    path, truth = nuclei_tiff
    open_file(viewer, path)
    assert current_slide(viewer).name == "nuclei.tif"
    assert items(dock.channels.nuclear) == ["Channel 0"]
    assert dock.channels.cyto.currentData() == "none"
    assert NUCLEI_ONLY in dock.method.note.text()
    click.click("Run", wait_until=done(dock))
    nuclei = viewer.layers["cells [1]"]
    assert current_slide(viewer).cells == "cells [1]"
    m = match_labels(np.asarray(nuclei.data), truth)
    assert m.f1 > 0.85, m
    assert "nuclei (from Channel 0)" in dock.status.text()
    # a cell expansion grows cells instead (typed, then back to automatic)
    expansion = dock.method.builtin.max_expansion_um.native
    type_number(qtbot, expansion, "3")
    assert not dock.method.note.isVisibleTo(dock)
    assert dock.method.params().max_expansion_um == 3.0
    qtbot.keyClick(expansion, Qt.Key.Key_PageDown)  # below 0: "automatic" again
    assert expansion.text() == "automatic" and dock.method.params().max_expansion_um is None

    # Cancel during a run: small tiles make many steps; nothing is added
    tile = dock.run_form.tile_size.native
    type_number(qtbot, tile, "128")
    before = [lay.name for lay in viewer.layers]
    click.click("Run", wait_until=lambda: "Segmenting: tile" in dock.status.text()
                or not dock.runner.running)
    assert dock.runner.running, "the run ended before Cancel could be pressed"
    assert dock.status.text().endswith("of 36")
    click.click("Cancel", wait_until=done(dock))
    assert [lay.name for lay in viewer.layers] == before
    assert dock.status.text().startswith("Cancelled")
    assert dock.run_btn.isEnabled() and not dock.cancel_btn.isEnabled()

    # cellpose offline: what to do is said; a local model file is chosen and remembered
    choose(qtbot, dock.method.combo, "cellpose")
    assert "not on this computer yet" in dock.method.model.note.text()
    assert "Without internet" in dock.method.model.note.text()
    assert not dock.size.isVisibleTo(dock)
    click.click(dock.method.cellpose.gpu.native)
    assert dock.method.params().gpu is False
    model = tmp_path / "my_model.pth"
    model.write_bytes(b"weights")
    dialogs.open(model)
    click.click("Model file…")
    assert dock.method.model.model() == str(model)
    assert current_slide(viewer).meta[MODEL_KEY] == str(model)
    assert f"model file: {model}" in dock.method.model.note.text()
    dialogs.done()
    assert not errors.warnings, errors.warnings


# ---------------------------------------------------------------------- regions, no slide
@pytest.mark.slow
def test_region_choices_limit_the_cells(make_napari_viewer, qtbot, clicker):
    from unit.test_segmentation_builtin import grid_of_cells

    viewer = make_napari_viewer()
    image, _truth = grid_of_cells(384, seed=0)
    for name, plane in zip(("DAPI", "panCK"), image, strict=True):
        viewer.add_image(plane, name=name, scale=(0.5, 0.5), blending="additive",
                         metadata={"slide": "grid", "pixel_size_um": 0.5})
    dock = make_dock(viewer)
    click = clicker(dock, check_all=False)
    assert (dock.channels.nuclear.currentData(), dock.channels.cyto.currentData()) == (
        "DAPI", "panCK")
    assert "pixel size 0.5 µm (from grid)" in dock.slide_line.text()
    assert not dock.method.note.isVisibleTo(dock)  # a cytoplasm channel: cells are grown
    # inside a triangle drawn in world µm (the image has 0.5 µm pixels)
    shapes = viewer.add_shapes([np.array([[50, 50], [50, 150], [150, 50]])],
                               shape_type="polygon", name="region")
    shapes.selected_data = {0}
    choose(qtbot, dock.region.combo, "Selected shape")
    click.click("Run", wait_until=done(dock))
    labels = np.asarray(viewer.layers["cells"].data)
    rows, cols = np.nonzero(labels)
    assert 5 < labels.max() < 100
    assert rows.min() >= 100 - 15 and cols.min() >= 100 - 15
    assert (rows + cols).max() <= 400 + 30  # below the hypotenuse (+ a cell's size)
    # the visible area only
    viewer.layers.remove("region")
    viewer.scene.camera.center = (0, 50, 50)  # world µm: pixel (100, 100)
    viewer.scene.camera.zoom = viewer.scene.camera.zoom * 4
    choose(qtbot, dock.region.combo, "Visible area")
    click.click("Run", wait_until=done(dock))
    labels = np.asarray(viewer.layers["cells [1]"].data)
    rows, cols = np.nonzero(labels)
    assert 3 < labels.max() < 100
    assert rows.min() > 10 and rows.max() < 250 and cols.max() < 250


def test_without_a_slide_the_dock_says_so_and_follows_a_new_one(make_napari_viewer, qtbot,
                                                                 clicker, errors):
    viewer = make_napari_viewer()
    dock = make_dock(viewer)
    click = clicker(dock, check_all=False)
    assert "No slide open" in dock.slide_line.text()
    assert dock.channels.nuclear.count() == 0
    click.click("Run", allow_error="no slide is open")
    assert errors and "no slide is open" in errors[-1]
    meta = {"slide": "two channels"}
    viewer.add_image(np.zeros((64, 64), np.uint16), name="CD8", metadata=meta)
    viewer.add_image(np.zeros((64, 64), np.uint16), name="Hoechst", metadata=meta)
    viewer.add_image(np.zeros((64, 64), np.uint16), name="panCK", metadata=meta)
    assert dock.channels.nuclear.currentData() == "Hoechst"
    assert dock.channels.cyto.currentData() == "panCK"
    assert items(dock.channels.cyto) == ["none", "all", "CD8", "Hoechst", "panCK"]
    # a choice made by hand survives a new layer of the slide
    choose(qtbot, dock.channels.cyto, "all")
    viewer.add_image(np.zeros((64, 64), np.uint16), name="CD163", metadata=meta)
    assert dock.channels.cyto.currentData() == "all"


# ---------------------------------------------------------------------- parts alone
def test_channel_picker_follows_the_method(qtbot):
    picker = ChannelPicker()
    qtbot.addWidget(picker)
    he = Slide("he.tif", "he.tif", (64, 64), ("red", "green", "blue"), stain="brightfield")
    picker.show_slide(he, "cellpose")
    assert picker.nuclear.currentData() == "RGB" and not picker.cyto.isEnabled()
    assert not picker.nuclei_only()
    picker.show_slide(he, "builtin")
    assert picker.nuclear.currentData() == "hematoxylin" and picker.cyto.isEnabled()
    assert picker.nuclei_only()
    picker.show_slide(None, "builtin")
    assert picker.nuclear.count() == 0 and picker.nuclear_choice() is None


def test_optional_numbers_read_automatic(qtbot):
    form = ParamsForm(BuiltinParams)
    qtbot.addWidget(form.native)
    spin = form.nucleus_diameter_um.native
    assert spin.text() == "automatic" and form.params().nucleus_diameter_um is None
    type_number(qtbot, spin, "7.5")
    assert form.params().nucleus_diameter_um == 7.5
    form.set_values({"nucleus_diameter_um": None})
    assert spin.text() == "automatic" and form.values()["nucleus_diameter_um"] is None
    assert [w.name for w in form] == ["nucleus_diameter_um", "max_expansion_um"]


def test_model_picker_offers_a_remembered_file_once(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(tmp_path))
    remembered: list[str] = []
    picker = ModelPicker(remembered.append)
    qtbot.addWidget(picker)
    assert picker.model() == "cpsam" and "not on this computer yet" in picker.note.text()
    (tmp_path / "cpsam").write_bytes(b"x")  # weights copied into cellpose's folder
    picker.explain()
    assert f"weights found: {tmp_path / 'cpsam'}" in picker.note.text()
    picker.offer(str(tmp_path / "gone.pth"))
    picker.offer(str(tmp_path / "gone.pth"))
    assert picker.combo.count() == 3 and "does not exist" in picker.note.text()
    assert remembered == []  # only a file the user chooses is remembered


# ---------------------------------------------------------------------- cellpose, for real
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")  # torch, from cellpose
def test_cellpose_with_a_local_model_file_on_he(make_napari_viewer, qtbot, clicker, dialogs,
                                               random_cpsam_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(tmp_path / "no_models"))
    from skimage.data import immunohistochemistry

    path = tmp_path / "he_crop.tif"
    tifffile.imwrite(path, immunohistochemistry()[:256, :256], photometric="rgb")
    viewer = make_napari_viewer()
    open_file(viewer, path)
    dock = make_dock(viewer)
    click = clicker(dock, check_all=False)
    choose(qtbot, dock.method.combo, "cellpose")
    assert dock.channels.nuclear.currentData() == "RGB"  # cellpose gets the colour image
    click.click(dock.method.cellpose.gpu.native)
    dialogs.open(random_cpsam_file)
    click.click("Model file…")
    type_number(qtbot, dock.method.cellpose.diameter_um.native, "15")
    click.click("Run", wait_until=done(dock), timeout=400_000)
    cells = viewer.layers["cells"]  # a random network: any number of cells, the real code path
    meta = cells.metadata["segmentation"]
    assert meta["method"] == "cellpose" and meta["channels"] == ["RGB"]
    assert meta["model"] == str(random_cpsam_file)
    assert "cells" in dock.status.text() or "nuclei" in dock.status.text()
    # the file is kept with the slide and offered again by a dock opened later (reopen)
    assert current_slide(viewer).meta[MODEL_KEY] == str(random_cpsam_file)
    again = SegmentWidget(viewer)
    qtbot.addWidget(again)
    assert again.method.model.model() == str(random_cpsam_file)
    dialogs.done()


# ---------------------------------------------------------------------- screenshots
@pytest.mark.slow
def test_screenshots_he_and_fluorescence_in_the_workspace(make_napari_viewer, qtbot, he_tiff,
                                                          screenshot_path, monkeypatch):
    """The Segment tab at 1920×1080 beside the other steps: H&E, cellpose offline, fluorescence.

    ``NAPARI_DVP_SCREENSHOTS=1`` saves them into docs/images (cellpose's own model folder,
    ``~/.cellpose/models``, is shown as it is on this machine: without weights).
    """
    from napari_dvp._sample_data import sample_layer_data
    from napari_dvp.core.synthetic import make_sample

    monkeypatch.delenv("CELLPOSE_LOCAL_MODELS_PATH", raising=False)
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1920, 1080)
    open_file(viewer, he_tiff)
    for name in ("Slide", "Segment cells", "Review segmentation", "Regions"):
        viewer.window.add_plugin_dock_widget("napari-dvp", name)
        qtbot.wait(50)
    dock = next(w for w in window.findChildren(SegmentWidget))
    dock._dock().raise_()
    qtbot.mouseClick(dock.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(done(dock), timeout=120_000)
    assert dock.width() <= 1920 // 3 and "cells" in viewer.layers

    def shot(name: str) -> None:
        dock._dock().raise_()
        qtbot.wait(300)
        assert dock.isVisible()
        for label in (dock.size.line, dock.method.model.note, dock.status):  # nothing cut off
            if label.isVisible():
                assert label.height() >= label.heightForWidth(label.width()), label.text()
        if dock.size.isVisible():  # the buttons below the size lines do not cover them
            assert dock.size.measure_btn.y() >= dock.size.line.geometry().bottom()
        window.grab().save(str(screenshot_path(name)))

    viewer.reset_view()
    shot("segment_he.png")
    choose(qtbot, dock.method.combo, "cellpose")
    shot("segment_cellpose_offline.png")
    choose(qtbot, dock.method.combo, "Built-in")

    viewer.layers.clear()
    for data, kwargs, _kind in sample_layer_data(make_sample(1024, seed=0), with_truth=False):
        viewer.add_image(data, **kwargs)
    assert dock.channels.cyto.currentData() == "panCK"
    qtbot.mouseClick(dock.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(done(dock), timeout=120_000)
    assert "cells" in viewer.layers and "cells" in dock.status.text()
    viewer.reset_view()
    viewer.scene.camera.zoom = viewer.scene.camera.zoom * 2.5
    viewer.scene.camera.center = (0, 150, 250)
    shot("segment_fluorescence.png")
