"""How big are the nuclei? Estimate the nucleus diameter in pixels from the image itself.

Used when an image does not record its pixel size (or the user gives no nucleus
size): the built-in backend then works in pixels, and the caller reports what was
assumed. The estimate is a granulometry on the foreground: in a bright-nuclei
channel (fluorescence nuclear stain, or the hematoxylin optical density of a
brightfield image), smoothed with sigma 2 px, the foreground is split into
connected pieces; the largest inscribed circle of each piece (the maximum of its
distance transform) is the radius of its nuclei, whether the piece holds one
nucleus or a clump of touching ones.

Three guards make it hold on real images (chosen on the whole nuclei evaluation
set, docs/segmentation.md):

- the threshold is the one of :data:`THRESHOLD_FACTORS` x Otsu that gives the
  most pieces, so nuclei inside a bright cell body or tissue fold (one Otsu
  piece) are counted separately;
- pieces thinner than :data:`MIN_RADIUS_PX` are noise;
- pieces whose radius is below :data:`RELATIVE_MIN` of the area-weighted median
  radius are debris or stain specks (they are many, but cover little).

The median radius of the remaining pieces, times :data:`EDGE_FACTOR` (the edge
lies inside the blurred nucleus outline), is the diameter.

A first guess can still be far off where a fibre, fold or bright cell body joins
many nuclei into one piece at every threshold. The built-in method therefore
checks it against a first segmentation, as cellpose's size model does
(:func:`refine_with_segmentation`): where the median segmented nucleus differs
from the guess by more than :data:`REFINE_TOLERANCE` x, the measured size is used.
:func:`measure_nucleus_diameter_px` does both; it is the one place that says how
big an image's nuclei are (the built-in method's calibration and the Segment
dock's size check call it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

#: the thresholded outline of a blurred nucleus lies inside the true outline. With
#: this factor the estimate / truth ratio over the nuclei evaluation set
#: (docs/segmentation.md) has a median of 1.10 (fluorescence) and 0.95 (brightfield);
#: 1.15 and 1.35 both gave a lower mean F1 over the whole set
EDGE_FACTOR = 1.25
#: pieces whose inscribed radius is below this many pixels are noise, not nuclei
MIN_RADIUS_PX = 3.0
#: thresholds tried, as multiples of the Otsu threshold (the one with most pieces wins)
THRESHOLD_FACTORS = (0.75, 1.0, 1.25, 1.5, 2.0)
#: pieces below this fraction of the area-weighted median radius are specks
RELATIVE_MIN = 0.4
#: smoothing (px) before thresholding: stain texture does not break nuclei apart
SMOOTH_SIGMA_PX = 2.0
#: the fallback when an image shows no nucleus-like pieces at all
DEFAULT_DIAMETER_PX = 13.0
#: the check segments at most this many pixels on a side (the centre of the sample):
#: enough nuclei for a median, a small cost next to the slide's own segmentation
CHECK_SIDE_PX = 1024
#: a first segmentation whose median nucleus differs from the guess by more than
#: this factor replaces the guess (1.3, 1.5 and 2 were measured on the nuclei
#: evaluation set: 1.5 and 2 replaced only the two fooled guesses, 1.3 good ones too;
#: docs/segmentation.md)
REFINE_TOLERANCE = 1.5


@dataclass(frozen=True)
class NucleusSizeEstimate:
    """A nucleus diameter estimated from an image.

    Attributes
    ----------
    diameter_px
        Typical (median) nucleus diameter in pixels.
    n_objects
        Number of foreground pieces the estimate rests on.
    confidence
        ``"high"`` (>= 30 pieces, spread < 2x), ``"low"`` (few pieces or a wide
        spread) or ``"none"`` (nothing found: :data:`DEFAULT_DIAMETER_PX` returned).
    spread
        Ratio of the 75th to the 25th percentile of the pieces' diameters.
    first_guess_px
        The granulometry's guess where a first segmentation replaced it
        (:func:`refine_with_segmentation`), else ``None``.
    """

    diameter_px: float
    n_objects: int
    confidence: str
    spread: float
    first_guess_px: float | None = None

    def describe(self, pixel_size_um: float | None = None, source: str = "") -> str:
        """One line for the user: what was estimated, and how to correct it."""
        text = f"nucleus diameter estimated from the image: {self.diameter_px:.1f} px"
        if pixel_size_um:
            text += f" = {self.diameter_px * pixel_size_um:.1f} µm at {pixel_size_um:g} µm/px"
            if source:
                text += f" ({source})"
        text += f" (from {self.n_objects} objects, confidence {self.confidence})"
        if self.first_guess_px:
            text += (f"; measured on a first segmentation, which replaced the first guess of "
                     f"{self.first_guess_px:.1f} px")
        return text


def _norm(image: np.ndarray, low: float = 1.0, high: float = 99.5) -> np.ndarray:
    lo, hi = np.percentile(image, [low, high])
    return np.clip((image - lo) / max(float(hi - lo), 1e-6), 0, 1).astype(np.float32)


def estimate_nucleus_diameter_px(image) -> NucleusSizeEstimate:
    """Estimate the typical nucleus diameter (pixels) of a bright-nuclei image.

    Parameters
    ----------
    image
        2-D array (numpy or dask) at full resolution in which nuclei are bright:
        a fluorescence nuclear channel, or the hematoxylin channel of a
        brightfield image (:func:`.stains.hematoxylin`). Images larger than
        2048² should be given as a mosaic of full-resolution crops
        (:func:`.tiling.calibration_sample`), never down-sampled.

    Returns
    -------
    NucleusSizeEstimate
        Diameter in pixels with the number of objects it rests on and a confidence.
    """
    from skimage.filters import gaussian, threshold_otsu

    x = np.asarray(image, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {x.shape}")
    x = gaussian(_norm(x), SMOOTH_SIGMA_PX, preserve_range=True)
    if float(x.max()) <= float(x.min()):
        return NucleusSizeEstimate(DEFAULT_DIAMETER_PX, 0, "none", float("nan"))
    otsu = threshold_otsu(x)
    radius, area = np.zeros(0), np.zeros(0)
    for factor in THRESHOLD_FACTORS:
        r, a = _piece_radii(x > factor * otsu)
        if r.size > radius.size:
            radius, area = r, a
    if radius.size == 0:
        return NucleusSizeEstimate(DEFAULT_DIAMETER_PX, 0, "none", float("nan"))
    order = np.argsort(radius)
    cumulative = np.cumsum(area[order])
    weighted_median = radius[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])]
    radius = radius[radius >= RELATIVE_MIN * weighted_median]
    q25, q50, q75 = np.percentile(radius, [25, 50, 75])
    spread = float(q75 / max(q25, 1e-6))
    confidence = "high" if radius.size >= 30 and spread < 2 else "low"
    return NucleusSizeEstimate(float(2 * q50 * EDGE_FACTOR), int(radius.size), confidence, spread)


def _piece_radii(foreground: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inscribed radius, area) of each hole-filled piece at least :data:`MIN_RADIUS_PX` thick."""
    fg = ndi.binary_fill_holes(foreground)
    pieces, n = ndi.label(fg)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    radius = np.asarray(ndi.maximum(ndi.distance_transform_edt(fg), pieces, np.arange(1, n + 1)))
    area = np.bincount(pieces.ravel())[1:]
    keep = radius >= MIN_RADIUS_PX
    return radius[keep], area[keep].astype(np.float64)


