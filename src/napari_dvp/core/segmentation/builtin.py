"""Built-in offline backend: classical nuclei + cell segmentation with scikit-image.

Needs no download and no GPU. Nuclei come from :func:`.nuclei.segment_nuclei`
(top-hat foreground, h-maxima seeds on distance + intensity, watershed). Their
size is the user's (``nucleus_diameter_um``) or, by default, estimated from the
image when the backend is calibrated (:func:`.scale.measure_nucleus_diameter_px`),
so images of any magnification work without a pixel size. Cells: each nucleus
grows by at most ``max_expansion_um``; with a cytoplasm/membrane channel (or
several: any above its threshold counts) the grown rim is kept only where that
signal is present (cells without it keep a thin rim). A nuclei-only input gives
nuclei unless an expansion is asked for.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import gaussian, threshold_otsu
from skimage.segmentation import expand_labels

from .backends import check_labels, params_from
from .nuclei import NucleiSettings, foreground_threshold, nuclear_range, segment_nuclei
from .params import DEFAULT_EXPANSION_UM, BuiltinParams
from .scale import DEFAULT_DIAMETER_PX, NucleusSizeEstimate, measure_nucleus_diameter_px


@dataclass(frozen=True)
class BuiltinBackend:
    """Nuclei by seeded watershed, cells by limited expansion."""

    params: BuiltinParams = dataclasses.field(default_factory=BuiltinParams)
    name: str = "builtin"
    #: the size estimate made by :meth:`calibrate` (``None`` if the size was given)
    size_estimate: NucleusSizeEstimate | None = None

    @classmethod
    def from_params(cls, **params) -> BuiltinBackend:
        """Build from keyword parameters of :class:`BuiltinParams`."""
        return cls(params_from("builtin", BuiltinParams, params))

    @property
    def nucleus_px(self) -> float:
        """Nucleus diameter in pixels (a default guess until calibrated)."""
        p = self.params
        if p.nucleus_diameter_px:
            return p.nucleus_diameter_px
        if p.nucleus_diameter_um:
            return p.nucleus_diameter_um / p.pixel_size_um
        return DEFAULT_DIAMETER_PX

    def expansion_px(self, n_channels: int) -> float:
        """How far cells grow beyond their nucleus, in pixels, for an input of ``n_channels``."""
        p = self.params
        um = p.max_expansion_um
        if um is None:
            um = DEFAULT_EXPANSION_UM if n_channels > 1 else 0.0
        return um / p.pixel_size_um

    @property
    def cell_diameter_px(self) -> float:
        """Largest expected cell diameter in pixels (at least two nucleus diameters)."""
        return max(self.nucleus_px + 2 * self.expansion_px(2), 2 * self.nucleus_px)

    def _smooth(self, channel: np.ndarray) -> np.ndarray:
        return gaussian(channel.astype(np.float32, copy=False), sigma=max(self.nucleus_px / 8, 0.5),
                        preserve_range=True)

    def calibrate(self, overview: np.ndarray) -> BuiltinBackend:
        """Fix the nucleus size (if not given), contrast and thresholds from the whole image.

        ``overview`` is a full-resolution sample (C_sel, h, w) of the image
        (:func:`.tiling.calibration_sample`): the whole of a small image, a mosaic
        of crops of a big one.
        """
        overview = np.asarray(overview, dtype=np.float32)
        p = self.params
        changes: dict = {}
        estimate = self.size_estimate
        value_range = p.nuclear_range or nuclear_range(overview[0])
        changes["nuclear_range"] = value_range
        if not p.nucleus_diameter_px and not p.nucleus_diameter_um:
            estimate = measure_nucleus_diameter_px(overview[0], value_range)
            changes["nucleus_diameter_px"] = estimate.diameter_px
        diameter = changes.get("nucleus_diameter_px") or self.nucleus_px
        if p.nuclear_threshold is None:
            changes["nuclear_threshold"] = foreground_threshold(overview[0], diameter, value_range)
        if p.cyto_threshold is None and overview.shape[0] > 1:
            changes["cyto_threshold"] = tuple(_otsu(self._smooth(ch)) for ch in overview[1:])
        return dataclasses.replace(self, params=dataclasses.replace(p, **changes),
                                   size_estimate=estimate)

    def segment(self, tile: np.ndarray) -> np.ndarray:
        """Segment one tile (C_sel, h, w) into (h, w) int32 cell labels."""
        tile = np.asarray(tile, dtype=np.float32)
        if tile.ndim == 2:
            tile = tile[None]
        p = self.params
        d = self.nucleus_px
        settings = NucleiSettings(min_fraction=p.min_nucleus_fraction)
        nuclei = segment_nuclei(tile[0], d, value_range=p.nuclear_range,
                                threshold=p.nuclear_threshold, settings=settings)
        grow = self.expansion_px(tile.shape[0])
        if grow <= 0:
            cells = nuclei
        elif tile.shape[0] > 1:
            # grow every nucleus (Voronoi-limited), keep the grown rim only where a
            # cytoplasm/membrane channel is bright; cells without it keep a thin rim;
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
