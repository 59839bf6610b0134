"""``napari-dvp segment``: segment every cell of an image into a labels file."""

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="image file (OME-TIFF, TIFF, zarr, PNG/JPEG)")
    parser.add_argument("--out", type=Path, required=True,
                        help="labels file to write: .tif, .ome.tif or .zarr")
    parser.add_argument("--backend", choices=("builtin", "cellpose"), default="builtin",
                        help="builtin (no download, scikit-image) or cellpose (default: builtin)")
    parser.add_argument("--model", default="cpsam",
                        help="cellpose model name (cpsam, cpsam_v2 …) or a local model file")
    parser.add_argument("--nuclear-channel", default=None,
                        help="name or number of the nuclear channel (default: DAPI/Hoechst…); "
                             "for a brightfield RGB image: hematoxylin (builtin's default), RGB "
                             "(the colour image as it is; cellpose's default) or eosin")
    parser.add_argument("--cyto-channel", default=None,
                        help="cytoplasm/membrane channel(s): a name, 'CD45,panCK', 'all' (every "
                             "non-nuclear channel) or 'none' (default: panCK/keratin… if present)")
    parser.add_argument("--diameter-um", type=float_range(0, 1000, lo_open=True), default=None,
                        help="typical diameter in µm: of cells for cellpose (default: cellpose's "
                             "own), of nuclei for builtin (default: estimated from the image)")
    parser.add_argument("--diameter-px", type=float_range(0, 10000, lo_open=True), default=None,
                        help="builtin: typical nucleus diameter in pixels, for images whose "
                             "pixel size is unknown (default: estimated from the image)")
    parser.add_argument("--expansion-um", type=float_range(0, 1000), default=None,
                        help="builtin: how far a cell reaches beyond its nucleus (default: 0 = "
                             "nuclei only when no cytoplasm channel is used, else 4 µm)")
    parser.add_argument("--flow-threshold", type=float_range(0, 10), default=0.4,
                        help="cellpose (default 0.4)")
    parser.add_argument("--cellprob-threshold", type=float_range(-100, 100), default=0.0,
                        help="cellpose (default 0.0)")
    parser.add_argument("--no-gpu", action="store_true", help="cellpose: never use a GPU")
    parser.add_argument("--pixel-size-um", type=float_range(0, 1000, lo_open=True), default=None,
                        help="pixel size if the image does not say (µm)")
    parser.add_argument("--tile-size", type=int_range(64, 16384), default=1024,
                        help="tile side in pixels (default 1024; memory grows with it)")
    parser.add_argument("--overlap", type=int_range(0, 4096), default=None,
                        help="tile margin in pixels (default: two cell diameters)")
    parser.add_argument("--workers", type=int_range(1, 256), default=None,
                        help="run on a local dask cluster with N worker processes "
                             "(default: in this process, no cluster start-up)")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (tcp://host:8786)")
    add_overwrite(parser)


def run(args: argparse.Namespace) -> int:
    from ..core.errors import DvpInputError

    if args.workers is not None and args.workers < 1:
        raise DvpInputError(f"--workers must be at least 1 (got {args.workers})")
    model = Path(args.model) if args.backend == "cellpose" and Path(args.model).exists() else None
    with outputs(args, NAME, args.image, model) as out:
        target = out.folder(args.out) if args.out.name.lower().endswith(".zarr") \
            else out.file(args.out)
        return _run(args, target)


def _run(args: argparse.Namespace, out: Path) -> int:
    from ..core.segmentation import make_backend, run_to_end
    from ..core.segmentation.pipeline import segment_file
    from ..core.slide import open_image

    with open_image(args.image) as img:
        _check_finite(img, args.image.name)
        pixel = args.pixel_size_um or img.pixel_size_um
    if pixel is None:
        pixel = 0.5
        print(f"napari-dvp segment: {args.image.name} does not say its pixel size; assuming "
              "0.5 µm (pass --pixel-size-um)", file=sys.stderr)
    if args.backend == "builtin":
        backend = make_backend("builtin", pixel_size_um=pixel,
                               nucleus_diameter_um=args.diameter_um,
                               nucleus_diameter_px=args.diameter_px,
                               max_expansion_um=args.expansion_um)
    else:
        backend = make_backend("cellpose", model=args.model, pixel_size_um=pixel,
                               diameter_um=args.diameter_um, flow_threshold=args.flow_threshold,
                               cellprob_threshold=args.cellprob_threshold, gpu=not args.no_gpu)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        runner = None
        if args.scheduler or args.workers:
            from ..core.segmentation.distributed import DistributedRunner, open_client

            client = stack.enter_context(open_client(args.scheduler, args.workers))
            runner = DistributedRunner(client)
        info = run_to_end(
            segment_file(args.image, out, backend, args.nuclear_channel, args.cyto_channel,
                         tile_size=args.tile_size, overlap=args.overlap, runner=runner,
                         pixel_size_um=pixel),
            _Progress(),
        )
    if info.get("scale"):
        print(f"napari-dvp segment: {info['scale']}", file=sys.stderr)
    if args.backend == "builtin":
        grow = info["backend"].expansion_px(len(info["channels"]))
        if grow == 0:
            print("napari-dvp segment: nuclei only (no cytoplasm channel): cells are not grown "
                  "beyond their nucleus; pass --expansion-um 4 to grow them", file=sys.stderr)
    print(f"napari-dvp segment: {info['n_cells']} cells in {time.perf_counter() - t0:.1f} s "
          f"(channels {', '.join(info['channels'])}) -> {args.out}", file=sys.stderr)
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


class _Progress:
    """Prints tiles done to stderr about every 5 % (and every tile for short runs)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        step = max(1, total // 20)
        if done == total or done - self.last >= step:
            self.last = done
            print(f"napari-dvp segment: {done}/{total} tiles "
                  f"({time.perf_counter() - self.t0:.0f} s)", file=sys.stderr, flush=True)
