"""Classical nucleus segmentation that works without tuning: scikit-image and scipy only.

One nuclear channel in which nuclei are bright (fluorescence DNA stain, or the
hematoxylin optical density of a brightfield image), in four steps, every size
derived from the nucleus radius ``r``:

1. **Contrast**: intensities scaled to [0, 1] between image-wide percentiles
   (:func:`nuclear_range`), smoothed with sigma ``0.15 r``.
2. **Foreground**: the background (a grey opening with a disk of radius ``2 r``,
   computed on a down-sampled copy) is subtracted, which removes bright tissue
   or cytoplasm larger than nuclei. A pixel is foreground above ``T`` = 0.8 x
   the image-wide Otsu threshold of that top-hat image, or, for dim nuclei
   beside bright ones, above its local mean (sigma ``2 r``) and above ``0.3 T``.
3. **Seeds**: h-maxima (``h = 0.05``) of a map that adds the normalised distance
   to the background (``distance / r``, smoothed with sigma ``r / 10``) and the
   smoothed intensity, so touching nuclei split along the dimmer and narrower
   line between them.
4. **Watershed** of that map inside the foreground. Each nucleus then ends where
   its top-hat signal falls below 20 % of its own peak (a per-nucleus
   half-maximum-like outline: bright nuclei are not inflated by their blur, dim
   ones keep their extent), and pieces smaller than 15 % of the expected nucleus
   area are dropped.

The constants (``h``, intensity weight, smoothing, outline fraction, threshold
factor) were chosen on the mean F1 over the whole nuclei evaluation set, checked
on its even- and odd-numbered halves (``bench/bench_nuclei_eval.py``,
docs/segmentation.md) and on the synthetic sample (F1 and fibroblast recall,
``bench/bench_segment.py``), never per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

#: intensity percentiles that span [0, 1]
LOW_PERCENTILE, HIGH_PERCENTILE = 1.0, 99.5


@dataclass(frozen=True)
class NucleiSettings:
    """Settings of :func:`segment_nuclei` (defaults are the evaluated ones).

    Attributes
    ----------
    seed_h
        Minimum height of a seed above its surroundings, in units of the seed map
        (nucleus radii of distance plus weighted intensity).
    intensity_weight
        Weight of the smoothed [0, 1] intensity in the seed map.
    local_fraction
        Dim nuclei count where they exceed their local mean and this fraction of
        the global threshold.
    min_fraction
        Pieces smaller than this fraction of the expected nucleus area are dropped.
    smooth_fraction
        Sigma of the intensity smoothing, as a fraction of the nucleus radius.
    distance_smooth_fraction
        Sigma of the distance-map smoothing, as a fraction of the nucleus radius.
    outline_fraction
        Each nucleus keeps the pixels whose top-hat signal reaches this fraction of
        its own peak (0 = the whole watershed region).
    threshold_factor
        The foreground threshold is this multiple of the image-wide Otsu threshold.
    """

    seed_h: float = 0.05
    intensity_weight: float = 1.0
    local_fraction: float = 0.3
    min_fraction: float = 0.15
    smooth_fraction: float = 0.15
    distance_smooth_fraction: float = 0.1
    outline_fraction: float = 0.2
    threshold_factor: float = 0.8


def nuclear_range(channel: np.ndarray) -> tuple[float, float]:
    """The (1st, 99.5th) percentiles of a nuclear channel: the [0, 1] contrast range."""
    lo, hi = np.percentile(np.asarray(channel, dtype=np.float32), [LOW_PERCENTILE, HIGH_PERCENTILE])
    return float(lo), float(hi) if hi > lo else float(lo) + 1.0


def _scaled(channel: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    lo, hi = value_range
    return np.clip((np.asarray(channel, np.float32) - lo) / max(hi - lo, 1e-6), 0, 1)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.filters import gaussian

    return gaussian(x, sigma=max(sigma, 0.5), preserve_range=True).astype(np.float32)


def background(image: np.ndarray, radius: float) -> np.ndarray:
    """Grey opening of ``image`` with a disk of ``radius`` px, on a down-sampled copy."""
    from skimage.morphology import disk, opening
    from skimage.transform import resize

    step = max(1, int(radius // 4))
    small = image[::step, ::step]
    bg = opening(small, disk(max(1, round(radius / step))))
    bg = _smooth(bg, 1.0)
    return resize(bg, image.shape, order=1, preserve_range=True).astype(np.float32)


def tophat_signal(channel: np.ndarray, radius: float, value_range: tuple[float, float],
                  smooth_fraction: float = NucleiSettings.smooth_fraction,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(smoothed [0, 1] intensity, background-subtracted intensity) of a nuclear channel."""
    s = _smooth(_scaled(channel, value_range), smooth_fraction * radius)
    return s, s - background(s, 2 * radius)


