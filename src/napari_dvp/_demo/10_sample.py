"""Demo step: the synthetic TEN skin biopsy and its ground truth."""

from __future__ import annotations

import json

from ..core.atomic import atomic_path, write_text_atomic
from ..core.csv_safe import write_csv
from ..core.slide import write_ome_tiff
from ..core.synthetic import make_sample, regions_geojson
from ..core.synthetic._sample import TRUTH_COLUMNS

TITLE = "Synthetic TEN skin biopsy"


def run(state) -> None:
    """Make the sample, fill ``state`` and show the five channels."""
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
        write_csv(sample.cells[list(TRUTH_COLUMNS)], tmp, float_format="%.2f")
    write_text_atomic(state.out / "sample_truth_regions.geojson",
                      json.dumps(regions_geojson(sample.regions)))
    # the slide as a scanner would give it: a pyramidal OME-TIFF, opened lazily by our reader
    slide = state.out / "slide" / "ten_skin_synthetic.ome.tif"
    write_ome_tiff(slide, sample.image, channel_names=list(sample.channel_names),
                   pixel_size_um=sample.pixel_size_um, tile=256)
    state.extra["slide_path"] = slide
    state.say(f"wrote {slide.relative_to(state.out)} (pyramidal OME-TIFF)")
    if state.viewer is not None:
        state.viewer.open(str(slide), plugin="napari-dvp")
        state.viewer.reset_view()
        state.screenshot("01_sample.png")
