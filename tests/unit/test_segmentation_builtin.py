"""Built-in backend, metrics and the tiled runner on small synthetic images (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import disk

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.segmentation import make_backend, make_tiles, run_to_end, segment_tiled
from napari_dvp.core.segmentation.metrics import match_labels


def grid_of_cells(size: int = 512, spacing: int = 26, seed: int = 0):
    """Nuclei (radius 7) inside cells (radius 11) on a jittered grid, with noise."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((size, size), np.uint32)
    nuc = np.zeros((size, size), np.float32)
    cyto = np.zeros((size, size), np.float32)
    k = 0
    for r in range(12, size - 12, spacing):
        for c in range(12, size - 12, spacing):
            rr, cc = r + rng.integers(-3, 4), c + rng.integers(-3, 4)
            k += 1
            y, x = disk((rr, cc), 11, shape=truth.shape)
            truth[y, x] = k
            cyto[y, x] = 1
            y, x = disk((rr, cc), 7, shape=truth.shape)
            nuc[y, x] = 1
    image = np.stack([nuc * 1000 + rng.normal(100, 20, nuc.shape),
                      cyto * 600 + rng.normal(100, 20, nuc.shape)]).astype(np.float32)
    return image, truth


def builtin():
    return make_backend("builtin", pixel_size_um=0.5, nucleus_diameter_um=7, max_expansion_um=3)


def test_match_labels_counts_and_iou():
    truth = np.zeros((20, 20), np.int32)
    truth[2:6, 2:6] = 1
    truth[10:14, 10:14] = 2
    pred = np.zeros_like(truth)
    pred[2:6, 2:7] = 5  # IoU 16/20 = 0.8 with truth 1
    pred[15:18, 0:3] = 7  # false positive
    m = match_labels(pred, truth)
    assert (m.tp, m.fp, m.fn) == (1, 1, 1)
    assert m.ious.tolist() == pytest.approx([0.8])
    assert m.pairs.tolist() == [[5, 1]]
    assert m.f1 == pytest.approx(0.5)
    assert match_labels(pred, truth, iou=0.85).tp == 0


def test_builtin_backend_contract_and_accuracy():
    image, truth = grid_of_cells(256)
    labels = builtin().calibrate(image).segment(image)
    assert labels.shape == truth.shape and labels.dtype == np.int32
    ids = np.unique(labels)
    assert ids.tolist() == list(range(ids.size))  # 0..n consecutive
    m = match_labels(labels, truth)
    assert m.f1 > 0.95, m


def test_builtin_nuclear_channel_only_expands_nuclei():
    image, truth = grid_of_cells(256)
    labels = builtin().calibrate(image[:1]).segment(image[:1])
    assert match_labels(labels, truth).f1 > 0.9


def test_builtin_parameters_are_checked():
    with pytest.raises(DvpInputError, match="nucleus_diameter_um"):
        make_backend("builtin", nucleus_diameter_um=0)
    with pytest.raises(DvpInputError, match="no parameter"):
        make_backend("builtin", diameter=3)
    with pytest.raises(DvpInputError, match="unknown segmentation backend"):
        make_backend("stardist")


def test_tiles_partition_the_region():
    tiles = make_tiles((1000, 700), tile_size=256, overlap=40)
    cover = np.zeros((1000, 700), int)
    for t in tiles:
        r0, r1, c0, c1 = t.core
        cover[r0:r1, c0:c1] += 1
        p = t.padded
        assert p[0] == max(r0 - 40, 0) and p[1] == min(r1 + 40, 1000)
    assert (cover == 1).all()
    sub = make_tiles((1000, 700), 256, 40, region=(100, 300, 650, 900))
    assert [t.core for t in sub] == [(100, 300, 650, 700)]
    with pytest.raises(DvpInputError, match="outside the image"):
        make_tiles((100, 100), 256, 10, region=(200, 300, 0, 10))
    with pytest.raises(DvpInputError, match="tile size"):
        make_tiles((100, 100), 8, 10)


