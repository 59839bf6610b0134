"""Parameters of segmentation, declared once: the Segment dock's forms and ``napari-dvp segment``.

Three dataclasses, each field made with :func:`~napari_dvp.core.params.param`
(default, label, help, unit, range):

* :class:`SegmentParams` — what to segment and how it is run (method, channels,
  tile size, parallel workers);
* :class:`BuiltinParams` — the built-in method (:mod:`.builtin`);
* :class:`CellposeParams` — cellpose (:mod:`.cellpose_backend`).

Fields that a run fills in (image-wide thresholds after calibration, the RGB
flag) are plain dataclass fields: neither the dock nor the command line shows
them. The pixel size is not a parameter of its own: it comes from the slide by
the one rule (:func:`~napari_dvp.core.slide.model.pixel_size_rule`); left
``None`` it is that rule's assumed value.

A light module (no numpy): command modules read it to build ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DvpInputError
from ..params import check_params, param

__all__ = ["DEFAULT_EXPANSION_UM", "DEFAULT_MODEL", "METHODS", "BuiltinParams",
           "CellposeParams", "SegmentParams"]

METHODS = ("builtin", "cellpose")
"""Segmentation methods (backend names)."""

DEFAULT_EXPANSION_UM = 4.0
"""Cell expansion (µm) used when a cytoplasm/membrane channel is given and none is set."""

DEFAULT_MODEL = "cpsam"
"""cellpose's default model (Cellpose-SAM)."""


def _pixel_size(obj) -> None:
    """Fill an unset pixel size with the one rule's value and refuse a non-positive one."""
    if obj.pixel_size_um is None:
        from ..slide.model import pixel_size_rule

        object.__setattr__(obj, "pixel_size_um", pixel_size_rule().um)
    if not obj.pixel_size_um > 0:
        raise DvpInputError(f"pixel_size_um must be > 0 (got {obj.pixel_size_um})")


@dataclass(frozen=True)
class SegmentParams:
    """What to segment and how to run it, whatever the method."""

    method: str = param(
        "builtin", label="Method", choices=METHODS, flag="backend",
        help="builtin: scikit-image, no download, no GPU; cellpose: the cellpose 4 AI model "
             "(more accurate on real tissue; needs its model file and is slow without a GPU)")
    nuclear_channel: str | None = param(
        None, label="Nuclear channel", gui=False,
        help="name or number of the channel where nuclei are bright; automatic: DAPI, Hoechst "
             "… by name; for a brightfield colour image hematoxylin (built-in), RGB (the colour "
             "image as it is; cellpose) or eosin")
    cyto_channel: str | None = param(
        None, label="Cytoplasm channel", gui=False,
        help="cytoplasm/membrane channel(s): a name, 'CD45,panCK', 'all' (every non-nuclear "
             "channel) or 'none' (nuclei only); automatic: panCK, keratin … by name, else none")
    tile_size: int = param(
        1024, label="Tile size", unit="px", min=128, max=8192, step=256,
        help="the image is segmented in square pieces of this side; memory grows with it")
    workers: int = param(
        0, label="Parallel workers", min=0, max=64,
        help="0: in this process; N: a local dask cluster of N worker processes")

    def __post_init__(self) -> None:
        check_params(self)


