"""``napari-dvp export-lmd``: turn a cell selection into a laser-microdissection export."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

NAME = "export-lmd"
HELP = ("write Leica LMD XML (or Zeiss PALM) + manifest + QC picture for selected cells "
        "and/or drawn regions")


# values such as "-5,3;10,20;30,40" (a mark or stage position left of / above the origin) are
# values, not options: argparse only knows plain negative numbers by default
_NEGATIVE_VALUE = re.compile(
    r"^-\d+$|^-\d*\.\d+$|^-\d*\.?\d+(?:e[-+]?\d+)?\s*[,;]|^-(?:inf|infinity|nan)$", re.I)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``export-lmd``."""
    parser._negative_number_matcher = _NEGATIVE_VALUE  # see above
    parser.add_argument("--labels", required=True, help="labels image (.tif/.ome.tif/.zarr)")
    parser.add_argument("--selection", default=None,
                        help="CSV with columns cell_id,sample and optionally well "
                             "(optional when --region-samples is given)")
    parser.add_argument("--calibration", required=True,
                        help='three calibration marks in image pixels: "r1,c1;r2,c2;r3,c3"')
    parser.add_argument("--out", required=True, help="output folder (created atomically)")
    parser.add_argument("--plate", default="384", choices=["384", "96", "strip8"],
                        help="collector (default 384-well plate)")
    parser.add_argument("--dilate-um", type=float, default=1.0,
                        help="margin cut around each cell, µm (default 1)")
    parser.add_argument("--simplify-um", type=float, default=0.3,
                        help="outline simplification tolerance, µm (default 0.3)")
    parser.add_argument("--format", dest="fmt", default="leica", choices=["leica", "palm"],
                        help="leica (XML, default) or palm (Zeiss PALM elements .txt)")
    parser.add_argument("--stage-marks-um", default=None, metavar='"X1,Y1;X2,Y2;X3,Y3"',
                        help="PALM only: the stage positions (µm, as PALMRobo shows them) of "
                             "calibration marks 1-3; the elements are written in absolute stage "
                             "µm through the affine map these fix")
    parser.add_argument("--cells", default=None,
                        help="optional cell table (.csv/.parquet from `napari-dvp measure`/"
                             "`classify`) for class, region and QC status in the manifest")
    parser.add_argument("--pixel-size-um", type=float, default=None,
                        help="pixel size in µm (default: read from the labels file)")
    parser.add_argument("--regions", default=None,
                        help="regions as GeoJSON (QuPath annotations, pixels of the labels)")
    parser.add_argument("--region-samples", default=None, metavar="NAME[,NAME...]",
                        help="region classes (or names) from --regions to cut whole, each as "
                             "its own sample (e.g. epidermis,blister)")
    parser.add_argument("--max-loss", type=float, default=5.0, metavar="PERCENT",
                        help="stop when a sample would lose more than this share of its planned "
                             "cells (default 5)")
    parser.add_argument("--accept-loss", action="store_true",
                        help="export even when a sample loses more than --max-loss (the "
                             "manifest and lost_cells.csv list what was cut)")
    parser.add_argument("--max-piece-um2", type=float, default=0.0,
                        help="cut region samples into pieces of at most this area, µm² "
                             "(default 0: each region in one piece)")


def _check_number(value: float | None, flag: str, *, positive: bool = False,
                  allow_none: bool = False) -> None:
    """Refuse NaN, infinity and (for ``positive``) zero or negative values of an option."""
    from ..core.errors import DvpInputError

    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "a number above 0" if positive else "a number of 0 or more"
        raise DvpInputError(f"{flag} is {value}; give {need}")


def _read_labels(path: Path):
    try:
        from ..core.image_io import open_labels
    except ImportError:  # pragma: no cover - image_io not available
        import tifffile

        return tifffile.imread(path), None
    data, px = open_labels(path)
    return data, px


def _region_plan(args, names, labels, cells, px: float):
    """Region samples named ``names`` from the GeoJSON (clipped to the image, warnings shown)."""
    import warnings

    from ..core.geojson import GeoJsonWarning, features_to_regions, read_geojson
    from ..core.lmd.region_plan import region_samples, regions_by_name
    from ..core.lmd.shapes import label_centroids

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeoJsonWarning)
        feats = read_geojson(args.regions, image_shape=labels.shape)
    for w in caught:
        print(f"warning: {w.message}")
    regions = regions_by_name(features_to_regions(feats), labels.shape)
    cen = label_centroids(labels)[["cell_id", "centroid_row", "centroid_col"]]
    return region_samples(regions, names, px, args.max_piece_um2 or None,
                          cells=cells.merge(cen, on="cell_id", how="inner"))


