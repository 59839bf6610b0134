"""The synthetic TEN sample in napari: sample-data layers and the demo step."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from napari_dvp._demo import DemoState
from napari_dvp._sample_data import TRUTH_LAYER, sample_layer_data, ten_skin_sample
from napari_dvp.core import synthetic as syn


@pytest.fixture(scope="module")
def small():
    return syn.make_sample(512, seed=1)


def test_layer_data_one_layer_per_channel(small):
    layers = sample_layer_data(small)
    assert [t for _, _, t in layers] == ["image"] * 5 + ["labels"]
    for (data, kw, _), name in zip(layers[:5], syn.CHANNELS, strict=True):
        assert kw["name"] == name and kw["blending"] == "additive"
        assert kw["scale"] == (0.5, 0.5)
        lo, hi = kw["contrast_limits"]
        assert data.min() <= lo < hi <= data.max()
    assert {kw["colormap"] for _, kw, _ in layers[:5]} == {"blue", "green", "magenta",
                                                            "yellow", "cyan"}
    labels, kw, _ = layers[5]
    assert kw["name"] == TRUTH_LAYER and kw["visible"] is False
    assert (kw["features"]["index"] == kw["features"]["cell_id"]).all()
    assert labels is small.labels


@pytest.mark.slow
def test_ten_skin_sample_in_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    # through the npe2 manifest, as File > Open Sample does
    viewer.open_sample("napari-dvp", "ten_skin")
    assert [layer.name for layer in viewer.layers] == [*syn.CHANNELS, TRUTH_LAYER]
    assert viewer.layers["DAPI"].data.shape == (2048, 2048)
    np.testing.assert_allclose(viewer.layers["panCK"].scale, (0.5, 0.5))
    assert viewer.layers["CD8"].blending == "additive"
    truth = viewer.layers[TRUTH_LAYER]
    assert not truth.visible
    assert "true_class" in truth.features.columns


def test_ten_skin_sample_function_returns_layer_data():
    layers = ten_skin_sample()
    assert [kw["name"] for _, kw, _ in layers] == [*syn.CHANNELS, TRUTH_LAYER]


def test_demo_step(make_napari_viewer, tmp_path):
    step = importlib.import_module("napari_dvp._demo.10_sample")
    viewer = make_napari_viewer()
    state = DemoState(out=tmp_path, size=512, seed=2, viewer=viewer)
    step.run(state)
    assert state.image.shape == (5, 512, 512)
    assert state.channel_names == list(syn.CHANNELS)
    assert state.pixel_size_um == 0.5
    assert set(state.truth["cell_id"]) == set(np.unique(state.extra["truth_labels"])) - {0}
    assert set(state.extra["regions"]) == set(syn.REGIONS)
    assert [layer.name for layer in viewer.layers] == list(syn.CHANNELS)
    shot = tmp_path / "01_sample.png"
    assert shot.is_file() and shot.stat().st_size > 10_000
    assert (tmp_path / "sample_truth_cells.csv").is_file()


def test_demo_step_without_viewer(tmp_path):
    step = importlib.import_module("napari_dvp._demo.10_sample")
    state = DemoState(out=tmp_path, size=256, seed=0)
    step.run(state)
    assert state.truth is not None and len(state.truth) > 0
    assert not (tmp_path / "01_sample.png").exists()
