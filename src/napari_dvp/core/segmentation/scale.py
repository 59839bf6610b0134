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
    """

    diameter_px: float
    n_objects: int
    confidence: str
    spread: float

    def describe(self, pixel_size_um: float | None = None, source: str = "") -> str:
        """One line for the user: what was estimated, and how to correct it."""
        text = f"nucleus diameter estimated from the image: {self.diameter_px:.1f} px"
        if pixel_size_um:
            text += f" = {self.diameter_px * pixel_size_um:.1f} µm at {pixel_size_um:g} µm/px"
            if source:
                text += f" ({source})"
        text += f" (from {self.n_objects} objects, confidence {self.confidence})"
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
