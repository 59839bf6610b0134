"""napari sample data: the synthetic TEN skin biopsy (``File > Open Sample``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .core.slide.layers import channel_colormap
from .core.synthetic import SyntheticSample, make_sample

LayerData = tuple[Any, dict[str, Any], str]

SAMPLE_SIZE = 2048  #: pixels (1 mm at 0.5 µm/px)
TRUTH_LAYER = "ground truth cells"


def sample_layer_data(sample: SyntheticSample, with_truth: bool = True) -> list[LayerData]:
    """napari ``LayerData`` for a synthetic sample.

    One additive image layer per channel (colour by marker, scale in µm,
    contrast from percentiles) and, with ``with_truth``, the ground-truth
    labels as a hidden labels layer whose ``features`` hold the true class,
    region and lesional flag of each cell (shown when hovering).
    """
    px = sample.pixel_size_um
    common = {"scale": (px, px), "units": ("um", "um"), "blending": "additive"}
    meta = {"pixel_size_um": px, "slide": f"synthetic TEN (seed {sample.spec.seed})",
            "synthetic": True}
    out: list[LayerData] = []
    n = len(sample.channel_names)
    step = max(1, sample.image.shape[1] // 1024)
    for c, name in enumerate(sample.channel_names):
        plane = sample.image[c]
        lo, hi = np.percentile(plane[::step, ::step], [0.5, 99.8])
        out.append((plane, {
            **common,
            "name": name,
            "colormap": channel_colormap(name, c, n),
            "contrast_limits": (float(lo), float(max(hi, lo + 1))),
            "metadata": {**meta, "channel": name, "channel_index": c},
        }, "image"))
    if with_truth:
        features = sample.cells.copy()
        features.insert(0, "index", features["cell_id"])
        out.append((sample.labels, {
            "name": TRUTH_LAYER,
            "scale": (px, px),
            "units": ("um", "um"),
            "visible": False,
            "opacity": 0.5,
            "features": features,
            "metadata": {**meta, "ground_truth": True},
        }, "labels"))
    return out


def ten_skin_sample() -> list[LayerData]:
    """A 2048² (1 x 1 mm) synthetic TEN skin biopsy: 5 channels and its ground-truth cells."""
    return sample_layer_data(make_sample(SAMPLE_SIZE, seed=0))
