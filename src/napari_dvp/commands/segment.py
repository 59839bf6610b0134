"""``napari-dvp segment``: segment every cell of an image into a labels file.

The options come from the parameter dataclasses the Segment dock uses
(:mod:`napari_dvp.core.segmentation.params`), so a default, a range or a help
text lives in one place. The pixel size follows the one rule
(:func:`~napari_dvp.core.slide.model.pixel_size_rule`: ``--pixel-size-um``, else
the file's, else assumed) and is said in one line.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

from ._safety import add_overwrite, float_range, int_range, outputs

NAME = "segment"
HELP = ("segment cells (cellpose or the built-in offline method), tile by tile, in this process "
        "or on a dask cluster; writes a labels .tif or .zarr")

GROUPS = {"builtin": "built-in method", "cellpose": "cellpose"}


def _method_classes() -> dict[str, type]:
    from ..core.segmentation.params import BuiltinParams, CellposeParams

    return {"builtin": BuiltinParams, "cellpose": CellposeParams}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..core.segmentation.params import SegmentParams
    from ._params import add_params

    parser.add_argument("image", type=Path, help="image file (OME-TIFF, TIFF, zarr, PNG/JPEG)")
    parser.add_argument("--out", type=Path, required=True,
                        help="labels file to write: .tif, .ome.tif or .zarr")
    add_params(parser, SegmentParams)
    parser.add_argument("--pixel-size-um", type=float_range(0, 1000, lo_open=True), default=None,
                        help="pixel size in µm; default: what the file records (else 0.5 µm is "
                             "assumed, and said)")
    parser.add_argument("--overlap", type=int_range(0, 4096), default=None,
                        help="tile margin in pixels; default: two cell diameters")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (tcp://host:8786) instead of "
                             "--workers")
    for method, cls in _method_classes().items():
        add_params(parser.add_argument_group(GROUPS[method]), cls)
    add_overwrite(parser)


def _other_method_options(args: argparse.Namespace, method: str) -> list[str]:
    """Options of the method not chosen that were given a non-default value."""
    from ..core.params import param_fields

    given = []
    for other, cls in _method_classes().items():
        if other == method:
            continue
        for f, info in param_fields(cls):
            if info.flag != "" and getattr(args, f.name, f.default) != f.default:
                given.append("--" + (info.flag or f.name.replace("_", "-")))
    return given


def run(args: argparse.Namespace) -> int:
    model = getattr(args, "model", None)
    model = Path(model) if model and Path(model).exists() else None
    with outputs(args, NAME, args.image, model) as out:
        target = out.folder(args.out) if args.out.name.lower().endswith(".zarr") \
            else out.file(args.out)
        return _run(args, target)


def _run(args: argparse.Namespace, out: Path) -> int:
    from ..core.errors import DvpInputError
    from ..core.segmentation import run_to_end
    from ..core.segmentation.params import SegmentParams
    from ..core.segmentation.pipeline import segment_file
    from ..core.segmentation.report import NUCLEI_ONLY, report_lines
    from ..core.segmentation.slide_job import make_method_backend
    from ..core.slide import open_image
    from ..core.slide.model import pixel_size_rule
    from ._params import params_from_args

    run_params = params_from_args(SegmentParams, args)
    method = run_params.method
    stray = _other_method_options(args, method)
    if stray:
        raise DvpInputError(f"{', '.join(stray)}: option(s) of the other method; this run uses "
                            f"--backend {method}")
    if args.overlap is not None and args.overlap < 0:
        raise DvpInputError(f"--overlap must be >= 0 pixels (got {args.overlap})")
    with open_image(args.image) as img:
        _check_finite(img, args.image.name)
        pixel = pixel_size_rule(args.pixel_size_um, img.pixel_size_um)
    say(pixel.describe(args.image.name))
    params = params_from_args(_method_classes()[method], args, pixel_size_um=pixel.um)
    backend = make_method_backend(method, params, pixel.um)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        runner = None
        if args.scheduler or run_params.workers:
            from ..core.segmentation.distributed import DistributedRunner, open_client

            client = stack.enter_context(open_client(args.scheduler, run_params.workers or None))
            runner = DistributedRunner(client)
        info = run_to_end(
            segment_file(args.image, out, backend, run_params.nuclear_channel,
                         run_params.cyto_channel, tile_size=run_params.tile_size,
                         overlap=args.overlap, runner=runner,
                         # an assumed pixel size is not written into the labels as a fact
                         pixel_size_um=pixel.um if pixel.measured else None),
            _Progress(),
        )
    for line in report_lines(info["backend"], len(info["channels"]), pixel, args.image.name):
        say(line + (" (pass --expansion-um)" if line == NUCLEI_ONLY else ""))
    say(f"{info['n_cells']} cells in {time.perf_counter() - t0:.1f} s "
        f"(channels {', '.join(info['channels'])}) -> {args.out}")
    return 0


def _check_finite(img, name: str) -> None:
    """A float image with NaN/inf pixels cannot be normalised: refuse it with one line."""
    import dask.array as da
    import numpy as np

    from ..core.errors import DvpInputError

    if img.dtype.kind != "f":
        return
    bad = da.logical_not(da.isfinite(img.data)).any(axis=(0, 1) if img.is_rgb else (1, 2))
    bad = np.asarray(bad.compute())
    if bad.any():
        which = [img.channel_names[i] for i in np.flatnonzero(bad)]
        raise DvpInputError(f"{name} has NaN or infinite pixels in channel(s) "
                            f"{', '.join(which)}; replace them (e.g. by 0) and save it again")


def say(line: str) -> None:
    """One line on stderr, prefixed with the command's name."""
    print(f"napari-dvp segment: {line}", file=sys.stderr, flush=True)


class _Progress:
    """Prints tiles done to stderr about every 5 % (and every tile for short runs)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        step = max(1, total // 20)
        if done == total or done - self.last >= step:
            self.last = done
            say(f"{done}/{total} tiles ({time.perf_counter() - self.t0:.0f} s)")
