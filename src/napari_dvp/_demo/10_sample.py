"""Demo step: the synthetic TEN skin biopsy and its ground truth."""

from __future__ import annotations

import json

from ..core.atomic import atomic_path, write_text_atomic
from ..core.synthetic import make_sample, regions_geojson
from ..core.synthetic._sample import TRUTH_COLUMNS

TITLE = "Synthetic TEN skin biopsy"


def run(state) -> None:
    """Make the sample, fill ``state`` and show the five channels."""
    from .._sample_data import sample_layer_data

    sample = make_sample(state.size, seed=state.seed)
    state.image = sample.image
    state.channel_names = list(sample.channel_names)
    state.pixel_size_um = sample.pixel_size_um
    state.truth = sample.cells
    state.extra["truth_labels"] = sample.labels
    state.extra["regions"] = sample.regions
    state.extra["sample_spec"] = sample.spec
    counts = sample.cells["true_class"].value_counts()
    state.say(f"sample {state.size}x{state.size} px (seed {state.seed}): {len(sample.cells)} "
              "cells, " + ", ".join(f"{n} {k}" for k, n in counts.items()))

    state.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(state.out / "sample_truth_cells.csv") as tmp:
        sample.cells[list(TRUTH_COLUMNS)].to_csv(tmp, index=False, float_format="%.2f")
    write_text_atomic(state.out / "sample_truth_regions.geojson",
                      json.dumps(regions_geojson(sample.regions)))
    if state.viewer is not None:
        for data, kwargs, _ in sample_layer_data(sample, with_truth=False):
            state.viewer.add_image(data, **kwargs)
        state.viewer.reset_view()
        state.screenshot("01_sample.png")
