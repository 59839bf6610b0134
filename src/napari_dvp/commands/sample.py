"""``napari-dvp sample``: write a synthetic TEN skin biopsy and its ground truth."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._safety import add_overwrite, int_range, outputs

NAME = "sample"
HELP = ("write a synthetic toxic epidermal necrolysis (TEN) skin biopsy: a pyramidal 5-channel "
        "OME-TIFF (DAPI, panCK, CD8, CD163, pSTAT1; 0.5 µm/px) plus its ground truth (labels, "
        "cell table, regions)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True,
                        help="image file to write, FILE.ome.tif; ground truth goes beside it as "
                             "FILE_labels.tif, FILE_cells.csv and FILE_regions.geojson (with "
                             "--cohort: the new study folder)")
    parser.add_argument("--size", type=int_range(), default=None,
                        help="side length in pixels, 256 to 40000 (default 1024 = 512 µm; "
                             "512 per slide with --cohort)")
    parser.add_argument("--cohort", type=int_range(1, 48), default=None, metavar="N",
                        help="write a study of N biopsies instead (e.g. 6: 3 TEN, 2 MDE, 1 "
                             "healthy; one project per slide); then `napari-dvp study plan`")
    parser.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0,
                        help="random seed (default 0)")
    parser.add_argument("--layout", choices=("scaled", "physical"), default="scaled",
                        help="scaled: same picture at every size (default); physical: real "
                             "epidermis thickness, so a big sample is a big piece of tissue")
    add_overwrite(parser)


def run(args: argparse.Namespace) -> int:
    if args.cohort is not None:
        return _cohort(args)
    if args.size is None:
        args.size = 1024
    from ..core.progress import run_to_end
    from ..core.synthetic import iter_write_sample
    from ..core.synthetic._write import sample_paths

    t0 = time.perf_counter()
    last = -1

    def progress(done: int, total: int) -> None:
        nonlocal last
        pct = int(100 * done / max(total, 1))
        if sys.stderr.isatty() and pct != last:
            print(f"\rwriting sample … {pct:3d} %", end="", file=sys.stderr, flush=True)
            last = pct

    final = sample_paths(args.out)
    with outputs(args, NAME) as out:
        staged = {k: out.file(p) for k, p in final.items()}
        run_to_end(iter_write_sample(staged["image"], size=args.size, seed=args.seed,
                                     layout=args.layout), progress)
    paths = final
    if sys.stderr.isatty():
        print(file=sys.stderr)
    with open(paths["cells"], encoding="utf-8") as f:
        n_cells = sum(1 for _ in f) - 1
    print(f"synthetic TEN sample {args.size}x{args.size} px (seed {args.seed}, "
          f"{args.layout} layout, 0.5 µm/px) in {time.perf_counter() - t0:.1f} s:")
    print(f"  image    {paths['image']}  (DAPI, panCK, CD8, CD163, pSTAT1; pyramidal OME-TIFF)")
    print(f"  labels   {paths['labels']}  (ground-truth cell ids)")
    print(f"  cells    {paths['cells']}  ({n_cells} cells: class, region, lesional, centroid)")
    print(f"  regions  {paths['regions']}  (epidermis, dermis, blister; QuPath GeoJSON)")
    return 0


def _cohort(args: argparse.Namespace) -> int:
    from ..core.progress import run_to_end
    from ..core.study.cohort import iter_write_cohort

    size = args.size or 512
    t0 = time.perf_counter()
    with outputs(args, NAME) as out:
        # in place: each slide's project records its image's final path
        folder = out.folder(args.out, in_place=True)
        study = run_to_end(iter_write_cohort(folder, args.cohort, size, args.seed))
    print(f"synthetic cohort of {args.cohort} biopsies ({size}x{size} px each, seed "
          f"{args.seed}) in {time.perf_counter() - t0:.1f} s -> {args.out}")
    print(study.table().to_string(index=False))
    print(f"next: napari-dvp study plan {args.out}; napari-dvp study export-lmd {args.out}; "
          f"napari-dvp study simulate-ms {args.out} --out matrix.tsv")
    return 0
