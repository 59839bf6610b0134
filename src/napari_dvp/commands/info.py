"""``napari-dvp info IMAGE``: what a slide holds, as the Slide widget shows it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "info"
HELP = "print what a slide holds: size, pyramid levels, channels, pixel size, H&E or fluorescence"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path, help="OME-TIFF, TIFF, PNG/JPEG or OME-Zarr")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def summary(image) -> dict:
    """Plain facts about an opened :class:`~napari_dvp.core.slide.TissueImage`."""
    ny, nx = image.shape
    px = image.pixel_size_um
    return {
        "file": image.path.name,
        "kind": "brightfield (H&E, RGB)" if image.is_rgb else "fluorescence",
        "size_px": [nx, ny],
        "size_mm": [round(nx * px / 1000, 3), round(ny * px / 1000, 3)] if px else None,
        "pyramid_levels": len(image.levels),
        "level_sizes_px": [[s[1], s[0]] for s in image.level_shapes],
        "channels": list(image.channel_names),
        "pixel_size_um": px,
        "pixel_type": str(image.dtype),
    }


def run(args: argparse.Namespace) -> int:
    from ..core.slide import open_image

    with open_image(args.image) as image:
        facts = summary(image)
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    nx, ny = facts["size_px"]
    mm = facts["size_mm"]
    print(f"{facts['file']}: {facts['kind']}")
    print(f"  size          {nx:,} x {ny:,} px" + (f" = {mm[0]} x {mm[1]} mm" if mm else ""))
    print(f"  pyramid       {facts['pyramid_levels']} level(s): "
          + ", ".join(f"{w}x{h}" for w, h in facts["level_sizes_px"]))
    print(f"  channels      {', '.join(facts['channels'])}")
    print("  pixel size    " + (f"{facts['pixel_size_um']:g} µm" if facts["pixel_size_um"]
                                else "unknown (set it in the Slide widget)"))
    print(f"  pixel type    {facts['pixel_type']}")
    return 0
