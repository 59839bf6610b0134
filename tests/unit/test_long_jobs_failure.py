"""Long jobs under failure: a worker that keeps dying is reported, never a silent hole;
a cancelled job leaves the previous result exactly as it was.

(A worker that dies once and is retried: ``test_segmentation_distributed``.)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from napari_dvp.core.errors import DvpError
from napari_dvp.core.segmentation import run_to_end
from napari_dvp.core.segmentation.builtin import BuiltinBackend, BuiltinParams
from napari_dvp.core.segmentation.pipeline import segment_file
from napari_dvp.core.slide import write_ome_tiff

from .test_segmentation_builtin import builtin, grid_of_cells


@dataclass(frozen=True)
class AlwaysDiesBackend(BuiltinBackend):
    """Kills its worker process on one tile, every time (a tile that can never finish)."""

    def segment(self, tile):
        if tile.shape[-1] < 200:  # only the narrow edge tile
            os._exit(1)
        return super().segment(tile)


def _digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


@pytest.fixture
def slide(tmp_path):
    image, _ = grid_of_cells(320, seed=5)
    path = tmp_path / "slide.ome.tif"
    write_ome_tiff(path, (image * 1000).astype(np.uint16), ["DAPI", "panCK"], 0.5, tile=64)
    return path


@pytest.mark.parametrize("suffix", [".tif", ".zarr"])
def test_cancelled_segmentation_keeps_the_previous_labels(slide, suffix):
    out = slide.with_name(f"labels{suffix}")
    run_to_end(segment_file(slide, out, builtin(), tile_size=128))
    before = _digest(out)
    listing = sorted(p.name for p in slide.parent.iterdir())
    gen = segment_file(slide, out, builtin(), tile_size=128)
    assert next(gen)[0] >= 0
    next(gen)
    gen.close()  # what the widget's Cancel / Ctrl-C does to the generator
    assert _digest(out) == before, "a cancelled run changed the previous labels"
    assert sorted(p.name for p in slide.parent.iterdir()) == listing, "debris left behind"


@pytest.mark.slow
def test_worker_that_keeps_dying_is_reported_and_nothing_is_written(slide):
    from napari_dvp.core.segmentation.distributed import DistributedRunner, open_client

    out = slide.with_name("labels.tif")
    backend = AlwaysDiesBackend(BuiltinParams(nucleus_diameter_um=7, max_expansion_um=3))
    with open_client(workers=1) as client, pytest.raises(DvpError) as info:
        run_to_end(segment_file(slide, out, backend, tile_size=128,
                                runner=DistributedRunner(client, retries=1)))
    msg = str(info.value)
    assert "\n" not in msg and "no labels were written" in msg
    assert not out.exists()
    assert sorted(p.name for p in slide.parent.iterdir()) == ["slide.ome.tif"]


def test_cancelled_proteomics_load_keeps_the_previous_study(tmp_path):
    """The widget loads in a worker and swaps the study only on success."""
    import pandas as pd

    from napari_dvp.core.proteomics.readers import read_proteomics
    from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix

    man = pd.DataFrame({"sample_id": ["A", "B"], "well": ["A1", "A2"], "class": ["k", "k"],
                        "region": ["e", "e"], "cell_ids": ["1", "2"]})
    good = tmp_path / "good.pg_matrix.tsv"
    write_pg_matrix(synthetic_pg_matrix(man, seed=0, n_proteins=50), good)
    previous = read_proteomics(good)
    snapshot = previous.copy()
    broken = tmp_path / "broken.pg_matrix.tsv"
    broken.write_bytes(good.read_bytes()[:40])
    with pytest.raises(DvpError):
        read_proteomics(broken)
    np.testing.assert_array_equal(previous.X, snapshot.X)
    assert list(previous.obs_names) == list(snapshot.obs_names)
