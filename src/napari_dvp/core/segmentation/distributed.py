"""Run the tiled segmentation on dask.distributed (a LocalCluster or a scheduler address).

The tiles are submitted as futures running :func:`.tiling.segment_tile` on the
workers (each worker loads its cellpose model once and keeps it); the results
(only the cells each tile owns, cropped) come back to this process, which
stitches them as they complete. Failed tiles are retried twice (a worker that
dies mid-run); a tile that still fails stops the run with an error: there is
never a silent hole in the labels.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from ..errors import DvpError, DvpInputError
from .backends import SegmentationBackend
from .tiling import ArrayReader, Tile, TileResult, segment_tile

CONNECT_TIMEOUT = "5s"


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None):
    """Yield a dask ``Client``: to ``scheduler`` if given, else on a new LocalCluster.

    Raises
    ------
    DvpInputError
        If the scheduler does not answer within a few seconds.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise DvpInputError(
                f"dask scheduler {scheduler} does not answer ({type(exc).__name__}); "
                "check the address (tcp://host:8786) and that the scheduler is running, "
                "or leave --scheduler out to use this machine"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    n = max(1, int(workers or 1))
    logging.getLogger("distributed").setLevel(logging.ERROR)
    # the worker processes share our stderr and configure their logging when they import
    # distributed: without this they log their teardown ("Received 'close-stream'", or an
    # ERROR with a traceback when the scheduler is gone before their heartbeat)
    # after an interrupt, below the one line the command prints
    with (_environ(DASK_LOGGING__DISTRIBUTED="critical"),
          LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                       # dashboard on a free local port: None still binds :8787 here, which
                       # fails when another cluster runs on this machine
                       dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster,
          Client(cluster) as client):
        yield client


@contextlib.contextmanager
def _environ(**values: str):
    """Set environment variables (inherited by the processes started inside) and restore them."""
    import os

    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class DistributedRunner:
    """A :data:`.tiling.TileRunner` that executes tiles as futures on a dask client."""

    def __init__(self, client, retries: int = 2):
        self.client = client
        self.retries = retries

    def __call__(self, reader: ArrayReader, tiles: list[Tile], backend: SegmentationBackend,
                 polygon=None) -> Iterator[TileResult]:
        from distributed import as_completed

        client = self.client
        # a task (not scattered data): recomputed if the worker holding it dies
        reader_f = client.submit(_same, reader, pure=False, retries=self.retries)
        futures = [client.submit(segment_tile, reader_f, tile, backend, polygon,
                                 retries=self.retries, pure=False, key=f"dvp-tile-{tile.index}-"
                                 f"{id(self)}") for tile in tiles]
        try:
            for future in as_completed(futures):
                if future.status != "finished":
                    exc = future.exception()
                    if isinstance(exc, DvpError):
                        raise exc
                    raise DvpError(f"segmentation tile {futures.index(future) + 1} failed on "
                                   f"the dask cluster after {self.retries} retries "
                                   f"({future.status}: {type(exc).__name__}: {exc}); "
                                   "no labels were written")
                result = future.result()
                future.release()
                yield result
        finally:
            client.cancel(futures)
            client.cancel([reader_f])


def _same(obj):
    return obj
