"""Cell segmentation: backends behind one interface, tiled and distributed runs.

See :mod:`.backends` (interface, registry), :mod:`.builtin` (offline
scikit-image backend), :mod:`.cellpose_backend` (cellpose 4), :mod:`.tiling`
(tiles with overlap + stitching), :mod:`.distributed` (dask.distributed) and
:mod:`.metrics` (F1 against ground truth).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from ..progress import run_to_end
    from .backends import SegmentationBackend, backend_names, make_backend, register_backend
    from .tiling import Tile, make_tiles, segment_tiled

#: where each public name lives; imported on first use, so that the light
#: :mod:`.params` (read by ``napari-dvp --help``) does not pull numpy in
_EXPORTS = {
    "SegmentationBackend": ".backends",
    "Tile": ".tiling",
    "backend_names": ".backends",
    "make_backend": ".backends",
    "make_tiles": ".tiling",
    "register_backend": ".backends",
    "run_to_end": "..progress",
    "segment_tiled": ".tiling",
}

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


__getattr__ = lazy_exports(__name__, _EXPORTS)
