"""The npe2 reader and labels writer inside a real napari viewer."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile

from napari_dvp._reader import get_reader, read_image
from napari_dvp._writer import write_labels_layer
from napari_dvp.core.slide import open_labels, write_ome_tiff

NAMES = ["DAPI", "panCK", "CD8", "CD163", "pSTAT1"]


@pytest.fixture
def slide(tmp_path):
    img = np.random.default_rng(0).integers(0, 3000, (5, 260, 300), dtype=np.uint16)
    return write_ome_tiff(tmp_path / "slide.ome.tif", img, NAMES, 0.5, tile=64), img


def test_reader_adds_one_lazy_multiscale_layer_per_channel(make_napari_viewer, slide):
    path, img = slide
    reader = get_reader(str(path))
    assert callable(reader)
    viewer = make_napari_viewer()
    for data, kwargs, kind in reader(str(path)):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    assert [lay.name for lay in viewer.layers] == NAMES
    for layer in viewer.layers:
        assert layer.multiscale and len(layer.data) == 4
        assert isinstance(layer.data[0], da.Array), "must stay lazy"
        assert tuple(layer.scale) == (0.5, 0.5)
        assert layer.blending == "additive"
        assert layer.metadata["pixel_size_um"] == 0.5
    assert viewer.layers["DAPI"].colormap.name == "blue"
    assert viewer.layers["CD8"].colormap.name == "magenta"
    np.testing.assert_array_equal(np.asarray(viewer.layers["CD163"].data[0]), img[3])


def _reader_registered() -> bool:
    import npe2

    pm = npe2.PluginManager.instance()
    try:
        manifest = pm.get_manifest("napari-dvp")
    except KeyError:
        return False
    return any(r.command == "napari-dvp.read_image" for r in manifest.contributions.readers or [])


def test_viewer_open_uses_plugin(make_napari_viewer, slide):
    viewer = make_napari_viewer()
    assert _reader_registered(), "napari.yaml must register napari-dvp.read_image"
    path, _ = slide
    viewer.open(str(path), plugin="napari-dvp")
    assert [lay.name for lay in viewer.layers] == NAMES


def test_reader_declines_other_files(tmp_path):
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.txt").write_text("hello")
    assert get_reader(str(tmp_path / "table.csv")) is None
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert read_image(str(tmp_path / "notes.txt")) == []


def test_reader_declines_junk_with_a_notification(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("napari_dvp._reader._warn", shown.append)
    (tmp_path / "junk.tif").write_bytes(b"not an image at all" * 20)
    assert get_reader(str(tmp_path / "junk.tif")) is None
    assert shown and "not a TIFF file" in shown[0]


def test_reader_notifies_through_napari(tmp_path, make_napari_viewer):
    from napari.utils.notifications import notification_manager

    make_napari_viewer()
    path = tmp_path / "cut.ome.tif"
    write_ome_tiff(path, np.ones((2, 200, 200), np.uint16), tile=64)
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
    before = len(notification_manager.records)
    assert get_reader(str(path)) is None
    messages = [str(r.message) for r in notification_manager.records[before:]]
    assert any("damaged or truncated" in m for m in messages)


def test_rgb_reader(tmp_path, make_napari_viewer):
    rgb = np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "he.tif", rgb, photometric="rgb")
    layers = read_image(str(tmp_path / "he.tif"))
    assert len(layers) == 1
    viewer = make_napari_viewer()
    data, kwargs, _ = layers[0]
    layer = viewer.add_image(data, **kwargs)
    assert layer.rgb and layer.name == "he"


def test_labels_writer_round_trip(tmp_path, make_napari_viewer):
    viewer = make_napari_viewer()
    lab = np.zeros((128, 96), np.uint32)
    lab[10:40, 20:50] = 7
    lab[60:100, 30:90] = 123456
    layer = viewer.add_labels(lab, scale=(0.5, 0.5), name="cells")
    for name in ("cells.ome.tif", "cells.zarr"):
        target = str(tmp_path / name)
        written = write_labels_layer(target, layer.data, layer.as_layer_data_tuple()[1])
        assert written == [target]
        back, px = open_labels(target)
        np.testing.assert_array_equal(back.compute(), lab)
        assert px == 0.5


def test_layer_save_through_napari(tmp_path, make_napari_viewer):
    viewer = make_napari_viewer()
    assert _reader_registered(), "napari.yaml must register napari-dvp.read_image"
    lab = np.zeros((64, 80), np.uint16)
    lab[5:20, 5:30] = 3
    layer = viewer.add_labels(lab, name="cells", metadata={"pixel_size_um": 0.65})
    target = tmp_path / "cells.ome.tif"
    written = layer.save(str(target), plugin="napari-dvp")
    assert written == [str(target)]
    back, px = open_labels(target)
    np.testing.assert_array_equal(back.compute(), lab)
    assert px == pytest.approx(0.65)
