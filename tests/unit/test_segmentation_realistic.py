"""Segmentation without a pixel size, of brightfield H&E, and the channel choices (no Qt).

Images are rendered here with known nuclei: a fluorescence nuclei-only image
(blurred, Poisson noise, uneven brightness) and an H&E image made by the
Beer-Lambert law from Ruifrok & Johnston's hematoxylin and eosin stain vectors.
Real images with expert masks are evaluated in ``bench/bench_nuclei_eval.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from skimage.draw import ellipse
from skimage.filters import gaussian

from napari_dvp.cli import main
from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.segmentation import make_backend, run_to_end, segment_tiled
from napari_dvp.core.segmentation.metrics import match_labels
from napari_dvp.core.segmentation.pipeline import segmentation_input
from napari_dvp.core.segmentation.scale import (
    NucleusSizeEstimate,
    estimate_nucleus_diameter_px,
    measure_nucleus_diameter_px,
    refine_with_segmentation,
)
from napari_dvp.core.segmentation.stains import RGB, channel_choices
from napari_dvp.core.slide import open_labels

#: Ruifrok & Johnston optical density vectors (R, G, B) of hematoxylin and eosin
HEMATOXYLIN = np.array([0.65, 0.70, 0.29])
EOSIN = np.array([0.07, 0.99, 0.11])


def nuclei_field(size: int, radius: float, spacing: float, seed: int = 0,
                 elongation: float = 1.0):
    """Touching or spaced elliptic nuclei on a jittered grid: (float mask 0..1, truth labels)."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((size, size), np.uint32)
    brightness = np.zeros((size, size), np.float32)
    k = 0
    step = int(spacing)
    for r in range(step // 2, size - step // 2, step):
        for c in range(step // 2, size - step // 2, step):
            if rng.random() < 0.15:
                continue
            rr, cc = r + rng.uniform(-0.15, 0.15) * step, c + rng.uniform(-0.15, 0.15) * step
            a = radius * rng.uniform(0.85, 1.15) * elongation
            b = radius * rng.uniform(0.85, 1.15)
            y, x = ellipse(rr, cc, b, a, shape=truth.shape, rotation=rng.uniform(0, np.pi))
            free = truth[y, x] == 0
            k += 1
            truth[y[free], x[free]] = k
            brightness[y[free], x[free]] = rng.uniform(0.4, 1.0)
    return gaussian(brightness, 1.0), truth


def fluorescence_nuclei(size=384, radius=9.0, spacing=24, seed=0):
    signal, truth = nuclei_field(size, radius, spacing, seed)
    rng = np.random.default_rng(seed + 1)
    ramp = np.linspace(0.7, 1.3, size)[None, :]  # uneven illumination
    image = rng.poisson(200 * signal * ramp + 20).astype(np.uint16)
    return image, truth


def he_image(size=384, radius=8.0, spacing=22, seed=0):
    """RGB H&E: hematoxylin nuclei on eosin-stained tissue, uint8."""
    nuclei, truth = nuclei_field(size, radius, spacing, seed)
    rng = np.random.default_rng(seed + 2)
    eosin = 0.25 + 0.15 * gaussian(rng.random((size, size)), 6)
    od = 1.1 * nuclei[..., None] * HEMATOXYLIN + eosin[..., None] * EOSIN
    rgb = 255 * np.exp(-od) + rng.normal(0, 3, (size, size, 3))
    return rgb.clip(0, 255).astype(np.uint8), truth


@pytest.mark.parametrize("radius", [5.0, 9.0, 16.0])
def test_nucleus_size_is_estimated_from_the_image(radius):
    image, truth = fluorescence_nuclei(size=int(radius * 40), radius=radius,
                                       spacing=radius * 2.4, seed=int(radius))
    estimate = estimate_nucleus_diameter_px(image)
    area = np.bincount(truth.ravel())[1:]
    true_d = 2 * np.sqrt(np.median(area[area > 0]) / np.pi)
    assert estimate.diameter_px == pytest.approx(true_d, rel=0.25), (estimate, true_d)
    assert estimate.confidence == "high" and estimate.n_objects > 30
    text = estimate.describe(0.5, "assumed")
    assert f"{estimate.diameter_px:.1f} px" in text and "µm at 0.5 µm/px (assumed)" in text
    # a good guess survives the check by a first segmentation unchanged
    assert measure_nucleus_diameter_px(image) == estimate


def test_size_estimate_of_an_empty_image_says_so():
    estimate = estimate_nucleus_diameter_px(np.zeros((64, 64), np.float32))
    assert estimate.confidence == "none" and estimate.n_objects == 0


def nuclei_under_a_fibre(seed: int, width: float = 40.0, size: int = 384):
    """Dim nuclei (about 14 px) with a bright band of tissue fibre across them.

    The fibre (as in DSB2018 image 336d3e41) is one wide piece at every threshold,
    so the granulometry's guess is the fibre's width, not the nuclei's.
    Returns (image, truth labels, fibre mask).
    """
    signal, truth = nuclei_field(size, 7.0, 20, seed=seed)
    yy, xx = np.mgrid[:size, :size]
    fibre = np.abs(yy - 0.5 * xx - 100) < width / 2
    expected = 300 * signal + 600 * gaussian(fibre.astype(float), 3) + 20
    return np.random.default_rng(seed).poisson(expected).astype(np.float32), truth, fibre


@pytest.mark.parametrize("seed", [0, 1])
def test_a_fibre_that_fools_the_first_guess_is_caught_by_a_first_segmentation(seed, tmp_path,
                                                                             capsys):
    image, truth, fibre = nuclei_under_a_fibre(seed)
    area = np.bincount(truth.ravel())[1:]
    true_d = 2 * np.sqrt(np.median(area[area > 0]) / np.pi)
    guess = estimate_nucleus_diameter_px(image)
    assert guess.diameter_px > 2.5 * true_d  # the trap is real
    measured = measure_nucleus_diameter_px(image)
    assert measured.diameter_px == pytest.approx(true_d, rel=0.25)
    assert measured.first_guess_px == guess.diameter_px
    assert f"first guess of {guess.diameter_px:.1f} px" in measured.describe()
    # the user's path: the command line segments with the measured size and says so
    path = tmp_path / "fibre.tif"
    tifffile.imwrite(path, image)
    assert main(["segment", str(path), "--out", str(tmp_path / "labels.tif")]) == 0
    assert "replaced the first guess" in capsys.readouterr().err
    labels = np.asarray(open_labels(tmp_path / "labels.tif")[0])
    off_fibre = np.where(fibre, 0, truth)
    assert match_labels(np.where(fibre, 0, labels), off_fibre).f1 > 0.9


def test_a_size_check_without_nuclei_keeps_the_guess():
    guess = NucleusSizeEstimate(20.0, 40, "high", 1.2)
    assert refine_with_segmentation(guess, np.zeros((32, 32), np.int32)) is guess
    specks = np.zeros((32, 32), np.int32)
    specks[::4, ::4] = np.arange(1, 65).reshape(8, 8)  # one-pixel noise is not a nucleus
    assert refine_with_segmentation(guess, specks) is guess


def test_builtin_defaults_on_nuclei_without_pixel_size():
    image, truth = fluorescence_nuclei(radius=9.0)
    backend = make_backend("builtin")  # no size given: estimated; one channel: no expansion
    labels = run_to_end(segment_tiled(image[None], backend, [0], tile_size=128))
    m = match_labels(labels, truth)
    assert m.f1 > 0.9, m


def test_channel_choices_for_rgb_and_fluorescence():
    rgb = channel_choices(is_rgb=True)
    assert rgb.nuclear == ("hematoxylin", RGB, "eosin") and rgb.default_nuclear == "hematoxylin"
    assert rgb.cytoplasm == ("none", "eosin") and rgb.default_cytoplasm == "none"
    assert channel_choices(is_rgb=True, backend="cellpose").default_nuclear == RGB
    fluo = channel_choices(["DAPI", "panCK", "CD8"])
    assert fluo.default_nuclear == "DAPI" and fluo.default_cytoplasm == "panCK"
    assert fluo.cytoplasm == ("none", "all", "DAPI", "panCK", "CD8")
    assert channel_choices(["Hoechst"]).default_cytoplasm == "none"


def test_rgb_input_channels():
    rgb, _ = he_image(size=64)
    array, channels, is_rgb = segmentation_input(rgb, True)
    assert array.shape == (5, 64, 64) and channels == [0] and not is_rgb
    array, channels, is_rgb = segmentation_input(rgb, True, nuclear=RGB, backend="cellpose")
    assert channels == [2, 3, 4] and is_rgb
    assert np.array_equal(np.asarray(array[2:5]), np.moveaxis(rgb, -1, 0).astype(np.float32))
    with pytest.raises(DvpInputError, match="hematoxylin"):
        segmentation_input(rgb, True, nuclear=RGB)  # built-in: not RGB


def test_builtin_segments_he_through_hematoxylin():
    rgb, truth = he_image()
    array, channels, _ = segmentation_input(rgb, True)
    labels = run_to_end(segment_tiled(array, make_backend("builtin"), channels, tile_size=192))
    m = match_labels(labels, truth)
    assert m.f1 > 0.85, m


def test_cli_nuclei_only_tiff_without_pixel_size(tmp_path, capsys):
    image, truth = fluorescence_nuclei(radius=9.0, seed=3)
    path = tmp_path / "nuclei.tif"
    tifffile.imwrite(path, image)  # no resolution, no channel names
    out = tmp_path / "labels.tif"
    assert main(["segment", str(path), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "pixel size 0.5 µm assumed" in err and "nuclei.tif does not record it" in err
    assert "nucleus diameter estimated from the image" in err and "--diameter-um" in err
    assert "nuclei only" in err and "--expansion-um" in err
    labels, _ = open_labels(out)
    assert match_labels(np.asarray(labels), truth).f1 > 0.9


def test_cli_he_rgb_image(tmp_path, capsys):
    rgb, truth = he_image(seed=4)
    path = tmp_path / "he.tif"
    tifffile.imwrite(path, rgb, photometric="rgb")
    out = tmp_path / "labels.tif"
    assert main(["segment", str(path), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "channels hematoxylin" in err
    assert match_labels(np.asarray(open_labels(out)[0]), truth).f1 > 0.85
    assert main(["segment", str(path), "--out", str(tmp_path / "x.tif"),
                 "--nuclear-channel", "RGB"]) == 2
    assert "RGB is for cellpose" in capsys.readouterr().err


def test_elongated_nuclei_are_not_split():
    signal, truth = nuclei_field(384, 6.0, 36, seed=7, elongation=2.6)
    image = (1000 * signal + 50).astype(np.float32)
    labels = run_to_end(segment_tiled(image[None], make_backend("builtin"), [0]))
    m = match_labels(labels, truth)
    assert m.recall > 0.85, m