@dataclass(frozen=True)
class BuiltinParams:
    """Parameters of the built-in backend.

    Attributes
    ----------
    pixel_size_um
        Size of one pixel in micrometres (turns the µm sizes into pixels);
        ``None``: the one rule's assumed value.
    nucleus_diameter_um
        Typical nucleus diameter; ``None`` (default) = estimated from the image
        when the backend is calibrated.
    nucleus_diameter_px
        The same in pixels; set by :meth:`BuiltinBackend.calibrate` from the
        estimate, or by a caller who knows the size in pixels only. Wins over
        ``nucleus_diameter_um``.
    max_expansion_um
        How far a cell may extend beyond its nucleus; ``None`` (default) = 0 for a
        nuclei-only input, :data:`DEFAULT_EXPANSION_UM` with a cytoplasm channel.
    nuclear_range, nuclear_threshold, cyto_threshold
        Image-wide contrast range and thresholds (set by ``calibrate``; ``None`` =
        from each tile).
    min_nucleus_fraction
        Nuclei smaller than this fraction of the expected nucleus area are dropped.
    """

    pixel_size_um: float | None = param(
        None, label="Pixel size", unit="µm", gui=False, flag="", optional=True,
        help="size of one pixel (from the slide)")
    nucleus_diameter_um: float | None = param(
        None, label="Nucleus diameter", unit="µm", min=1.0, max=100.0, step=0.5, decimals=1,
        optional=True, flag="diameter-um",
        help="typical nucleus diameter (skin: 6–8 µm); automatic: estimated from the image; "
             "set it when nuclei come out split or merged")
    nucleus_diameter_px: float | None = param(
        None, label="Nucleus diameter", unit="px", min=2.0, max=10000.0, optional=True,
        gui=False, flag="diameter-px",
        help="typical nucleus diameter in pixels, for images whose pixel size is unknown "
             "(wins over --diameter-um); automatic: estimated from the image")
    max_expansion_um: float | None = param(
        None, label="Cell expansion", unit="µm", min=0.0, max=50.0, step=0.5, decimals=1,
        optional=True, flag="expansion-um",
        help="how far a cell reaches beyond its nucleus; automatic: 0 (nuclei only) without a "
             f"cytoplasm channel, {DEFAULT_EXPANSION_UM:g} µm with one")
    nuclear_range: tuple[float, float] | None = None
    nuclear_threshold: float | None = None
    cyto_threshold: tuple[float, ...] | None = None
    min_nucleus_fraction: float = param(
        0.15, label="Smallest nucleus (fraction of a typical one)", min=0.0, max=1.0, step=0.05,
        gui=False,
        help="nuclei smaller than this fraction of the typical nucleus area are dropped as debris")

    def __post_init__(self) -> None:
        _pixel_size(self)
        check_params(self)


@dataclass(frozen=True)
class CellposeParams:
    """Parameters of the cellpose backend (see ``CellposeModel.eval``).

    Attributes
    ----------
    model
        Model name (``cpsam``, ``cpsam_v2`` …) or path to a local model file.
    pixel_size_um
        Pixel size, to turn ``diameter_um`` into pixels (``None``: the one
        rule's assumed value).
    diameter_um
        Typical cell diameter in µm; ``None`` lets cellpose use its default (30 px).
    flow_threshold, cellprob_threshold
        cellpose's thresholds (raise flow / lower cellprob to find more cells).
    normalize
        Percentile-normalise each channel (image-wide percentiles after calibrate).
    batch_size
        Number of 256² patches the network sees at once.
    gpu
        Use a GPU when torch sees one.
    lowhigh
        Image-wide 1st/99th percentiles per channel (set by ``calibrate``).
    allow_download
        Download missing weights of a named model (after a quick connection check).
    rgb
        The tile's three channels are a brightfield RGB image and go to cellpose
        as they are (red, green, blue); otherwise they are nuclear + cytoplasm.
    """

    model: str = param(
        DEFAULT_MODEL, label="Model", gui=False,
        help="cellpose model name (cpsam, cpsam_v2 …) or a local model file; a named model's "
             "weights download on first use when online")
    pixel_size_um: float | None = param(
        None, label="Pixel size", unit="µm", gui=False, flag="", optional=True,
        help="size of one pixel (from the slide)")
    diameter_um: float | None = param(
        None, label="Cell diameter", unit="µm", min=1.0, max=500.0, step=1.0, decimals=1,
        optional=True, flag="cell-diameter-um",
        help="typical cell diameter; automatic: cellpose's own (30 px)")
    flow_threshold: float = param(
        0.4, label="Flow threshold", min=0.0, max=3.0, step=0.1, decimals=2,
        help="cellpose: raise it to find more (less regular) cells")
    cellprob_threshold: float = param(
        0.0, label="Cell probability threshold", min=-6.0, max=6.0, step=0.5, decimals=2,
        help="cellpose: lower it to find more and larger cells")
    normalize: bool = param(
        True, label="Normalise contrast", gui=False,
        help="scale each channel to its 1st-99th percentile of the whole image")
    batch_size: int = param(
        8, label="Batch size", min=1, max=256, gui=False,
        help="256² patches the network sees at once (more is faster on a big GPU)")
    gpu: bool = param(True, label="Use a GPU if there is one",
                      help="use an NVIDIA GPU when PyTorch sees one; otherwise the CPU")
    lowhigh: tuple[tuple[float, float], ...] | None = None
    allow_download: bool = True
    rgb: bool = False

    def __post_init__(self) -> None:
        _pixel_size(self)
        check_params(self)
