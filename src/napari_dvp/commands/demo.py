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
    parser.add_argument("--size", type=int_range(), default=1024,
                        help="sample size in pixels (default 1024)")
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
    run_demo(out=args.out, headless=args.headless, size=args.size, seed=args.seed,
             only=args.steps, overwrite=args.overwrite or again)
    return 0
