"""``napari-dvp demo``: the whole product on a synthetic TEN skin biopsy."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._safety import add_overwrite, int_range

NAME = "demo"
HELP = "open napari with the synthetic TEN biopsy and every napari-dvp step (or run it headless)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true",
                        help="no window: run every step and write what a person would look at")
    parser.add_argument("--out", type=Path, default=Path("demo-output"),
                        help="folder for screenshots and each step's outputs (default demo-output)")
    parser.add_argument("--size", type=int_range(), default=None,
                        help="sample size in pixels (default 1024; 512 per slide with --study)")
    parser.add_argument("--study", action="store_true",
                        help="run a whole synthetic cohort headless instead: plan, plate, one "
                             "LMD file per slide, MS matrix, maps, TEN vs MDE statistics")
    parser.add_argument("--slides", type=int_range(3, 48), default=8,
                        help="slides in the --study cohort (default 8: 3 TEN, 3 MDE, "
                             "2 healthy)")
    parser.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0,
                        help="random seed of the sample (default 0)")
    parser.add_argument("--steps", nargs="*", default=None,
                        help="run only these steps (e.g. sample segment); default: all")
    add_overwrite(parser)


def run(args: argparse.Namespace) -> int:
    from ..core.atomic import read_marker
    from ..demo import run_demo

    earlier = read_marker(args.out) if args.out.is_dir() else None
    # an earlier demo's own folder is replaced without --overwrite (rerunning the demo is
    # the point); anything else follows the output policy
    again = earlier is not None and earlier.get("command") == "demo"
    if args.study:
        return _study(args, args.overwrite or again)
    if args.size is None:
        args.size = 1024
    run_demo(out=args.out, headless=args.headless, size=args.size, seed=args.seed,
             only=args.steps, overwrite=args.overwrite or again)
    return 0


def _study(args: argparse.Namespace, overwrite: bool) -> int:
    from ..core.errors import DvpInputError
    from ..core.outputs import Outputs

    size = args.size or 512
    if not 256 <= size <= 4096:
        raise DvpInputError(f"--size {size} is outside 256..4096 for the study demo")
    from .._demo._study import run_study_demo

    outputs = Outputs("demo", overwrite=overwrite)
    with outputs:
        out = outputs.folder(args.out, "--out", in_place=True)
        state = run_study_demo(out, args.slides, size, args.seed)
    print(f"study demo: {args.out / 'SUMMARY.md'} ({state.extra['runtime_s']:.0f} s)")
    return 0