def measure_nucleus_diameter_px(image, value_range: tuple[float, float] | None = None
                                ) -> NucleusSizeEstimate:
    """The nucleus diameter (pixels) of a bright-nuclei image: a guess, checked by segmenting.

    Parameters
    ----------
    image
        As for :func:`estimate_nucleus_diameter_px` (full resolution). The check
        segments its centre, at most :data:`CHECK_SIDE_PX` on a side.
    value_range
        The image-wide contrast range (:func:`.nuclei.nuclear_range`); ``None`` =
        from ``image``.

    Returns
    -------
    NucleusSizeEstimate
        :func:`estimate_nucleus_diameter_px`, replaced by the median nucleus of a
        first segmentation where the two disagree (:func:`refine_with_segmentation`).
    """
    from .nuclei import NucleiSettings, nuclear_range, segment_nuclei

    x = np.asarray(image, dtype=np.float32)
    estimate = estimate_nucleus_diameter_px(x)
    if estimate.confidence == "none":
        return estimate
    r0, c0 = (max((n - CHECK_SIDE_PX) // 2, 0) for n in x.shape)
    centre = x[r0:r0 + CHECK_SIDE_PX, c0:c0 + CHECK_SIDE_PX]
    # small pieces kept: a guess far too large must not drop the true nuclei as debris
    first = segment_nuclei(centre, estimate.diameter_px, value_range=value_range or
                           nuclear_range(x), settings=NucleiSettings(min_fraction=0.0))
    return refine_with_segmentation(estimate, first)


def segmented_diameters_px(labels: np.ndarray) -> np.ndarray:
    """Equivalent diameters (pixels) of the objects of a label image.

    Objects smaller than a disk of :data:`MIN_RADIUS_PX` are noise and not counted.
    """
    area = np.bincount(np.asarray(labels).ravel())[1:]
    area = area[area >= np.pi * MIN_RADIUS_PX ** 2]
    return 2 * np.sqrt(area / np.pi)


def refine_with_segmentation(estimate: NucleusSizeEstimate,
                             labels: np.ndarray) -> NucleusSizeEstimate:
    """Check a size estimate against nuclei segmented with it; keep or replace it.

    Parameters
    ----------
    estimate
        The guess of :func:`estimate_nucleus_diameter_px`.
    labels
        Nuclei segmented at that guess (on the same pixels), small ones kept.

    Returns
    -------
    NucleusSizeEstimate
        ``estimate`` itself when the median segmented nucleus is within
        :data:`REFINE_TOLERANCE` x of it (or nothing was segmented); otherwise
        the measured median diameter, with ``first_guess_px`` set and the
        confidence rule of :func:`estimate_nucleus_diameter_px` applied to the
        segmented nuclei.
    """
    diameters = segmented_diameters_px(labels)
    if diameters.size == 0:
        return estimate
    q25, measured, q75 = np.percentile(diameters, [25, 50, 75])
    ratio = measured / estimate.diameter_px
    if 1 / REFINE_TOLERANCE <= ratio <= REFINE_TOLERANCE:
        return estimate
    spread = float(q75 / max(q25, 1e-6))
    confidence = "high" if diameters.size >= 30 and spread < 2 else "low"
    return NucleusSizeEstimate(float(measured), int(diameters.size), confidence, spread,
                               first_guess_px=estimate.diameter_px)
