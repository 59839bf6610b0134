"""Cell segmentation: backends behind one interface, tiled and distributed runs.

See :mod:`.backends` (interface, registry), :mod:`.builtin` (offline
scikit-image backend), :mod:`.cellpose_backend` (cellpose 4), :mod:`.tiling`
(tiles with overlap + stitching), :mod:`.distributed` (dask.distributed) and
:mod:`.metrics` (F1 against ground truth).
"""

from ..progress import run_to_end
from .backends import SegmentationBackend, backend_names, make_backend, register_backend
from .tiling import Tile, make_tiles, segment_tiled

__all__ = [
    "SegmentationBackend",
    "Tile",
    "backend_names",
    "make_backend",
    "make_tiles",
    "register_backend",
    "run_to_end",
    "segment_tiled",
]
