"""The synthetic TEN sample: deterministic, tileable, and its ground truth matches its pixels."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy import ndimage as ndi

from napari_dvp.core import synthetic as syn
from napari_dvp.core.errors import DvpInputError


@pytest.fixture(scope="module")
def s1024() -> syn.SyntheticSample:
    return syn.make_sample(1024, seed=0)


@pytest.fixture(scope="module")
def s512() -> syn.SyntheticSample:
    return syn.make_sample(512, seed=3)


def test_api_constants():
    assert syn.CHANNELS == ("DAPI", "panCK", "CD8", "CD163", "pSTAT1")
    assert syn.CLASSES == ("keratinocyte", "CD8 T cell", "macrophage", "fibroblast")
    assert syn.REGIONS == ("epidermis", "dermis", "blister")
    assert syn.PIXEL_SIZE_UM == 0.5


def test_shapes_and_types(s1024):
    assert s1024.image.shape == (5, 1024, 1024) and s1024.image.dtype == np.uint16
    assert s1024.labels.shape == (1024, 1024) and s1024.labels.dtype == np.uint32
    assert list(s1024.cells.columns) == ["cell_id", "true_class", "true_region", "lesional",
                                         "centroid_row", "centroid_col"]
    assert s1024.channel_names == list(syn.CHANNELS)
    assert s1024.pixel_size_um == 0.5
    assert set(s1024.cells["true_class"]) == set(syn.CLASSES)
    assert set(s1024.cells["true_region"]) == {"epidermis", "dermis"}  # blister is cell-free
    assert s1024.cells["lesional"].any() and not s1024.cells["lesional"].all()


def test_deterministic(s512):
    again = syn.make_sample(512, seed=3)
    np.testing.assert_array_equal(again.image, s512.image)
    np.testing.assert_array_equal(again.labels, s512.labels)
    assert again.cells.equals(s512.cells)
    other = syn.make_sample(512, seed=4)
    assert not np.array_equal(other.labels, s512.labels)
    assert np.mean(other.image != s512.image) > 0.5


@pytest.mark.parametrize("window", [(0, 0, 300, 200), (137, 151, 180, 333),
                                    (400, 380, 112, 132), (511, 0, 1, 512)])
def test_tile_is_crop_of_whole(s512, window):
    r, c, h, w = window
    image, labels = syn.render_tile(s512.spec, r, c, h, w)
    np.testing.assert_array_equal(image, s512.image[:, r:r + h, c:c + w])
    np.testing.assert_array_equal(labels, s512.labels[r:r + h, c:c + w])
    np.testing.assert_array_equal(syn.render_labels(s512.spec, r, c, h, w), labels)


def test_dask_arrays_equal_whole_render(s512):
    np.testing.assert_array_equal(syn.image_dask(s512.spec, chunk=192).compute(), s512.image)
    np.testing.assert_array_equal(syn.labels_dask(s512.spec, chunk=160).compute(), s512.labels)


def test_every_labelled_cell_is_in_the_table_and_back(s1024):
    ids = np.unique(s1024.labels)
    ids = ids[ids > 0]
    np.testing.assert_array_equal(np.sort(s1024.cells["cell_id"].to_numpy()), ids)
    assert s1024.cells["cell_id"].is_unique
    # the table without pixels lists the same cells
    nominal = syn.truth_table(s1024.spec, exact_centroids=False)
    np.testing.assert_array_equal(np.sort(nominal["cell_id"].to_numpy()), ids)


def test_centroids_match_labels(s1024):
    cells = s1024.cells
    com = np.array(ndi.center_of_mass(np.ones(s1024.labels.shape), s1024.labels,
                                      cells["cell_id"].to_numpy()))
    d = np.hypot(com[:, 0] - cells["centroid_row"], com[:, 1] - cells["centroid_col"])
    assert d.max() < 1e-6
    # streamed tile by tile (as write_sample does) gives the same table
    streamed = syn.truth_table(s1024.spec, exact_centroids=True)
    np.testing.assert_allclose(streamed[["centroid_row", "centroid_col"]].to_numpy(),
                               cells[["centroid_row", "centroid_col"]].to_numpy())
    # the pixel-free table places each cell at its generating centre, close to its centroid
    nominal = syn.truth_table(s1024.spec, exact_centroids=False).set_index("cell_id")
    nominal = nominal.loc[cells["cell_id"]]
    dn = np.hypot(com[:, 0] - nominal["centroid_row"].to_numpy(),
                  com[:, 1] - nominal["centroid_col"].to_numpy())
    assert dn.mean() < 2.0


def _class_means(sample: syn.SyntheticSample) -> np.ndarray:
    ids = sample.cells["cell_id"].to_numpy()
    means = np.stack([ndi.mean(ch.astype(np.float64), sample.labels, ids)
                      for ch in sample.image], axis=1)
    return means


def test_markers_follow_classes(s1024):
    cells = s1024.cells
    means = _class_means(s1024)
    ch = {name: i for i, name in enumerate(syn.CHANNELS)}
    cls = cells["true_class"].to_numpy()

    def avg(klass, channel, mask=None):
        m = cls == klass if mask is None else (cls == klass) & mask
        return means[m, ch[channel]].mean()

    others = [k for k in syn.CLASSES if k != "keratinocyte"]
    assert avg("keratinocyte", "panCK") > 4 * max(avg(k, "panCK") for k in others)
    assert avg("CD8 T cell", "CD8") > 4 * max(avg(k, "CD8") for k in (
        "keratinocyte", "macrophage", "fibroblast"))
    assert avg("macrophage", "CD163") > 4 * max(avg(k, "CD163") for k in (
        "keratinocyte", "CD8 T cell", "fibroblast"))
    les = cells["lesional"].to_numpy()
    assert avg("keratinocyte", "pSTAT1", les) > 3 * avg("keratinocyte", "pSTAT1", ~les)
    assert avg("CD8 T cell", "pSTAT1") > 2 * avg("fibroblast", "pSTAT1")
    # every cell has a nucleus
    assert (means[:, ch["DAPI"]] > 600).all()


def test_infiltrate_is_denser_in_the_lesion(s1024):
    cells = s1024.cells
    immune = cells["true_class"].isin(["CD8 T cell", "macrophage"]) & (
        cells["true_region"] == "dermis")
    les_frac = cells["lesional"].mean()
    share = (immune & cells["lesional"]).sum() / immune.sum()
    assert share > les_frac + 0.15


def test_regions_are_consistent(s1024):
    reg = s1024.regions
    assert set(reg) == set(syn.REGIONS)
    for geom in reg.values():
        assert geom.is_valid and geom.area > 0
    assert reg["epidermis"].intersection(reg["dermis"]).area < 1.0
    assert reg["blister"].intersection(reg["dermis"]).area < 1.0
    cells = s1024.cells
    pts = shapely.points(cells["centroid_col"].to_numpy(), cells["centroid_row"].to_numpy())
    epi = (cells["true_region"] == "epidermis").to_numpy()
    assert shapely.contains(reg["epidermis"].buffer(2), pts[epi]).all()
    assert shapely.contains(reg["dermis"].buffer(2), pts[~epi]).all()
    # the blister is a cell-free gap: no labelled pixel well inside it
    inner = reg["blister"].buffer(-2)
    rows, cols = np.nonzero(s1024.labels)
    inside = shapely.contains_xy(inner, cols.astype(float), rows.astype(float))
    assert not inside.any()
    # the lesional half is on the right and the blister under it
    assert reg["blister"].centroid.x > 0.5 * 1024


def test_geojson_is_qupath_shaped(s512):
    fc = syn.regions_geojson(s512.regions)
    assert fc["type"] == "FeatureCollection"
    names = [f["properties"]["classification"]["name"] for f in fc["features"]]
    assert sorted(names) == sorted(syn.REGIONS)
    for f in fc["features"]:
        assert f["properties"]["objectType"] == "annotation"
        assert len(f["properties"]["classification"]["color"]) == 3
        assert shapely.geometry.shape(f["geometry"]).is_valid


def test_physical_layout_keeps_real_thickness():
    for size in (1024, 4096):
        spec = syn.make_spec(size, 0, layout="physical")
        epi = syn.regions(spec)["epidermis"]
        thick_um = epi.area / spec.width * syn.PIXEL_SIZE_UM
        assert 90 < thick_um < 150
    scaled = syn.regions(syn.make_spec(4096, 0))["epidermis"]
    assert scaled.area / 4096 * 0.5 > 300  # the scaled layout grows with the image


def test_big_truth_table_without_pixels():
    spec = syn.make_spec(12_000, seed=1)
    table = syn.truth_table(spec, exact_centroids=False)
    assert len(table) > 50_000
    assert table["cell_id"].is_unique and (table["cell_id"] > 0).all()
    assert table["centroid_row"].between(0, 12_000).all()
    assert table["centroid_col"].between(0, 12_000).all()
    # the same cells as a tile rendered far from the origin
    labels = syn.render_labels(spec, 7000, 9000, 256, 256)
    ids = np.unique(labels)
    assert np.isin(ids[ids > 0], table["cell_id"]).all()


@pytest.mark.parametrize("kwargs", [{"size": 100}, {"size": 40_001}, {"size": 1024.5},
                                    {"seed": -1}, {"layout": "round"}])
def test_bad_parameters(kwargs):
    with pytest.raises(DvpInputError):
        syn.make_spec(**kwargs)


def test_render_tile_of_a_big_slide():
    """One 256² tile from the middle of a 4096² slide (speed: bench/bench_open_image.py)."""
    spec = syn.make_spec(4096, seed=2)
    image, labels = syn.render_tile(spec, 2048, 2048, 256, 256)
    assert image.shape == (5, 256, 256) and image.dtype == np.uint16 and image.max() > 0
    assert labels.shape == (256, 256) and labels.max() > 0
