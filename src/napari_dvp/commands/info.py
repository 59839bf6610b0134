"""``napari-dvp info IMAGE``: what a slide holds, as the Slide dock shows it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "info"
HELP = ("print what a slide holds: stain (H&E or fluorescence), size, pyramid levels, channels, "
        "pixel size and where it comes from")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ._params import finite_float

    parser.add_argument("image", type=Path, help="OME-TIFF, TIFF, PNG/JPEG or OME-Zarr")
    parser.add_argument("--pixel-size-um", type=finite_float, default=None,
                        help="pixel size in µm to use instead of the file's (for the size in mm)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def summary(image, pixel_size_um: float | None = None) -> dict:
    """Plain facts about an opened :class:`~napari_dvp.core.slide.TissueImage` (JSON-ready)."""
    from ..core.slide.facts import facts_of_image

    return facts_of_image(image, pixel_size_um).as_dict()


def run(args: argparse.Namespace) -> int:
    from ..core.slide import open_image
    from ..core.slide.facts import facts_of_image

    with open_image(args.image) as image:
        facts = facts_of_image(image, args.pixel_size_um)
    if args.json:
        print(json.dumps(facts.as_dict(), indent=2))
        return 0
    print(facts.name)
    levels = ", ".join(f"{w:,}x{h:,}" for h, w in facts.level_shapes)
    for label, text in facts.rows():
        if label == "Pyramid":
            text = f"{text}: {levels}"
        print(f"  {label.lower():<13} {text}")
    return 0