def test_tiled_equals_untiled_and_no_seam_fragments():
    image, _truth = grid_of_cells(640, seed=1)
    backend = builtin()
    full = run_to_end(segment_tiled(image, backend, [0, 1], tile_size=2048))
    steps = []
    tiled = run_to_end(segment_tiled(image, backend, [0, 1], tile_size=128, overlap=40),
                       lambda d, t: steps.append((d, t)))
    assert steps[0] == (0, 25) and steps[-1] == (25, 25)
    assert tiled.dtype == np.uint32
    ids = np.unique(tiled)
    assert ids.tolist() == list(range(ids.size))  # one id per cell, consecutive
    agreement = match_labels(tiled, full, iou=0.9)
    assert agreement.tp / full.max() > 0.99, agreement
    # cells crossing a seam (column 128 or row 256) exist, are whole and agree with the
    # untiled run: no half cell or fragment left behind at a seam
    from scipy import ndimage as ndi

    seam = np.zeros(tiled.shape, bool)
    seam[:, 127:129] = True
    seam[255:257, :] = True
    seam_ids = np.unique(tiled[seam & (tiled > 0)])
    assert seam_ids.size > 10
    assert all(ndi.label(tiled == i, structure=np.ones((3, 3)))[1] == 1 for i in seam_ids)
    on_seam = np.where(np.isin(tiled, seam_ids), tiled, 0)
    assert match_labels(on_seam, full, iou=0.9).tp == seam_ids.size


def test_duplicate_cells_from_two_tiles_are_written_once():
    from napari_dvp.core.segmentation.tiling import LabelsWriter, Tile, TileResult

    out = np.zeros((50, 50), np.uint32)
    w = LabelsWriter(out)
    a = np.zeros((10, 10), np.int32)
    a[2:8, 2:8] = 1
    t = Tile(0, (0, 50, 0, 50), (0, 50, 0, 50))
    assert w.add(TileResult(t, a, (10, 10))) == 1
    b = np.zeros((10, 10), np.int32)
    b[2:8, 3:9] = 1  # same cell, shifted by one column: dropped
    b[0:2, 0:2] = 2  # small new cell: kept with the next id
    assert w.add(TileResult(t, b, (10, 10))) == 1
    assert set(np.unique(out)) == {0, 1, 2}
    assert (out == 1).sum() == 36 and (out == 2).sum() == 4


def test_region_and_polygon_keep_only_cells_inside():
    shapely = pytest.importorskip("shapely")
    image, _ = grid_of_cells(384)
    poly = shapely.Polygon([(100, 100), (300, 100), (100, 300)])  # x = col, y = row
    labels = run_to_end(segment_tiled(image, builtin(), [0, 1], tile_size=128,
                                      region=(100, 300, 100, 300), polygon=poly))
    ids = np.unique(labels)[1:]
    assert ids.size > 10
    rows, cols = np.nonzero(labels)
    cy = np.bincount(labels[rows, cols], weights=rows)[ids] / np.bincount(labels[rows, cols])[ids]
    cx = np.bincount(labels[rows, cols], weights=cols)[ids] / np.bincount(labels[rows, cols])[ids]
    assert shapely.contains_xy(poly, cx, cy).all()


def test_zarr_output_is_atomic_and_readable(tmp_path):
    zarr = pytest.importorskip("zarr")
    image, _ = grid_of_cells(300)
    target = tmp_path / "labels.zarr"
    gen = segment_tiled(image, builtin(), [0, 1], tile_size=128, out=target,
                        attrs={"pixel_size_um": 0.5})
    next(gen), next(gen)
    gen.close()  # cancelled mid-run: nothing left behind
    assert not target.exists() and list(tmp_path.iterdir()) == []
    arr = run_to_end(segment_tiled(image, builtin(), [0, 1], tile_size=128, out=target,
                                   attrs={"pixel_size_um": 0.5}))
    assert isinstance(arr, zarr.Array) and arr.shape == (300, 300)
    data = arr[:]
    assert arr.attrs["n_cells"] == data.max() > 50
    assert arr.attrs["pixel_size_um"] == 0.5
    assert np.array_equal(data, run_to_end(segment_tiled(image, builtin(), [0, 1], tile_size=128)))


def test_bad_channel_is_reported():
    image, _ = grid_of_cells(128)
    with pytest.raises(DvpInputError, match="channel"):
        run_to_end(segment_tiled(image, builtin(), [0, 5]))


@pytest.mark.slow
def test_builtin_f1_on_the_synthetic_sample():
    from napari_dvp.core.synthetic import make_sample

    sample = make_sample(1024, seed=0)
    backend = make_backend("builtin", pixel_size_um=sample.pixel_size_um)
    labels = run_to_end(segment_tiled(sample.image, backend, list(range(5)), tile_size=512))
    m = match_labels(labels, sample.labels)
    print(f"built-in backend on the synthetic sample: F1@0.5 = {m.f1:.3f} "
          f"(precision {m.precision:.3f}, recall {m.recall:.3f}, {m.tp} matched)")
    assert m.f1 > 0.85
