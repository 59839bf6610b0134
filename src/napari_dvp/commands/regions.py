"""``napari-dvp regions``: assign cells to the regions of a (QuPath) GeoJSON file."""

from __future__ import annotations

import argparse

from ._safety import add_overwrite, float_range, int_range, outputs

NAME = "regions"
HELP = "give every cell the region (annotation class) its centroid lies in, from GeoJSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``napari-dvp regions``."""
    parser.add_argument("cells", help="cell table (.csv, .tsv or .parquet) with centroids")
    parser.add_argument("geojson", help="regions as GeoJSON (QuPath annotations; class = "
                        "region, e.g. epidermis / dermis / exclude)")
    parser.add_argument("-o", "--output", required=True,
                        help="where to write the table with 'region' added")
    parser.add_argument("--image-size", nargs=2, type=int_range(1, 10**7),
                        metavar=("HEIGHT", "WIDTH"),
                        help="image size in pixels: shapes beyond it are clipped (warned)")
    parser.add_argument("--pixel-size-um", "--pixel-size", dest="pixel_size_um",
                        type=float_range(0, 1000, lo_open=True), default=None,
                        help="µm per pixel, for the region areas in µm² (default: the one the "
                             "cell table was measured with, else an assumed 0.5 µm)")
    parser.add_argument("--counts", help="also write cells and area per region (.csv)")
    add_overwrite(parser)


def run(args: argparse.Namespace) -> int:
    """Assign, write, print counts per region."""
    with outputs(args, NAME, args.cells, args.geojson) as out:
        return _run(args, out.file(args.output, "-o"),
                    out.file(args.counts, "--counts") if args.counts else None)


def _run(args: argparse.Namespace, output, counts_path) -> int:
    import sys
    import warnings

    from ..core.cells.table_io import read_cell_table, write_table
    from ..core.errors import DvpInputError
    from ..core.geojson import GeoJsonWarning, features_to_regions, read_geojson
    from ..core.names import check_names
    from ..core.regions import assign_regions, region_counts
    from ..core.slide.facts import pixel_size_of_table
    from ..core.slide.model import pixel_size_rule

    table = read_cell_table(args.cells)
    pixel = pixel_size_rule(args.pixel_size_um, pixel_size_of_table(table))
    where = f"the cell table {args.cells}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeoJsonWarning)
        feats = read_geojson(args.geojson, image_shape=args.image_size)
    for w in caught:
        print(f"warning: {w.message}")
    regions = features_to_regions(feats)
    check_names((r.name for r in regions), "region name", args.geojson)
    check_names((r.region_class for r in regions), "region class", args.geojson)
    if not regions:
        raise DvpInputError(f"{args.geojson} has no annotation polygons to use as regions")
    table["region"] = assign_regions(table, regions)
    write_table(output, table)
    counts = region_counts(table, regions, pixel.um)
    if pixel.measured:
        print(f"napari-dvp regions: {pixel.describe(where)}")
    else:
        print(f"napari-dvp regions: warning: {pixel.describe(where)}", file=sys.stderr)
    print(f"{len(table)} cells, {len(regions)} region shape(s) -> {args.output}")
    for r in counts.itertuples(index=False):
        area = (f", region area {r.region_area:.4g} µm²" if r.region_area == r.region_area
                else "")
        print(f"  {r.region or '(outside every region)'}: {r.n_cells} cells{area}")
    if counts_path:
        write_table(counts_path, counts)
    return 0
