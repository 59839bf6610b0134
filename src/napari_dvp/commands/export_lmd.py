"""``napari-dvp export-lmd``: turn a cell selection (and/or QuPath objects) into an LMD export."""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from pathlib import Path

from ._safety import add_overwrite, float_range, outputs

NAME = "export-lmd"
HELP = ("write Leica LMD XML (or Zeiss PALM) + manifest + plate map + QC picture for selected "
        "cells, drawn regions or QuPath objects")

# values such as "-5,3;10,20;30,40" (a mark or stage position left of / above the origin) are
# values, not options: argparse only knows plain negative numbers by default
_NEGATIVE_VALUE = re.compile(
    r"^-\d+$|^-\d*\.\d+$|^-\d*\.?\d+(?:e[-+]?\d+)?\s*[,;]|^-(?:inf|infinity|nan)$", re.I)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``export-lmd``.

    The options the LMD dock shows too (regions, wells, cut shapes, format, loss limit)
    come from the dock's parameter dataclasses in :mod:`..core.lmd.options`, so each
    default, range and help text is written once.
    """
    from ..core.lmd.options import CutParams, RegionParams, WellParams
    from ._params import add_params

    parser._negative_number_matcher = _NEGATIVE_VALUE  # see above
    src = parser.add_argument_group("cells (one of --labels / --detections)")
    src.add_argument("--labels", default=None, help="labels image (.tif/.ome.tif/.zarr)")
    src.add_argument("--detections", default=None, metavar="GEOJSON",
                     help="QuPath detections/cells (GeoJSON export) as the cells to cut, one "
                          "sample per detection class (--detection-classes to choose)")
    src.add_argument("--detection-classes", default=None, metavar="CLASS[,CLASS...]",
                     help="detection classes to cut (default: every class)")
    src.add_argument("--image-size", default=None, metavar="ROWS,COLS",
                     help="with --detections: the image size in pixels (default: the extent "
                          "of the objects)")
    src.add_argument("--selection", default=None,
                     help="CSV with columns cell_id,sample and optionally well")
    src.add_argument("--cells", default=None,
                     help="optional cell table (.csv/.parquet from `napari-dvp measure`/"
                          "`classify`) for class, region and QC status in the manifest")
    src.add_argument("--pixel-size-um", type=float_range(0, 1000, lo_open=True), default=None,
                     help="pixel size in µm (default: read from the labels file)")
    reg = parser.add_argument_group("regions (QuPath annotations cut as drawn)")
    reg.add_argument("--regions", default=None,
                     help="regions as GeoJSON (QuPath annotations, pixels of the image)")
    reg.add_argument("--region-samples", default=None, metavar="NAME[,NAME...]|all",
                     help="region classes (or names) from --regions to cut, e.g. "
                          "epidermis,blister; 'all' for every class")
    reg.add_argument("--sample-per", default="class", choices=["class", "polygon"],
                     help="one sample per region class (default) or per polygon")
    add_params(reg, RegionParams)
    cal = parser.add_argument_group("calibration (one of --calibration / points in a GeoJSON)")
    cal.add_argument("--calibration", default=None,
                     help='three calibration marks in image pixels: "r1,c1;r2,c2;r3,c3"')
    cal.add_argument("--calibration-geojson", default=None, metavar="GEOJSON",
                     help="read the marks from point annotations of this GeoJSON (default: "
                          "from --regions or --detections when --calibration is not given)")
    cal.add_argument("--calibration-names", default="calib1,calib2,calib3",
                     metavar="N1,N2,N3", help="names of marks 1-3 (default calib1,calib2,calib3)")
    cal.add_argument("--calibration-class", default=None,
                     help="instead of names: the three points of this class (ordered by name)")
    cal.add_argument("--stage-marks-um", default=None, metavar='"X1,Y1;X2,Y2;X3,Y3"',
                     help="PALM only: the stage positions (µm, as PALMRobo shows them) of marks "
                          "1-3; the elements are written in absolute stage µm through them")
    wells = parser.add_argument_group("wells")
    add_params(wells, WellParams)
    wells.add_argument("--sample-wells", default=None, metavar="S=W[,S=W...]|CSV",
                       help="chosen wells per sample (id, or region name of a region sample): "
                            "inline 'S001=B2,epidermis=C3' or a CSV with columns sample,well")
    shp = parser.add_argument_group("cut shapes")
    add_params(shp, CutParams)  # also --format and --max-loss
    shp.add_argument("--no-intrusion-limit", action="store_true",
                     help="let the margin run into unselected neighbours")
    out = parser.add_argument_group("output")
    out.add_argument("--out", required=True, help="output folder (created atomically)")
    out.add_argument("--accept-loss", action="store_true",
                     help="export even when a sample loses more than --max-loss (the manifest "
                          "and lost_cells.csv list what was cut)")
    add_overwrite(out)


def _check_number(value: float | None, flag: str, *, positive: bool = False,
                  allow_none: bool = False) -> None:
    """Refuse NaN, infinity and (for ``positive``) zero or negative values of an option."""
    from ..core.errors import DvpInputError

    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or value < 0 or (positive and value == 0):
        need = "a number above 0" if positive else "a number of 0 or more"
        raise DvpInputError(f"{flag} is {value}; give {need}")


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def _read_labels(path: Path):
    from ..core.slide import open_labels

    return open_labels(path)


def _read_features(path, image_shape=None, outside: str = "clip"):
    """GeoJSON features (napari-dvp pixel frame), repair warnings printed."""
    import warnings

    from ..core.geojson import GeoJsonWarning, read_geojson

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeoJsonWarning)
        feats = read_geojson(path, image_shape=image_shape, outside=outside)
    for w in caught:
        print(f"warning: {w.message}")
    return feats


def _image_size(text: str) -> tuple[int, int]:
    from ..core.errors import DvpInputError

    try:
        h, w = (int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        h = w = 0
    if h <= 0 or w <= 0:
        raise DvpInputError(f"--image-size {text!r} is not ROWS,COLS in pixels (e.g. 8000,12000)")
    return h, w


def _extent(features) -> tuple[int, int]:
    """Rows, cols just large enough for every feature (napari-dvp pixel frame)."""
    import numpy as np
    import shapely

    b = shapely.bounds(np.array([f.geometry for f in features], dtype=object))
    return int(np.ceil(np.nanmax(b[:, 3]) + 0.5)) + 1, int(np.ceil(np.nanmax(b[:, 2]) + 0.5)) + 1


def _sample_wells(text: str) -> dict[str, str]:
    """``S=W,S=W`` inline, or a CSV with columns sample(_id),well."""
    import pandas as pd

    from ..core.errors import DvpInputError

    p = Path(text)
    if p.suffix.lower() in (".csv", ".tsv", ".txt") or p.is_file():
        if not p.is_file():
            raise DvpInputError(f"--sample-wells file {p} does not exist")
        t = pd.read_csv(p, sep=None, engine="python", dtype=str, keep_default_na=False)
        t.columns = [c.strip().lower() for c in t.columns]
        key = "sample" if "sample" in t else "sample_id"
        if key not in t or "well" not in t:
            raise DvpInputError(f"{p.name} needs columns sample,well")
        return dict(zip(t[key].str.strip(), t["well"].str.strip(), strict=True))
    out = {}
    for item in _names(text):
        k, sep, v = item.replace(":", "=").partition("=")
        if not sep or not k.strip() or not v.strip():
            raise DvpInputError(f"--sample-wells item {item!r} is not SAMPLE=WELL")
        out[k.strip()] = v.strip()
    return out


def _marks(args, geojson_sources):
    """Calibration marks (row, col): typed, or from point annotations of a GeoJSON."""
    from ..core.errors import DvpInputError
    from ..core.lmd import parse_marks
    from ..core.lmd.qupath import calibration_points

    if args.calibration:
        return parse_marks(args.calibration), None
    path = args.calibration_geojson or next((p for p in geojson_sources if p), None)
    if not path:
        raise DvpInputError("give the calibration marks: --calibration \"r1,c1;r2,c2;r3,c3\" "
                            "or --calibration-geojson with points named calib1-3")
    if not Path(path).exists():
        raise DvpInputError(f"calibration GeoJSON {path} does not exist")
    feats = _read_features(path, outside="keep")
    names = _names(args.calibration_names)
    marks = calibration_points(feats, names=names, class_name=args.calibration_class)
    return marks, Path(path).name


def run(args: argparse.Namespace) -> int:
    """Run the export; returns 0 on success."""
    inputs = (args.labels, args.detections, args.selection, args.cells, args.regions,
              args.calibration_geojson)
    with outputs(args, NAME, *inputs) as out:
        return _run(args, out.folder(args.out))


def _run(args: argparse.Namespace, out_dir: Path) -> int:
    import numpy as np
    import pandas as pd

    from ..core.errors import DvpInputError
    from ..core.lmd import Calibration, export_lmd, parse_marks, plan_from_table
    from ..core.lmd.collectors import apply_sample_wells
    from ..core.lmd.plan import combine_plans, read_selection
    from ..core.lmd.qupath import annotation_samples, detection_samples, detections_to_labels
    from ..core.lmd.shapes import label_centroids
    from ..core.names import check_table_names
    from ..core.slide.model import pixel_size_rule

    if bool(args.labels) == bool(args.detections):
        raise DvpInputError("give the cells either as --labels (napari-dvp labels image) or as "
                            "--detections (QuPath GeoJSON), one of the two")
    names = _names(args.region_samples)
    if not args.selection and not names and not args.detections:
        raise DvpInputError("nothing to cut: give --selection (cells), --detections (QuPath "
                            "cells) and/or --regions with --region-samples (regions)")
    if names and not args.regions:
        raise DvpInputError("--region-samples needs --regions GEOJSON with those regions")
    for p, what in ((args.labels, "labels"), (args.detections, "detections"),
                    (args.selection, "selection"), (args.regions, "regions")):
        if p and not Path(p).exists():
            raise DvpInputError(f"{what} file {p} does not exist")
    from ..core.lmd.options import CutParams, RegionParams, WellParams
    from ._params import params_from_args

    # the ranges were checked while parsing; the dataclasses check again for Python callers
    region_params = params_from_args(RegionParams, args)
    well_params = params_from_args(WellParams, args)
    cut_params = params_from_args(CutParams, args)
    _check_number(args.pixel_size_um, "--pixel-size-um", positive=True, allow_none=True)
    if args.image_size and not args.detections:
        raise DvpInputError("--image-size is for --detections; the labels image has its size")
    stage = None
    if args.stage_marks_um:
        stage = parse_marks(args.stage_marks_um, "--stage-marks-um",
                            'write the stage positions as "X1,Y1;X2,Y2;X3,Y3" in µm')
    if args.calibration:
        parse_marks(args.calibration)  # a typo stops before anything is read

    # cells: napari-dvp labels, or QuPath detections rasterised -------------------------------
    detections = None
    if args.labels:
        data, px_file = _read_labels(Path(args.labels))
        # the one rule (core.slide.model); cutting tissue needs a measured value
        px = pixel_size_rule(args.pixel_size_um, px_file).require(
            "Cutting cells with the laser", Path(args.labels).name)
        from ..core.limits import check_memory
        from ..core.slide import check_label_ids

        # the whole labels image is held, plus np.unique's sorted copy and the shapes' masks
        check_memory(data.size * max(data.dtype.itemsize, 8), f"labels {Path(args.labels).name}",
                     3)
        labels = np.asarray(data)
        check_label_ids(np.unique(labels), Path(args.labels).name)  # before any per-id array
        region_feats = _read_features(args.regions, labels.shape) if args.regions else []
    else:
        px = pixel_size_rule(args.pixel_size_um).require(
            "Cutting QuPath detections with the laser", "a GeoJSON file")
        det_feats = _read_features(args.detections, outside="keep")
        region_feats = _read_features(args.regions, outside="keep") if args.regions else []
        shape = (_image_size(args.image_size) if args.image_size
                 else _extent([*det_feats, *region_feats]))
        labels, detections = detections_to_labels(det_feats, shape,
                                                  _names(args.detection_classes) or None)
        print(f"{len(detections)} QuPath detection(s) as cells on a {shape[0]}x{shape[1]} image")
    marks, marks_from = _marks(args, [args.regions, args.detections])
    if marks_from:
        print(f"calibration marks from {marks_from}: " + "; ".join(
            f"{r:.1f},{c:.1f}" for r, c in marks) + " (row,col)")
    px = float(px)
    cen = label_centroids(labels)
    ids = cen["cell_id"].to_numpy(dtype=np.int64)

    # total cut area per sample comes from the labels themselves (µm²)
    cells = pd.DataFrame({"cell_id": ids, "area_um2": cen["n_pixels"].to_numpy() * px * px,
                          "centroid_row": cen["centroid_row"], "centroid_col": cen["centroid_col"]})
    if args.cells:
        from ..core.cells.table_io import read_cell_table

        extra = read_cell_table(Path(args.cells))
        if "cell_id" not in extra.columns:
            raise DvpInputError(f"{args.cells} has no cell_id column; give the cell table "
                                "written by `napari-dvp measure` or `classify`")
        # class/region for the manifest; QC status and flags so the CLI leaves out the
        # same cells as the widget (rejected, or flagged and never accepted)
        cols = [c for c in extra.columns if c in ("class", "region") or c.startswith("qc_")]
        cells = cells.merge(extra[["cell_id", *cols]], on="cell_id", how="left")

    # samples ----------------------------------------------------------------------------------
    plans = []
    if args.selection:
        selection = read_selection(Path(args.selection))
        check_table_names(selection, Path(args.selection).name)
        plans.append(plan_from_table(selection, cells=cells, label_ids=ids))
    elif detections is not None:
        plans.append(detection_samples(detections, _names(args.detection_classes) or None, px))
    if names:
        plans.append(annotation_samples(region_feats, names, px, per=args.sample_per,
                                        image_shape=labels.shape,
                                        max_piece_um2=region_params.max_piece_um2 or None,
                                        cells=cells))
    plan = combine_plans(*plans)
    if args.sample_wells:
        plan = apply_sample_wells(plan, _sample_wells(args.sample_wells))
    opts = cut_params.options(well_params, accept_loss=args.accept_loss)
    if args.no_intrusion_limit:
        opts = dataclasses.replace(opts, max_intrusion_um=None)
    check_table_names(plan, "the sample plan")
    cal = Calibration(marks, px, stage_um=stage)
    res = export_lmd(labels, plan, cal, out_dir, opts, detections=detections)
    print(f"wrote {Path(args.out) / res.shapes_path.name} ({res.n_shapes} shapes, "
          f"{len(res.manifest)} samples), "
          f"{res.manifest_path.name}, plate_map.csv, lost_cells.csv"
          + (f", {res.qc_path.name}" if res.qc_path else ""))
    print(f"cells cut: {int(res.manifest['n_cells'].sum())} of "
          f"{int(res.manifest['n_planned'].sum())} planned; stage path within wells: "
          f"{res.path_before_um / 1000:.1f} mm -> {res.path_after_um / 1000:.1f} mm")
    for w in res.warnings:
        print(f"warning: {w}")
    return 0
