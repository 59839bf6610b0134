"""The tiled runner on dask.distributed: LocalCluster, a dead scheduler, a dying worker."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

import numpy as np
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.segmentation import run_to_end, segment_tiled
from napari_dvp.core.segmentation.builtin import BuiltinBackend, BuiltinParams
from napari_dvp.core.segmentation.distributed import DistributedRunner, open_client
from napari_dvp.core.segmentation.metrics import match_labels

from .test_segmentation_builtin import builtin, grid_of_cells


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_fails_fast():
    t0 = time.perf_counter()
    with pytest.raises(DvpInputError, match="does not answer"), \
            open_client(f"tcp://127.0.0.1:{free_port()}"):
        pass
    assert time.perf_counter() - t0 < 15


@pytest.mark.slow
def test_local_cluster_matches_in_process_run():
    image, _ = grid_of_cells(384, seed=2)
    local = run_to_end(segment_tiled(image, builtin(), [0, 1], tile_size=128))
    steps = []
    with open_client(workers=1) as client:
        dist = run_to_end(segment_tiled(image, builtin(), [0, 1], tile_size=128,
                                        runner=DistributedRunner(client)),
                          lambda d, t: steps.append(d))
    assert steps == list(range(10))
    assert dist.max() == local.max()
    assert match_labels(dist, local, iou=0.9).tp == local.max()


@dataclass(frozen=True)
class DiesOnceBackend(BuiltinBackend):
    """Kills its worker process the first time it runs (a worker dying mid-run)."""

    marker: str = ""

    def segment(self, tile):
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return super().segment(tile)


@pytest.mark.slow
def test_tiles_are_retried_when_a_worker_dies(tmp_path):
    image, _ = grid_of_cells(256, seed=3)
    backend = DiesOnceBackend(BuiltinParams(nucleus_diameter_um=7, max_expansion_um=3),
                              marker=str(tmp_path / "died"))
    expected = run_to_end(segment_tiled(image, builtin(), [0, 1], tile_size=128))
    with open_client(workers=1) as client:
        labels = run_to_end(segment_tiled(image, backend, [0, 1], tile_size=128,
                                          runner=DistributedRunner(client)))
    assert (tmp_path / "died").exists()
    # same cells (ids follow the order in which tiles completed)
    assert labels.max() == expected.max()
    assert match_labels(labels, expected, iou=0.99).tp == expected.max()
    assert np.array_equal(labels > 0, expected > 0)