def foreground_threshold(channel: np.ndarray, diameter_px: float,
                         value_range: tuple[float, float] | None = None) -> float:
    """Image-wide Otsu threshold of the top-hat signal (call on the whole image's sample)."""
    from skimage.filters import threshold_otsu

    value_range = value_range or nuclear_range(channel)
    _s, t = tophat_signal(channel, diameter_px / 2, value_range)
    if float(t.max()) <= float(t.min()):
        return float(t.max())
    return float(threshold_otsu(t))


def segment_nuclei(channel: np.ndarray, diameter_px: float, *,
                   value_range: tuple[float, float] | None = None,
                   threshold: float | None = None,
                   settings: NucleiSettings = NucleiSettings()) -> np.ndarray:
    """Segment the nuclei of one bright-nuclei channel into int32 labels (0 = background).

    Parameters
    ----------
    channel
        2-D array in which nuclei are bright.
    diameter_px
        Typical nucleus diameter in pixels (:func:`.scale.measure_nucleus_diameter_px`).
    value_range, threshold
        Image-wide contrast range (:func:`nuclear_range`) and foreground threshold
        (:func:`foreground_threshold`); ``None`` = from this array (a whole image).
    settings
        The evaluated defaults; see :class:`NucleiSettings`.
    """
    from skimage.filters import threshold_otsu
    from skimage.morphology import h_maxima
    from skimage.segmentation import watershed

    channel = np.asarray(channel, np.float32)
    r = diameter_px / 2
    value_range = value_range or nuclear_range(channel)
    s, t = tophat_signal(channel, r, value_range, settings.smooth_fraction)
    if threshold is None:
        threshold = float(threshold_otsu(t)) if float(t.max()) > float(t.min()) else np.inf
    threshold = settings.threshold_factor * threshold
    local = _smooth(t, 2 * r)
    fg = (t > threshold) | ((t > local) & (t > settings.local_fraction * threshold))
    fg = ndi.binary_fill_holes(fg)
    fg = ndi.binary_opening(fg, iterations=max(1, int(r / 4)))
    if not fg.any():
        return np.zeros(channel.shape, np.int32)
    distance = ndi.distance_transform_edt(fg).astype(np.float32)
    seed_map = _smooth(distance, settings.distance_smooth_fraction * r) / r
    seed_map += settings.intensity_weight * s
    markers, n = ndi.label(h_maxima(seed_map, settings.seed_h))
    nuclei = watershed(-seed_map, markers, mask=fg).astype(np.int32)
    if settings.outline_fraction > 0 and n:
        peak = np.zeros(n + 1, np.float32)
        peak[1:] = ndi.maximum(t, nuclei, np.arange(1, n + 1))
        nuclei[t < settings.outline_fraction * peak[nuclei]] = 0
    area = np.bincount(nuclei.ravel())
    small = area < settings.min_fraction * np.pi * r * r
    small[0] = True
    nuclei[small[nuclei]] = 0
    return nuclei
