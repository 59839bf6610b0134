"""cellpose backend through the installed cellpose's real evaluation code.

The pretrained ``cpsam`` weights cannot be downloaded here, so the network is
a randomly initialised CPSAM saved to a temporary model file (~1.2 GB, built
once per session: ``random_cpsam_file`` in tests/conftest.py). Its masks are
arbitrary: the tests check the contract (shape, dtype, consecutive ids,
stitching), not accuracy. The only mock is the
internet check (``is_online``), which cannot be exercised for real offline.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.segmentation import cellpose_backend as cb
from napari_dvp.core.segmentation import make_backend, run_to_end, segment_tiled

from .test_segmentation_builtin import grid_of_cells


@pytest.fixture
def empty_model_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(tmp_path))
    return tmp_path


def test_missing_weights_offline_says_what_to_do(empty_model_dir, monkeypatch):
    monkeypatch.setattr(cb, "is_online", lambda *a, **k: False)  # mock: no internet
    t0 = time.perf_counter()
    with pytest.raises(DvpInputError) as info:
        make_backend("cellpose", model="cpsam")
    msg = str(info.value)
    assert "not on this machine" in msg and str(empty_model_dir) in msg
    assert "first use when online" in msg and "--model /path/to/file" in msg
    assert "\n" not in msg
    assert time.perf_counter() - t0 < 5  # no download attempt, no wait


def test_model_names_match_installed_cellpose():
    from cellpose import models

    assert set(cb.CELLPOSE_MODEL_NAMES) == set(models.MODEL_NAMES)


def test_is_online_gives_up_quickly():
    t0 = time.perf_counter()
    cb.is_online("nonexistent.invalid", timeout=1.0)
    assert time.perf_counter() - t0 < 3


def test_unknown_model_name_and_missing_file(empty_model_dir):
    with pytest.raises(DvpInputError, match="unknown cellpose model 'nuclei_v9'"):
        make_backend("cellpose", model="nuclei_v9")
    with pytest.raises(DvpInputError, match="does not exist"):
        make_backend("cellpose", model=str(empty_model_dir / "nope.pth"))


def test_bad_parameters_one_line():
    with pytest.raises(DvpInputError, match="no parameter"):
        make_backend("cellpose", diameter=30)
    with pytest.raises(DvpInputError, match="pixel_size_um must be > 0"):
        make_backend("cellpose", pixel_size_um=-0.5)


def test_file_that_is_not_a_cellpose_model(tmp_path):
    bogus = tmp_path / "notes.pth"
    bogus.write_text("these are not weights")
    backend = make_backend("cellpose", model=str(bogus), gpu=False)
    with pytest.raises(DvpInputError, match="is not a cellpose model file"):
        backend.segment(np.zeros((1, 64, 64), np.float32))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")  # torch, from cellpose
def test_cellpose_eval_contract_and_tiling(random_cpsam_file):
    image, _ = grid_of_cells(256, seed=4)
    backend = make_backend("cellpose", model=str(random_cpsam_file), gpu=False,
                           pixel_size_um=0.5, diameter_um=15)
    backend = backend.calibrate(image)
    assert backend.params.lowhigh is not None and len(backend.params.lowhigh) == 2
    seen = []

    class Recording:  # the real cellpose backend, remembering what it returned
        name = "recording"
        cell_diameter_px = backend.cell_diameter_px

        def calibrate(self, overview):
            return self

        def segment(self, tile):
            seen.append(backend.segment(tile))
            return seen[-1]

    t0 = time.perf_counter()
    # one tile (256² core, no neighbours): the tiled runner on cellpose's real output
    tiled = run_to_end(segment_tiled(image, Recording(), [0, 1], tile_size=256))
    seconds = time.perf_counter() - t0
    print(f"cellpose (random CPSAM) on a 256x256 tile: {seconds:.1f} s CPU")
    [labels] = seen
    assert labels.shape == (256, 256) and labels.dtype == np.int32
    ids = np.unique(labels)
    assert ids.tolist() == list(range(ids.size))
    assert tiled.shape == (256, 256) and tiled.dtype == np.uint32
    assert np.array_equal(tiled, labels)  # one tile: every cell owned, same ids
    # the model is cached per process: a second backend object reuses it
    assert backend.load() is make_backend("cellpose", model=str(random_cpsam_file),
                                          gpu=False).load()


def test_cellpose_input_layouts():
    tile = np.stack([np.full((8, 8), v, np.float32) for v in (0.1, 0.5, 0.9)])
    rgb = cb.cellpose_input(tile, rgb=True)  # red, green, blue as they are
    assert rgb.shape == (3, 8, 8) and np.array_equal(rgb, tile)
    two = cb.cellpose_input(tile[:2])  # nuclear, cytoplasm, zeros (cellpose pads so)
    assert np.array_equal(two[:2], tile[:2]) and not two[2].any()
    many = cb.cellpose_input(tile)  # nuclear + the brightest of several cytoplasm channels
    assert np.array_equal(many[1], tile[2]) and not many[2].any()
    with pytest.raises(DvpInputError, match="needs 3 channels"):
        cb.cellpose_input(tile[:2], rgb=True)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Sparse invariant checks:UserWarning")  # torch, from cellpose
def test_cellpose_rgb_and_two_channel_inputs_reach_the_network(random_cpsam_file, monkeypatch):
    """RGB brightfield and nuclear+cytoplasm tiles go through cellpose's real eval code."""
    from cellpose import models

    from napari_dvp.core.segmentation.pipeline import prepare_backend, segmentation_input

    from .test_segmentation_realistic import he_image

    seen = []
    real_eval = models.CellposeModel.eval

    def recording_eval(self, x, **kwargs):  # the real eval, remembering its input
        seen.append((np.array(x), kwargs.get("channel_axis")))
        return real_eval(self, x, **kwargs)

    monkeypatch.setattr(models.CellposeModel, "eval", recording_eval)
    rgb, _ = he_image(size=128)
    array, channels, is_rgb = segmentation_input(rgb, True, nuclear="RGB", backend="cellpose")
    backend = prepare_backend(make_backend("cellpose", model=str(random_cpsam_file), gpu=False,
                                           diameter_um=15), is_rgb)
    assert backend.params.rgb
    labels = run_to_end(segment_tiled(array, backend, channels, tile_size=128))
    assert labels.shape == (128, 128) and labels.dtype == np.uint32
    x, axis = seen[-1]
    assert axis == 0 and x.shape == (3, 128, 128)
    # red, green, blue in that order, each scaled to its 1st-99th percentile
    lo, hi = np.percentile(rgb.reshape(-1, 3), [1, 99], axis=0)
    expected = (np.moveaxis(rgb, -1, 0) - lo[:, None, None]) / (hi - lo)[:, None, None]
    assert np.allclose(x, expected, atol=1e-4)
    image, _ = grid_of_cells(128, seed=2)
    two = make_backend("cellpose", model=str(random_cpsam_file), gpu=False,
                       diameter_um=15)  # 30 px at 0.5 µm: no rescaling (faster on a CPU)
    run_to_end(segment_tiled(image, two, [0, 1], tile_size=128))
    x, axis = seen[-1]
    assert x.shape == (3, 128, 128) and not x[2].any() and x[0].max() > 0 and x[1].max() > 0
