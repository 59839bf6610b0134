"""core.image_io: pyramidal OME-TIFF writing, lazy reading, bad input."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.slide import write_labels, write_ome_tiff
from napari_dvp.core.slide._pyramid import downsample, level_shapes, n_levels_for

NAMES = ["DAPI", "panCK", "CD8"]


def _image(shape=(3, 300, 410), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, shape, dtype=np.uint16)


def _labels(shape=(300, 410)) -> np.ndarray:
    lab = np.zeros(shape, np.uint32)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for i, (r, c) in enumerate([(50, 60), (150, 200), (250, 380), (120, 330)], start=1):
        lab[(yy - r) ** 2 + (xx - c) ** 2 < 30**2] = i * 1000
    return lab


# --------------------------------------------------------------------------- pyramid


def test_level_geometry():
    assert n_levels_for((300, 410), 64) == 4  # 300 -> 150 -> 75 -> 38
    assert n_levels_for((60, 60), 64) == 1
    assert level_shapes((301, 410), 3) == [(301, 410), (151, 205), (76, 103)]


def test_downsample_mean_and_nearest():
    a = np.array([[0, 2, 10], [4, 6, 10]], np.uint16)
    assert downsample(a).tolist() == [[3, 10]]
    lab = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.uint32)
    out = downsample(lab, labels=True)
    assert out.dtype == np.uint32 and out.tolist() == [[1, 3], [7, 9]]


# --------------------------------------------------------------------------- writing


def _read_levels(path):
    with tifffile.TiffFile(path) as tf:
        series = tf.series[0]
        return [lev.asarray() for lev in series.levels], series.axes, tf.ome_metadata


def test_write_ome_tiff_numpy_pyramid_and_metadata(tmp_path):
    img = _image()
    path = write_ome_tiff(tmp_path / "s.ome.tif", img, NAMES, pixel_size_um=0.5, tile=64)
    levels, axes, ome = _read_levels(path)
    assert axes == "CYX"
    assert [lev.shape for lev in levels] == [(3, 300, 410), (3, 150, 205), (3, 75, 103),
                                             (3, 38, 52)]
    np.testing.assert_array_equal(levels[0], img)
    np.testing.assert_array_equal(levels[1], downsample(img))
    for name in NAMES:
        assert f'Name="{name}"' in ome
    assert 'PhysicalSizeX="0.5"' in ome and 'PhysicalSizeXUnit="µm"' in ome
    with tifffile.TiffFile(path) as tf:
        page = tf.pages[0]
        assert page.is_tiled and page.tilewidth == 64
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
    assert not list(tmp_path.glob(".*")), "temporary files left behind"


def test_write_ome_tiff_dask_equals_numpy_and_computes_once(tmp_path):
    img = _image((2, 333, 257))
    calls = []

    def count(block):
        if block.size:  # dask probes the function with an empty block first
            calls.append(block.shape)
        return block

    lazy = da.from_array(img, chunks=(2, 100, 100)).map_blocks(count, dtype=img.dtype)
    n_chunks = lazy.npartitions
    progress = []
    write_ome_tiff(tmp_path / "lazy.ome.tif", lazy, ["a", "b"], 0.25, tile=64,
                   progress=lambda d, t: progress.append((d, t)))
    write_ome_tiff(tmp_path / "mem.ome.tif", img, ["a", "b"], 0.25, tile=64)
    assert len(calls) == n_chunks, "the dask source must be computed exactly once"
    lazy_levels, _, _ = _read_levels(tmp_path / "lazy.ome.tif")
    mem_levels, _, _ = _read_levels(tmp_path / "mem.ome.tif")
    assert len(lazy_levels) == len(mem_levels) == 4
    for a, b in zip(lazy_levels, mem_levels, strict=True):
        np.testing.assert_array_equal(a, b)
    assert progress[-1][0] == progress[-1][1]
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    assert not list(tmp_path.glob(".*")), "staging store left behind"


def test_write_ome_tiff_2d_and_n_levels(tmp_path):
    img = _image((200, 100))
    path = write_ome_tiff(tmp_path / "g.tif", img, tile=32, n_levels=2, compression=None)
    levels, axes, _ = _read_levels(path)
    assert axes == "YX" and len(levels) == 2
    np.testing.assert_array_equal(levels[0], img)


def test_write_labels_tiff_keeps_ids(tmp_path):
    lab = _labels().astype(np.int64)
    path = write_labels(tmp_path / "lab.ome.tif", da.from_array(lab, chunks=128),
                        pixel_size_um=0.5, tile=64)
    levels, axes, ome = _read_levels(path)
    assert axes == "YX" and levels[0].dtype == np.uint32
    np.testing.assert_array_equal(levels[0], lab)
    assert len(levels) >= 2
    assert set(np.unique(levels[1])) <= set(np.unique(lab))
    assert 'PhysicalSizeX="0.5"' in ome


def test_write_labels_zarr(tmp_path):
    lab = _labels()
    path = write_labels(tmp_path / "lab.zarr", lab, pixel_size_um=0.65)
    z = zarr.open_array(str(path), mode="r")
    np.testing.assert_array_equal(z[...], lab)
    assert z.attrs["pixel_size_um"] == 0.65
    # overwriting replaces atomically
    write_labels(path, da.from_array(lab[::-1], chunks=100), pixel_size_um=None)
    z = zarr.open_array(str(path), mode="r")
    np.testing.assert_array_equal(z[...], lab[::-1])
    assert z.attrs["pixel_size_um"] is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": np.zeros((2, 2, 8, 8), np.uint16)}, "must be"),
        ({"data": np.zeros((3, 8, 8), np.uint16), "channel_names": ["a"]}, "channel names"),
        ({"data": np.zeros((0, 8, 8), np.uint16)}, "0 channels"),
        ({"data": np.zeros((8, 8), np.complex64)}, "cannot write complex64"),
        ({"data": np.zeros((8, 8), np.uint16), "tile": 100}, "multiple of 16"),
        ({"data": np.zeros((8, 8), np.uint16), "pixel_size_um": -1.0}, "positive"),
        ({"data": np.zeros((8, 8), np.float32), "kind": "labels"}, "labels must be integers"),
        ({"data": np.full((8, 8), -3, np.int32), "kind": "labels"}, "between 0 and"),
    ],
)
def test_write_bad_input(tmp_path, kwargs, match):
    target = tmp_path / "bad.ome.tif"
    with pytest.raises(DvpInputError, match=match):
        write_ome_tiff(target, **kwargs)
    assert not target.exists() and not list(tmp_path.iterdir())


def test_write_bad_suffix(tmp_path):
    with pytest.raises(DvpInputError, match=r"\.ome\.tif"):
        write_ome_tiff(tmp_path / "x.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(DvpInputError, match=r"\.zarr"):
        write_labels(tmp_path / "x.npy", np.zeros((8, 8), np.uint8))


def test_failed_write_keeps_previous_file(tmp_path):
    target = tmp_path / "keep.ome.tif"
    write_ome_tiff(target, _image((1, 64, 64)), tile=32)
    before = target.read_bytes()

    def boom(block):
        raise RuntimeError("disk on fire")

    bad = da.zeros((1, 64, 64), dtype=np.uint16, chunks=32).map_blocks(boom, dtype=np.uint16)
    with pytest.raises(RuntimeError):
        write_ome_tiff(target, bad, tile=32)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.ome.tif"]


# --------------------------------------------------------------------------- reading

from napari_dvp.core.slide import open_image, open_labels  # noqa: E402
from napari_dvp.core.slide.layers import channel_colormap, layer_data  # noqa: E402


def _assert_lazy(image):
    assert all(isinstance(lev, da.Array) for lev in image.levels)


def test_open_pyramidal_ome_tiff(tmp_path):
    img = _image()
    path = write_ome_tiff(tmp_path / "s.ome.tif", img, NAMES, pixel_size_um=0.5, tile=64)
    with open_image(path) as im:
        _assert_lazy(im)
        assert im.channel_names == NAMES and im.pixel_size_um == 0.5 and not im.is_rgb
        assert im.shape == (300, 410) and im.n_channels == 3 and im.dtype == np.uint16
        assert im.level_shapes == [(300, 410), (150, 205), (75, 103), (38, 52)]
        assert im.levels[0].chunksize == (1, 64, 64)
        np.testing.assert_array_equal(im.channel("panCK").compute(), img[1])
        np.testing.assert_array_equal(im.channel(2).compute(), img[2])
        np.testing.assert_array_equal(im.levels[1].compute(), downsample(img))
        with pytest.raises(DvpInputError, match="no channel named"):
            im.channel("CD4")


def test_open_non_pyramidal_ome_tiff(tmp_path):
    img = _image((2, 90, 70))
    path = tmp_path / "flat.ome.tif"
    tifffile.imwrite(path, img, ome=True, metadata={
        "axes": "CYX", "Channel": {"Name": ["DAPI", "CD8"]},
        "PhysicalSizeX": 650.0, "PhysicalSizeXUnit": "nm"})
    with open_image(path) as im:
        _assert_lazy(im)
        assert len(im.levels) == 1 and im.channel_names == ["DAPI", "CD8"]
        assert im.pixel_size_um == pytest.approx(0.65)
        np.testing.assert_array_equal(im.data.compute(), img)


def test_open_plain_grey_tiff_with_resolution(tmp_path):
    img = _image((80, 60))
    path = tmp_path / "grey.tif"
    tifffile.imwrite(path, img, resolution=(1e4 / 0.25, 1e4 / 0.25), resolutionunit="CENTIMETER")
    with open_image(path) as im:
        assert im.levels[0].shape == (1, 80, 60) and im.channel_names == ["Channel 0"]
        assert im.pixel_size_um == pytest.approx(0.25)
        np.testing.assert_array_equal(im.channel(0).compute(), img)


def test_open_plain_tiff_without_resolution_and_cyx(tmp_path):
    img = _image((4, 50, 40))
    tifffile.imwrite(tmp_path / "cyx.tif", img, photometric="minisblack")
    with open_image(tmp_path / "cyx.tif") as im:
        assert im.n_channels == 4 and im.pixel_size_um is None
        np.testing.assert_array_equal(im.data.compute(), img)


def test_open_channels_last_tiff(tmp_path):
    img = _image((60, 50, 2))
    tifffile.imwrite(tmp_path / "yxc.tif", img)
    with open_image(tmp_path / "yxc.tif") as im:
        assert im.shape == (60, 50) and im.n_channels == 2 and not im.is_rgb
        np.testing.assert_array_equal(im.data.compute(), np.moveaxis(img, -1, 0))


def test_open_rgb_tiff(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "he.tif", rgb, photometric="rgb", tile=(32, 32))
    with open_image(tmp_path / "he.tif") as im:
        _assert_lazy(im)
        assert im.is_rgb and im.shape == (64, 80) and im.channel_names == ["red", "green", "blue"]
        np.testing.assert_array_equal(im.data.compute(), rgb)
        np.testing.assert_array_equal(im.channel("green").compute(), rgb[..., 1])


def test_open_imagej_hyperstack(tmp_path):
    img = _image((1, 1, 3, 40, 30))  # T Z C Y X with singleton T and Z
    path = tmp_path / "ij.tif"
    tifffile.imwrite(path, img, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "TZCYX", "unit": "um", "Labels": ["DAPI", "CD8", "CD163"]})
    with open_image(path) as im:
        assert im.channel_names == ["DAPI", "CD8", "CD163"] and im.pixel_size_um == 0.5
        np.testing.assert_array_equal(im.data.compute(), img[0, 0])


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_open_png_jpeg(tmp_path, ext):
    import imageio.v3 as iio

    rgb = np.zeros((40, 50, 3), np.uint8)
    rgb[10:30, 10:40] = (200, 80, 150)
    iio.imwrite(tmp_path / f"he.{ext}", rgb)
    grey = (np.arange(40 * 50).reshape(40, 50) % 256).astype(np.uint8)
    iio.imwrite(tmp_path / f"grey.{ext}", grey)
    im = open_image(tmp_path / f"he.{ext}")
    _assert_lazy(im)
    assert im.is_rgb and im.levels[0].shape == (40, 50, 3)
    if ext == "png":
        np.testing.assert_array_equal(im.data.compute(), rgb)
    g = open_image(tmp_path / f"grey.{ext}")
    assert not g.is_rgb and g.levels[0].shape == (1, 40, 50)


def test_open_ome_zarr(tmp_path):
    img = _image((2, 64, 48))
    root = zarr.open_group(str(tmp_path / "s.ome.zarr"), mode="w")
    root.create_array("0", data=img, chunks=(1, 32, 32))
    root.create_array("1", data=downsample(img), chunks=(1, 32, 32))
    root.attrs["multiscales"] = [{
        "version": "0.4",
        "axes": [{"name": "c", "type": "channel"},
                 {"name": "y", "type": "space", "unit": "micrometer"},
                 {"name": "x", "type": "space", "unit": "micrometer"}],
        "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": [1, 0.5, 0.5]}]},
            {"path": "1", "coordinateTransformations": [
                {"type": "scale", "scale": [1, 1.0, 1.0]}]}]}]
    root.attrs["omero"] = {"channels": [{"label": "DAPI"}, {"label": "CD8"}]}
    im = open_image(tmp_path / "s.ome.zarr")
    _assert_lazy(im)
    assert im.channel_names == ["DAPI", "CD8"] and im.pixel_size_um == 0.5
    assert len(im.levels) == 2
    np.testing.assert_array_equal(im.data.compute(), img)


@pytest.mark.parametrize("suffix", ["lab.ome.tif", "lab.tif", "lab.zarr"])
def test_labels_round_trip(tmp_path, suffix):
    lab = _labels()
    write_labels(tmp_path / suffix, lab, pixel_size_um=0.5, tile=64)
    arr, px = open_labels(tmp_path / suffix)
    assert isinstance(arr, da.Array) and arr.shape == lab.shape and px == 0.5
    np.testing.assert_array_equal(arr.compute(), lab)


def test_image_round_trip_exact(tmp_path):
    img = np.random.default_rng(3).random((2, 100, 130)).astype(np.float32)
    write_ome_tiff(tmp_path / "f.ome.tif", da.from_array(img, chunks=50), ["a", "b"], 0.3,
                   tile=32)
    with open_image(tmp_path / "f.ome.tif") as im:
        assert im.dtype == np.float32 and im.pixel_size_um == pytest.approx(0.3)
        np.testing.assert_array_equal(im.data.compute(), img)


# --------------------------------------------------------------------------- bad input


def _truncated(tmp_path, fraction):
    path = write_ome_tiff(tmp_path / "t.ome.tif", _image(), NAMES, 0.5, tile=64)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(int(size * fraction))
    return path


@pytest.mark.parametrize("fraction", [0.9, 0.5, 0.02])
def test_truncated_tiff(tmp_path, fraction):
    path = _truncated(tmp_path, fraction)
    with pytest.raises(DvpInputError, match="damaged"):
        open_image(path)


def test_bad_files(tmp_path):
    with pytest.raises(DvpInputError, match="file not found"):
        open_image(tmp_path / "missing.ome.tif")
    (tmp_path / "junk.tif").write_bytes(b"this is a text file, not an image\n" * 10)
    with pytest.raises(DvpInputError, match="not a TIFF file"):
        open_image(tmp_path / "junk.tif")
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(DvpInputError, match="empty"):
        open_image(tmp_path / "empty.tif")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG but broken")
    with pytest.raises(DvpInputError, match="not a readable PNG"):
        open_image(tmp_path / "junk.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DvpInputError, match=r"cannot open notes\.txt"):
        open_image(tmp_path / "notes.txt")


def test_z_stack_and_odd_axes_refused(tmp_path):
    tifffile.imwrite(tmp_path / "z.tif", _image((4, 2, 30, 30)), imagej=True,
                     metadata={"axes": "ZCYX"})
    with pytest.raises(DvpInputError, match="4 Z planes"):
        open_image(tmp_path / "z.tif")
    tifffile.imwrite(tmp_path / "t.ome.tif", _image((3, 2, 30, 30)), ome=True,
                     metadata={"axes": "TCYX"})
    with pytest.raises(DvpInputError, match="3 time points"):
        open_image(tmp_path / "t.ome.tif")
    tifffile.imwrite(tmp_path / "q.tif", _image((3, 2, 30, 30)))
    with pytest.raises(DvpInputError, match="unexpected axis order"):
        open_image(tmp_path / "q.tif")


@pytest.mark.parametrize("attrs", [
    {"multiscales": [{"datasets": [{"path": "7"}], "axes": ["y", "x"]}]},
    {"multiscales": ["not a dict"]},
    {"ome": 5},
    {"multiscales": [{"datasets": [{"path": "0"}], "axes": [{"name": ""}, {"name": "x"}]}]},
    {"multiscales": [{"datasets": ["0"]}]},
    {"channel_names": 3},
])
def test_damaged_ome_zarr_metadata_one_line(tmp_path, attrs):
    root = zarr.open_group(str(tmp_path / "bad.zarr"), mode="w")
    root.create_array("0", data=np.zeros((8, 8), np.uint8))
    root.attrs.update(attrs)
    try:
        open_image(tmp_path / "bad.zarr")
    except DvpInputError as exc:
        assert "\n" not in str(exc) and "bad.zarr" in str(exc)


def test_zero_channels_and_bad_dtype(tmp_path):
    z = zarr.create_array(str(tmp_path / "empty.zarr"), shape=(0, 20, 20), dtype="uint16",
                          chunks=(1, 20, 20))
    assert z.shape[0] == 0
    with pytest.raises(DvpInputError, match="0 channels"):
        open_image(tmp_path / "empty.zarr")
    tifffile.imwrite(tmp_path / "c.tif", np.zeros((20, 20), np.complex64))
    with pytest.raises(DvpInputError, match="unsupported pixel type"):
        open_image(tmp_path / "c.tif")


def test_open_labels_rejects_images(tmp_path):
    write_ome_tiff(tmp_path / "img.ome.tif", _image(), NAMES, tile=64)
    with pytest.raises(DvpInputError, match="3 channels"):
        open_labels(tmp_path / "img.ome.tif")
    tifffile.imwrite(tmp_path / "float.tif", np.zeros((20, 20), np.float32))
    with pytest.raises(DvpInputError, match="labels must be integers"):
        open_labels(tmp_path / "float.tif")


# --------------------------------------------------------------------------- layer data


def test_layer_data_fluorescence(tmp_path):
    img = _image()
    img[0, :10, :10] = 65000  # a few bright pixels must not set the top limit
    path = write_ome_tiff(tmp_path / "s.ome.tif", img, ["DAPI", "panCK", "Marker X"], 0.5, tile=64)
    with open_image(path) as im:
        layers = layer_data(im)
    assert [lay[1]["name"] for lay in layers] == ["DAPI", "panCK", "Marker X"]
    assert [lay[1]["colormap"] for lay in layers] == ["blue", "green", "cyan"]
    for data, kw, kind in layers:
        assert kind == "image" and kw["blending"] == "additive" and kw["multiscale"]
        assert kw["scale"] == (0.5, 0.5) and kw["metadata"]["pixel_size_um"] == 0.5
        assert len(data) == 4 and all(isinstance(d, da.Array) for d in data)
        assert data[0].shape == (300, 410)
        lo, hi = kw["contrast_limits"]
        assert 0 <= lo < hi < 4100
    assert layers[2][1]["metadata"]["channel_index"] == 2


def test_layer_data_rgb_single_level(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 255, (64, 80, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "he.tif", rgb, photometric="rgb")
    with open_image(tmp_path / "he.tif") as im:
        (data, kw, kind), = layer_data(im)
    assert kind == "image"
    assert kw["rgb"] and kw["name"] == "he" and not kw["multiscale"]
    assert data.shape == (64, 80, 3)
    # no pixel size in the file: the one rule's assumed 0.5 µm, and it says so
    assert kw["scale"] == (0.5, 0.5) and kw["units"] == ("um", "um")
    assert kw["metadata"]["pixel_size_um"] == 0.5
    assert kw["metadata"]["pixel_size_source"] == "assumed"


def test_channel_colormaps():
    assert channel_colormap("DAPI", 0) == "blue"
    assert channel_colormap("pan-CK", 1) == "green"
    assert channel_colormap("CD8", 2) == "magenta"
    assert channel_colormap("CD163", 3) == "yellow"
    assert channel_colormap("pSTAT1", 4) == "cyan"
    assert channel_colormap("Channel 0", 0, n_channels=1) == "gray"


def test_write_ome_tiff_low_disk_still_works(tmp_path, monkeypatch):
    import shutil as _shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(_shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 1000, 1000))
    img = _image((2, 150, 170))
    write_ome_tiff(tmp_path / "z.ome.tif", da.from_array(img, chunks=70), tile=32)
    levels, _, _ = _read_levels(tmp_path / "z.ome.tif")
    np.testing.assert_array_equal(levels[0], img)
    np.testing.assert_array_equal(levels[2], downsample(downsample(img)))
