"""Segment an open slide and measure its cells in one job: what the Segment dock runs.

:func:`segment_slide` takes the slide's pixels (a ``(C, Y, X)`` fluorescence
stack or a ``(Y, X, 3)`` brightfield colour image, numpy or dask), the run's
:class:`~.params.SegmentParams`, the method's parameters and the slide's pixel
size, and is a progress generator (``(done, total, message)``) that returns a
:class:`SlideSegmentation`: the labels, the cell table, the calibrated backend
and the lines to tell the user (:func:`.report.report_lines`). Closing the
generator (Cancel) stops it at the next tile and leaves nothing behind.
:func:`measure_nucleus_size` gives the nucleus size the built-in method would
estimate, without segmenting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .backends import SegmentationBackend, make_backend
from .params import BuiltinParams, CellposeParams, SegmentParams
from .pipeline import IN_MEMORY_PIXELS, prepare_backend, segmentation_input
from .report import report_lines
from .scale import NucleusSizeEstimate, measure_nucleus_diameter_px
from .stains import BRIGHTFIELD_CHANNELS, brightfield_stack
from .tiling import ArrayReader, calibration_sample, segment_tiled

__all__ = ["SlideSegmentation", "make_method_backend", "measure_nucleus_size", "segment_slide",
           "slide_array"]

Step = tuple[int, int, str]


@dataclass
class SlideSegmentation:
    """The result of :func:`segment_slide`.

    Attributes
    ----------
    labels
        ``(Y, X)`` uint32 cell ids (numpy; a zarr array on disk for big images).
    table
        The cell table (:func:`napari_dvp.core.measure.measure_cells`).
    backend
        The calibrated backend (its ``size_estimate`` says what was estimated).
    channels
        The input channels segmented (``("RGB",)`` for a colour image as it is).
    lines
        What to tell the user (nucleus size, nuclei only, pixel size hint).
    """

    labels: Any
    table: Any
    backend: SegmentationBackend
    channels: tuple[str, ...]
    lines: list[str]

    @property
    def n_cells(self) -> int:
        """Number of cells found."""
        return len(self.table)


def make_method_backend(method: str, params: BuiltinParams | CellposeParams,
                        pixel_size_um: float) -> SegmentationBackend:
    """The backend of ``method`` with ``params`` at ``pixel_size_um``.

    For cellpose this resolves the model: a missing named model is downloaded
    (after a connection check of a few seconds) — run it off the GUI thread.
    """
    params = dataclasses.replace(params, pixel_size_um=pixel_size_um)
    return make_backend(method, **{f.name: getattr(params, f.name)
                                   for f in dataclasses.fields(params)})


def _inputs(image, is_rgb: bool, channel_names: Sequence[str], run: SegmentParams):
    array, channels, rgb = segmentation_input(image, is_rgb, channel_names, run.nuclear_channel,
                                              run.cyto_channel, run.method)
    names = BRIGHTFIELD_CHANNELS if is_rgb else tuple(channel_names)
    used = ("RGB",) if rgb else tuple(names[c] for c in channels)
    return array, channels, rgb, used


def measure_nucleus_size(image, is_rgb: bool, channel_names: Sequence[str],
                         run: SegmentParams) -> NucleusSizeEstimate:
    """The nucleus diameter (pixels) the built-in method would estimate for this image.

    Measured on the nuclear input (the hematoxylin channel of a colour image)
    at full resolution: the whole image when small, a mosaic of crops of a big one.
    """
    if is_rgb:  # the size is always read from the hematoxylin channel
        array, channels = brightfield_stack(image), [BRIGHTFIELD_CHANNELS.index("hematoxylin")]
    else:
        array, channels, _rgb, _used = _inputs(image, is_rgb, channel_names,
                                               dataclasses.replace(run, cyto_channel="none"))
    sample = calibration_sample(ArrayReader(array, channels[:1]))
    return measure_nucleus_diameter_px(sample[0])


def segment_slide(
    image,
    is_rgb: bool,
    channel_names: Sequence[str],
    run: SegmentParams,
    method_params: BuiltinParams | CellposeParams,
    pixel,
    *,
    region: tuple[int, int, int, int] | None = None,
    polygon=None,
    where: str = "the slide",
    workdir: str | None = None,
) -> Generator[Step, None, SlideSegmentation]:
    """Segment ``image`` and measure every cell; yield ``(done, total, message)``.

    Parameters
    ----------
    image
        ``(C, Y, X)`` fluorescence or ``(Y, X, 3)`` RGB array (numpy, dask, zarr).
    is_rgb, channel_names
        What the slide is (channel names of a fluorescence image).
    run
        Method, channels, tile size and parallel workers.
    method_params
        :class:`~.params.BuiltinParams` or :class:`~.params.CellposeParams`.
    pixel
        The slide's :class:`~napari_dvp.core.slide.model.PixelSize`: turns µm
        parameters into pixels and the measurements into µm.
    region, polygon
        Segment only this box ``(row0, row1, col0, col1)``; keep only the cells
        whose centre lies in ``polygon`` (shapely, x = column, y = row).
    where
        The slide's name, for the lines said to the user.
    workdir
        Folder for the labels of big images (default: a new temporary folder).

    Raises
    ------
    DvpInputError
        For a channel the image does not have, a cellpose model that is missing
        or not a model, a region outside the image.
    """
    from ..measure import measure_cells_iter

    array, channels, rgb, used = _inputs(image, is_rgb, channel_names, run)
    if run.method == "cellpose":
        yield 0, 1, "Loading the cellpose model…"
    backend = prepare_backend(make_method_backend(run.method, method_params, pixel.um), rgb)
    reader = ArrayReader(array, channels)
    yield 0, 1, "Measuring the image (nucleus size, contrast)…"
    backend = backend.calibrate(calibration_sample(reader))
    out = None
    if math.prod(reader.shape) > IN_MEMORY_PIXELS:
        folder = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="napari-dvp-"))
        out = folder / "labels.zarr"
    with contextlib.ExitStack() as stack:
        runner = None
        if run.workers:
            from .distributed import DistributedRunner, open_client

            yield 0, 1, f"Starting {run.workers} dask worker(s)…"
            runner = DistributedRunner(stack.enter_context(open_client(None, run.workers)))
        tiles = segment_tiled(reader, backend, channels, tile_size=run.tile_size, region=region,
                              polygon=polygon, runner=runner, out=out, calibrate=False)
        labels = yield from _say(tiles, "Segmenting: tile {} of {}")
    if is_rgb:
        measured, names = brightfield_stack(image), list(BRIGHTFIELD_CHANNELS)
    else:
        measured, names = image, list(channel_names)
    table = yield from _say(measure_cells_iter(labels, measured, names, pixel.um),
                            "Measuring cells: part {} of {}")
    n_used = 1 if rgb else len(channels)
    lines = report_lines(backend, n_used, pixel, where)
    return SlideSegmentation(labels, table, backend, used, lines)


def _say(gen, text: str):
    """Forward ``(done, total)`` steps as ``(done, total, message)``; return the result."""
    try:
        while True:
            try:
                done, total = next(gen)[:2]
            except StopIteration as stop:
                return stop.value
            yield done, total, text.format(done, total)
    finally:
        gen.close()  # on Cancel: the inner job cleans up now (temporary output removed)


def slide_array(planes: Sequence, is_rgb: bool):
    """The slide's pixels from its layers' full-resolution data: ``(C, Y, X)`` or ``(Y, X, 3)``.

    Raises
    ------
    DvpInputError
        When the channels differ in size.
    """
    from ..errors import DvpInputError

    if is_rgb:
        return planes[0]
    shapes = {tuple(p.shape) for p in planes}
    if len(shapes) > 1:
        raise DvpInputError(f"the slide's channels differ in size ({', '.join(map(str, shapes))}); "
                            "open the channels of one image together")
    if all(isinstance(p, np.ndarray) for p in planes):
        return np.stack(planes)
    import dask.array as da

    return da.stack([da.asarray(p) for p in planes])
