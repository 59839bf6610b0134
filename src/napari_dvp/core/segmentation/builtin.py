"""Built-in offline backend: classical nuclei + cell segmentation with scikit-image.

Needs no download and no GPU. Nuclei: Gaussian smoothing, a threshold (Otsu on
the whole image's overview, so every tile uses the same one), hole filling,
a distance transform whose maxima seed a watershed that splits touching
nuclei. Cells: each nucleus grows by at most ``max_expansion_um``; with a
cytoplasm/membrane channel (or several: any above its threshold counts) the
grown rim is kept only where that signal is present (cells without it keep a
thin rim), otherwise plain :func:`skimage.segmentation.expand_labels`.
Sizes are given in micrometres and converted with the pixel size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import gaussian, threshold_otsu
from skimage.segmentation import expand_labels, watershed

from ..errors import DvpInputError
from .backends import check_labels, params_from


@dataclass(frozen=True)
class BuiltinParams:
    """Parameters of the built-in backend.

    Attributes
    ----------
    pixel_size_um
        Size of one pixel in micrometres.
    nucleus_diameter_um
        Typical nucleus diameter (skin: keratinocyte nuclei ~6-8 µm).
    max_expansion_um
        How far a cell may extend beyond its nucleus.
    nuclear_threshold, cyto_threshold
        Intensity thresholds after smoothing (one per cytoplasm channel); ``None`` =
        Otsu (set image-wide by :meth:`BuiltinBackend.calibrate`).
    min_nucleus_fraction
        Nuclei smaller than this fraction of the expected nucleus area are dropped.
    """

    pixel_size_um: float = 0.5
    nucleus_diameter_um: float = 6.5
    max_expansion_um: float = 4.0
    nuclear_threshold: float | None = None
    cyto_threshold: tuple[float, ...] | None = None
    min_nucleus_fraction: float = 0.2

    def __post_init__(self) -> None:
        for name in ("pixel_size_um", "nucleus_diameter_um"):
            if not getattr(self, name) > 0:
                raise DvpInputError(f"{name} must be > 0 (got {getattr(self, name)})")
        if self.max_expansion_um < 0:
            raise DvpInputError(f"max_expansion_um must be >= 0 (got {self.max_expansion_um})")


@dataclass(frozen=True)
class BuiltinBackend:
    """Nuclei by distance-transform watershed, cells by limited expansion."""

    params: BuiltinParams = BuiltinParams()
    name: str = "builtin"

    @classmethod
    def from_params(cls, **params) -> BuiltinBackend:
        """Build from keyword parameters of :class:`BuiltinParams`."""
        return cls(params_from("builtin", BuiltinParams, params))

    @property
    def nucleus_px(self) -> float:
        """Nucleus diameter in pixels."""
        return self.params.nucleus_diameter_um / self.params.pixel_size_um

    @property
    def cell_diameter_px(self) -> float:
        """Largest expected cell diameter in pixels."""
        p = self.params
        return (p.nucleus_diameter_um + 2 * p.max_expansion_um) / p.pixel_size_um

    def _smooth(self, channel: np.ndarray) -> np.ndarray:
        return gaussian(channel.astype(np.float32, copy=False), sigma=max(self.nucleus_px / 8, 0.5),
                        preserve_range=True)

    def calibrate(self, overview: np.ndarray) -> BuiltinBackend:
        """Fix the Otsu thresholds from an overview (C_sel, h, w) of the whole image."""
        overview = np.asarray(overview, dtype=np.float32)
        p = self.params
        changes = {}
        if p.nuclear_threshold is None:
            changes["nuclear_threshold"] = _otsu(overview[0])
        if p.cyto_threshold is None and overview.shape[0] > 1:
            changes["cyto_threshold"] = tuple(_otsu(ch) for ch in overview[1:])
        return dataclasses.replace(self, params=dataclasses.replace(p, **changes))

    def segment(self, tile: np.ndarray) -> np.ndarray:
        """Segment one tile (C_sel, h, w) into (h, w) int32 cell labels."""
        tile = np.asarray(tile, dtype=np.float32)
        if tile.ndim == 2:
            tile = tile[None]
        p = self.params
        d = self.nucleus_px
        nuc = self._smooth(tile[0])
        thr = p.nuclear_threshold if p.nuclear_threshold is not None else _otsu(nuc)
        fg = ndi.binary_fill_holes(nuc > thr)
        min_area = p.min_nucleus_fraction * np.pi * (d / 2) ** 2
        dist = ndi.distance_transform_edt(fg)
        dist = gaussian(dist, sigma=max(d / 10, 0.5), preserve_range=True)
        comp, _ = ndi.label(fg)
        peaks = peak_local_max(dist, min_distance=max(int(d * 0.35), 1), threshold_abs=d * 0.15,
                               labels=comp, exclude_border=False)
        markers = np.zeros(fg.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1, dtype=np.int32)
        nuclei = watershed(-dist, markers, mask=fg)
        areas = np.bincount(nuclei.ravel())
        small = areas < min_area
        small[0] = True
        nuclei[small[nuclei]] = 0
        grow = p.max_expansion_um / p.pixel_size_um
        if grow <= 0:
            cells = nuclei
        elif tile.shape[0] > 1:
            # grow every nucleus (Voronoi-limited), keep the grown rim only where a
            # cytoplasm/membrane channel is bright; cells without it keep a thin rim
            # any cytoplasm/membrane channel above its threshold counts as cell body
            body = np.zeros(nuclei.shape, bool)
            for i in range(1, tile.shape[0]):
                cyto = self._smooth(tile[i])
                thr_i = (p.cyto_threshold[i - 1] if p.cyto_threshold is not None
                         and len(p.cyto_threshold) >= i else _otsu(cyto))
                body |= cyto > thr_i
            cells = expand_labels(nuclei, distance=grow)
            rim = ndi.distance_transform_edt(nuclei == 0) <= min(grow, max(d / 8, 1.0))
            cells[~(body | rim)] = 0
            cells = _keep_nucleated_pieces(cells, nuclei)
        else:
            cells = expand_labels(nuclei, distance=grow)
        return check_labels(cells, tile.shape[1:])


def _keep_nucleated_pieces(cells: np.ndarray, nuclei: np.ndarray) -> np.ndarray:
    """Drop the pieces of a cell that are not connected to its nucleus (all cells at once)."""
    from skimage.measure import label

    pieces = label(cells, background=0, connectivity=2)  # equal values connected = one piece
    with_nucleus = np.zeros(int(pieces.max()) + 1, bool)
    with_nucleus[pieces[nuclei > 0]] = True
    with_nucleus[0] = False
    return np.where(with_nucleus[pieces], cells, 0)


def _otsu(image: np.ndarray) -> float:
    values = np.asarray(image, dtype=np.float32).ravel()
    if values.size == 0 or float(values.max()) == float(values.min()):
        return float(values.max()) if values.size else 0.0
    return float(threshold_otsu(values))
