"""core.image_io: pyramidal OME-TIFF writing, lazy reading, bad input."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.image_io import write_labels, write_ome_tiff
from napari_dvp.core.image_io._pyramid import downsample, level_shapes, n_levels_for

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
