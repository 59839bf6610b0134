"""Options every writing command shares: ``--overwrite`` and strict number types.

Light on purpose (argparse only): command modules use it in ``add_arguments``.
The policy itself is :class:`napari_dvp.core.outputs.Outputs`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

__all__ = ["add_overwrite", "float_range", "int_range", "outputs"]


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """Add ``--overwrite`` (replace existing outputs that napari-dvp wrote)."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing outputs (files; folders only if napari-dvp wrote "
                             "everything in them); inputs are never overwritten")


def float_range(lo: float | None = None, hi: float | None = None, *,
                lo_open: bool = False) -> Callable[[str], float]:
    """``argparse`` type: a finite float within ``[lo, hi]`` (``(lo, hi]`` if ``lo_open``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number (got {text!r})")
        low_bad = lo is not None and (value <= lo if lo_open else value < lo)
        if low_bad or (hi is not None and value > hi):
            left = "(" if lo_open else "["
            raise argparse.ArgumentTypeError(
                f"{text} is outside {left}{'-inf' if lo is None else f'{lo:g}'}, "
                f"{'inf' if hi is None else f'{hi:g}'}]")
        return value

    parse.__name__ = "number"
    return parse


def int_range(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """``argparse`` type: an integer within ``[lo, hi]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"{value} is outside [{'-inf' if lo is None else lo}, "
                f"{'inf' if hi is None else hi}]")
        return value

    parse.__name__ = "integer"
    return parse


def outputs(args: argparse.Namespace, command: str, *inputs: Any):
    """The :class:`~napari_dvp.core.outputs.Outputs` of this run (``--overwrite`` from args)."""
    from ..core.outputs import Outputs

    return Outputs(command, inputs, overwrite=getattr(args, "overwrite", False))