def run(args: argparse.Namespace) -> int:
    """Run the export; returns 0 on success."""
    import numpy as np
    import pandas as pd

    from ..core.errors import DvpInputError
    from ..core.lmd import Calibration, ExportOptions, export_lmd, parse_marks, plan_from_table
    from ..core.lmd.plan import combine_plans, read_selection

    labels_path = Path(args.labels)
    names = [n.strip() for n in (args.region_samples or "").split(",") if n.strip()]
    if not args.selection and not names:
        raise DvpInputError("nothing to cut: give --selection (cells) and/or --regions with "
                            "--region-samples (regions)")
    if names and not args.regions:
        raise DvpInputError("--region-samples needs --regions GEOJSON with those regions")
    for p, what in ((labels_path, "labels"), (args.selection, "selection"),
                    (args.regions if names else None, "regions")):
        if p and not Path(p).exists():
            raise DvpInputError(f"{what} file {p} does not exist")
    _check_number(args.pixel_size_um, "--pixel-size-um", positive=True, allow_none=True)
    _check_number(args.dilate_um, "--dilate-um")
    _check_number(args.simplify_um, "--simplify-um")
    _check_number(args.max_piece_um2, "--max-piece-um2 (0 = whole regions)")
    _check_number(args.max_loss, "--max-loss")
    marks = parse_marks(args.calibration)
    stage = None
    if args.stage_marks_um:
        stage = parse_marks(args.stage_marks_um, "--stage-marks-um",
                            'write the stage positions as "X1,Y1;X2,Y2;X3,Y3" in µm')
    data, px_file = _read_labels(labels_path)
    px = args.pixel_size_um if args.pixel_size_um is not None else px_file
    if not px:
        raise DvpInputError(f"{labels_path.name} does not record its pixel size; "
                            "give --pixel-size-um")
    labels = np.asarray(data)
    ids, counts = np.unique(labels, return_counts=True)
    keep = ids > 0
    ids, counts = ids[keep], counts[keep]
    # total cut area per sample comes from the labels themselves (µm²)
    cells = pd.DataFrame({"cell_id": ids.astype(np.int64), "area_um2": counts * float(px) ** 2})
    if args.cells:
        from ..core.table_io import read_cell_table

        extra = read_cell_table(Path(args.cells))
        if "cell_id" not in extra.columns:
            raise DvpInputError(f"{args.cells} has no cell_id column; give the cell table "
                                "written by `napari-dvp measure` or `classify`")
        # class/region for the manifest; QC status and flags so the CLI leaves out the
        # same cells as the widget (rejected, or flagged and never accepted)
        cols = [c for c in extra.columns if c in ("class", "region") or c.startswith("qc_")]
        cells = cells.merge(extra[["cell_id", *cols]], on="cell_id", how="left")
    plans = []
    if args.selection:
        plans.append(plan_from_table(read_selection(Path(args.selection)), cells=cells,
                                     label_ids=ids))
    if names:
        plans.append(_region_plan(args, names, labels, cells, float(px)))
    plan = combine_plans(*plans)
    opts = ExportOptions(fmt=args.fmt, plate=args.plate, dilate_um=args.dilate_um,
                         simplify_um=args.simplify_um, max_loss=min(args.max_loss, 100) / 100,
                         accept_loss=args.accept_loss)
    cal = Calibration(marks, float(px), stage_um=stage)
    res = export_lmd(labels, plan, cal, Path(args.out), opts)
    print(f"wrote {res.shapes_path} ({res.n_shapes} shapes, {len(res.manifest)} samples), "
          f"{res.manifest_path.name}" + (f", {res.qc_path.name}" if res.qc_path else ""))
    print(f"stage path within wells: {res.path_before_um / 1000:.1f} mm -> "
          f"{res.path_after_um / 1000:.1f} mm")
    for w in [*plan.attrs.get("warnings", []), *res.warnings]:
        print(f"warning: {w}")
    return 0
