"""measure_cells against scikit-image's regionprops on awkward cells."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
from skimage import draw, measure

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.measure import measure_cells, measure_cells_in_box

PROPS = ("label", "area", "centroid", "intensity_mean", "intensity_median",
         "eccentricity", "solidity", "perimeter")


def awkward_labels(seed: int = 0, size: int = 300, n: int = 250) -> np.ndarray:
    """Random overlapping ellipses (touching cells), holes, 1-pixel cells, border cells."""
    rng = np.random.default_rng(seed)
    lab = np.zeros((size, size), np.uint32)
    for i in range(1, n + 1):
        r, c = rng.integers(0, size, 2)
        rr, cc = draw.ellipse(r, c, rng.uniform(1, 14), rng.uniform(1, 14), shape=lab.shape,
                              rotation=rng.uniform(0, np.pi))
        lab[rr, cc] = i
    # a ring (cell with a hole) and 1-pixel cells, lines, cells on every border
    rr, cc = draw.disk((150, 150), 20, shape=lab.shape)
    lab[rr, cc] = n + 1
    rr, cc = draw.disk((150, 150), 8, shape=lab.shape)
    lab[rr, cc] = 0
    lab[5, 5] = n + 2
    lab[10, 20:40] = n + 3
    lab[30:60, 70] = n + 4
    lab[0:4, 100:120] = n + 5
    lab[size - 3:, 200:210] = n + 6
    lab[40:60, size - 2:] = n + 7
    lab[80:90, 0] = n + 8
    lab[120, 120] = n + 9
    lab[121, 121] = n + 9  # diagonal 2-pixel cell
    return lab


def regionprops_frame(lab, img):
    rp = measure.regionprops_table(lab, np.moveaxis(img, 0, -1), properties=PROPS)
    return pd.DataFrame(rp)


@pytest.fixture(scope="module")
def case():
    lab = awkward_labels()
    rng = np.random.default_rng(1)
    img = np.stack([rng.integers(0, 5000, lab.shape).astype(np.uint16),
                    rng.integers(0, 255, lab.shape).astype(np.uint8).astype(np.uint16),
                    (rng.random(lab.shape) * 100).astype(np.float32)])
    names = ["DAPI", "panCK", "CD8"]
    return lab, img, names, regionprops_frame(lab, img)


def check_against_regionprops(tab, rp, names, px):
    assert tab["cell_id"].tolist() == rp["label"].tolist()
    np.testing.assert_array_equal(tab["area_um2"].to_numpy() / px**2, rp["area"])
    np.testing.assert_allclose(tab["centroid_row"], rp["centroid-0"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(tab["centroid_col"], rp["centroid-1"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(tab["centroid_y_um"], rp["centroid-0"] * px, atol=1e-9)
    for i, ch in enumerate(names):
        np.testing.assert_allclose(tab[f"mean_{ch}"], rp[f"intensity_mean-{i}"], rtol=1e-6)
        np.testing.assert_allclose(tab[f"median_{ch}"], rp[f"intensity_median-{i}"], rtol=1e-6)
    np.testing.assert_allclose(tab["eccentricity"], rp["eccentricity"], atol=1e-4)
    np.testing.assert_allclose(tab["perimeter_um"] / px, rp["perimeter"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(tab["solidity"], rp["solidity"], atol=1e-9)


def test_equals_regionprops(case):
    lab, img, names, rp = case
    tab = measure_cells(lab, img, names, 0.5)
    check_against_regionprops(tab, rp, names, 0.5)
    # an integer image: medians and means exactly equal
    dapi = img[:1].astype(np.uint16)
    exact = measure_cells(lab, dapi, ["DAPI"], 0.5)
    rp16 = regionprops_frame(lab, dapi)
    np.testing.assert_array_equal(exact["median_DAPI"], rp16["intensity_median-0"])
    np.testing.assert_array_equal(exact["mean_DAPI"], rp16["intensity_mean-0"])


def test_blocks_and_dask_equal_numpy(case):
    lab, img, names, rp = case
    whole = measure_cells(lab, img, names, 0.5)
    blocked = measure_cells(lab, img, names, 0.5, block_size=37)
    lazy = measure_cells(da.from_array(lab, chunks=64), da.from_array(img, chunks=(1, 50, 70)),
                         names, 0.5)
    for other in (blocked, lazy):
        pd.testing.assert_frame_equal(other, whole, check_exact=False, rtol=1e-9, atol=1e-9)
    check_against_regionprops(blocked, rp, names, 0.5)


def test_fragmented_label_across_blocks():
    """A cell id in two disconnected pieces in different blocks (second pass)."""
    lab = np.zeros((64, 64), np.int32)
    lab[5:10, 5:10] = 3
    lab[50:55, 50:60] = 3
    lab[20:30, 20:30] = 1
    img = np.arange(64 * 64, dtype=np.uint16).reshape(1, 64, 64)
    tab = measure_cells(lab, img, ["a"], 1.0, block_size=16)
    rp = regionprops_frame(lab, img)
    check_against_regionprops(tab, rp, ["a"], 1.0)


def test_touches_border_and_shape_only(case):
    lab = case[0]
    tab = measure_cells(lab, None, None, 1.0)
    ids = set(np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))) - {0}
    assert set(tab.loc[tab.touches_border, "cell_id"]) == ids
    assert not any(c.startswith("mean_") for c in tab.columns)
    assert not measure_cells(lab, None, None, 1.0, border=False)["touches_border"].any()


def test_empty_labels():
    tab = measure_cells(np.zeros((20, 20), np.uint16), np.zeros((2, 20, 20)), ["a", "b"], 1)
    assert len(tab) == 0 and "median_b" in tab.columns


def test_measure_in_box_matches_full(case):
    lab, img, names, _ = case
    full = measure_cells(lab, img, names, 0.5).set_index("cell_id")
    ids = [3, 17, 251, 255]  # incl. the ring and a border cell
    rr, cc = np.nonzero(np.isin(lab, ids))
    box = (rr.min(), rr.max() + 1, cc.min(), cc.max() + 1)
    part = measure_cells_in_box(lab, img, names, 0.5, ids, box).set_index("cell_id")
    pd.testing.assert_frame_equal(part, full.loc[part.index], check_exact=False, rtol=1e-9,
                                  atol=1e-6)
    assert sorted(part.index) == sorted(i for i in ids if i in full.index)


@pytest.mark.parametrize(
    ("labels", "image", "names", "match"),
    [
        (np.zeros((10, 10), np.float32), None, None, "integer"),
        (np.zeros((10, 10), np.uint16), np.zeros((2, 10, 12)), ["a", "b"], "differs"),
        (np.zeros((10, 10), np.uint16), np.zeros((2, 10, 10)), ["a"], "channel names"),
        (np.zeros((2, 10, 10), np.uint16), None, None, "2-D"),
        (np.full((10, 10), -1, np.int32), None, None, "negative"),
    ],
)
def test_bad_input(labels, image, names, match):
    with pytest.raises(DvpInputError, match=match):
        measure_cells(labels, image, names, 1.0)


def test_ragged_blobs_solidity_and_perimeter_exact():
    """Non-convex, holey, fragmented shapes from thresholded smoothed noise."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(7)
    noise = ndi.gaussian_filter(rng.random((160, 160)), 2.5)
    lab, _ = ndi.label(noise > np.quantile(noise, 0.55))
    lab[::37] = 0  # cut some blobs in pieces with lines
    lab = lab.astype(np.uint16)
    tab = measure_cells(lab, None, None, 1.0, block_size=50)
    rp = pd.DataFrame(measure.regionprops_table(lab, properties=("label", "solidity",
                                                                 "perimeter")))
    assert tab["cell_id"].tolist() == rp["label"].tolist()
    np.testing.assert_allclose(tab["solidity"], rp["solidity"], atol=1e-12)
    np.testing.assert_allclose(tab["perimeter_um"], rp["perimeter"], atol=1e-9)


def test_zarr_labels_equal_numpy(case):
    import zarr

    lab, img, names, _ = case
    z = zarr.create_array(store=zarr.storage.MemoryStore(), shape=lab.shape, chunks=(128, 128),
                          dtype=lab.dtype)
    z[:] = lab
    whole = measure_cells(lab, img, names, 0.5)
    pd.testing.assert_frame_equal(measure_cells(z, img, names, 0.5, block_size=128), whole,
                                  check_exact=False, rtol=1e-9, atol=1e-9)
