"""``napari-dvp measure``: one row per cell (position, size, shape, intensities, QC flags)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._safety import add_overwrite, float_range, outputs

NAME = "measure"
HELP = ("measure every cell of a labels image on its tissue image (centroid, area µm², mean and "
        "median intensity per channel, shape, QC flags); writes a .csv or .parquet cell table")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="the tissue image (OME-TIFF, TIFF, zarr …)")
    parser.add_argument("labels", type=Path, help="labels image of the same size (.tif, .zarr)")
    parser.add_argument("--out", type=Path, required=True, help="cell table: .csv or .parquet")
    from ..core.review.params import QcThresholds
    from ._params import add_params

    parser.add_argument("--pixel-size-um", type=float_range(0, 1000, lo_open=True), default=None,
                        help="pixel size in µm (default: the one the image, else the labels, "
                             "records; else an assumed 0.5 µm, with a warning)")
    parser.add_argument("--nuclear-channel", default=None,
                        help="channel for the low-nuclear-signal QC flag (default: DAPI/Hoechst "
                             "if present)")
    add_params(parser.add_argument_group("QC flags"), QcThresholds)
    parser.add_argument("--no-qc", action="store_true", help="do not add QC flag columns")
    add_overwrite(parser)


def run(args: argparse.Namespace) -> int:
    from ..core.errors import DvpInputError

    out: Path = args.out
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise DvpInputError(f"--out must end in .csv or .parquet, got {out.name}")
    with outputs(args, NAME, args.image, args.labels) as staging:
        return _run(args, staging.file(out))


def _run(args: argparse.Namespace, staged: Path) -> int:
    from ..core.cells.table_io import write_table
    from ..core.errors import DvpInputError
    from ..core.measure import measure_cells_iter
    from ..core.progress import run_to_end
    from ..core.review.params import QcThresholds
    from ..core.review.qc import flag_cells
    from ..core.slide import open_image, open_labels
    from ..core.slide.model import pixel_size_rule
    from ._params import params_from_args

    out: Path = args.out
    t0 = time.perf_counter()
    labels, lab_px = open_labels(args.labels)
    with open_image(args.image) as img:
        data = img.data
        names = list(img.channel_names)
        if img.is_rgb:
            data = data.transpose(2, 0, 1)
            names = names if len(names) == 3 else ["red", "green", "blue"]
        if tuple(data.shape[1:]) != tuple(labels.shape):
            raise DvpInputError(
                f"labels {args.labels.name} are {labels.shape[0]}×{labels.shape[1]} pixels but "
                f"image {args.image.name} is {data.shape[1]}×{data.shape[2]}; "
                "use the labels made from this image (full resolution)"
            )
        if img.pixel_size_um:
            recorded, where = img.pixel_size_um, args.image.name
        else:
            recorded, where = lab_px, (args.labels.name if lab_px else args.image.name)
        pixel = pixel_size_rule(args.pixel_size_um, recorded)
        if pixel.measured:
            print(f"napari-dvp measure: {pixel.describe(where)}")
        else:
            print(f"napari-dvp measure: warning: {pixel.describe(where)}", file=sys.stderr)
        table = run_to_end(measure_cells_iter(labels, data, names, pixel.um), _progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if not args.no_qc:
        th = params_from_args(QcThresholds, args)
        nuclear = args.nuclear_channel or _guess_nuclear(names)
        if nuclear is not None and nuclear not in names:
            raise DvpInputError(
                f"image has no channel {nuclear!r}; channels: {', '.join(names)}")
        table = flag_cells(table, th, nuclear)
    write_table(staged, table)
    flagged = int(table["qc_flagged"].sum()) if "qc_flagged" in table.columns else 0
    print(f"{len(table)} cells measured ({flagged} flagged for review) in "
          f"{time.perf_counter() - t0:.1f} s -> {out}")
    return 0


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r  block {done}/{total}", end="", file=sys.stderr, flush=True)


def _guess_nuclear(names: list[str]) -> str | None:
    """The nuclear channel as ``segment`` guesses it, or None (no low-nuclear flag)."""
    from ..core.segmentation.pipeline import NUCLEAR_PATTERN

    return next((n for n in names if NUCLEAR_PATTERN.search(n)), None)
