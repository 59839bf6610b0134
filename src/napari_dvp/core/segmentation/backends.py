"""One interface for every segmentation backend, and a registry of them.

A backend turns one tile of the selected channels into a labels image::

    backend.segment(tile)  # tile: (C_sel, h, w) float32 -> (h, w) int32 labels

``C_sel`` is 1 (nuclear channel only) or 2 (nuclear, cytoplasm/membrane).
Backends are small picklable objects holding only their parameters (heavy
state such as a cellpose network is cached per process), so the same object
runs in-process or on dask.distributed workers.

Before a tiled run the runner calls ``backend.calibrate(overview)`` with a
down-sampled view of the whole image; a backend returns a copy of itself with
image-wide statistics (thresholds, normalisation percentiles) fixed, so that
every tile is segmented with the same settings and cells agree across seams.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from ..errors import DvpInputError


@runtime_checkable
class SegmentationBackend(Protocol):
    """What the tiled runner needs from a backend."""

    name: str

    @property
    def cell_diameter_px(self) -> float:
        """Expected diameter of a whole cell in pixels (sets the default tile overlap)."""

    def calibrate(self, overview: np.ndarray) -> SegmentationBackend:
        """Return a copy with image-wide statistics taken from ``overview`` (C_sel, h, w)."""

    def segment(self, tile: np.ndarray) -> np.ndarray:
        """Segment a (C_sel, h, w) float32 tile into (h, w) int32 labels (0 = background)."""


P = TypeVar("P")

_REGISTRY: dict[str, Callable[..., SegmentationBackend]] = {}


def register_backend(name: str, factory: Callable[..., SegmentationBackend]) -> None:
    """Make ``factory(**params)`` available as backend ``name``."""
    _REGISTRY[name] = factory


def backend_names() -> list[str]:
    """Names of the registered backends."""
    _load_builtin_backends()
    return sorted(_REGISTRY)


def make_backend(name: str, **params) -> SegmentationBackend:
    """Create backend ``name`` ("builtin" or "cellpose") with its parameters.

    Raises
    ------
    DvpInputError
        If no backend has that name.
    """
    _load_builtin_backends()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise DvpInputError(
            f"unknown segmentation backend {name!r}; choose one of {', '.join(sorted(_REGISTRY))}"
        ) from None
    return factory(**params)


def params_from(backend: str, params_cls: type[P], params: dict[str, Any]) -> P:
    """Build a backend's frozen parameter dataclass, refusing names it does not have.

    Raises
    ------
    DvpInputError
        If ``params`` holds a keyword that ``params_cls`` has no field for.
    """
    known = {f.name for f in dataclasses.fields(params_cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise DvpInputError(f"{backend} backend has no parameter(s) {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
    return params_cls(**params)


def check_labels(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Return ``labels`` as int32 of ``shape``, relabelled 1..n (the backend contract)."""
    labels = np.asarray(labels)
    if labels.shape != tuple(shape):
        raise RuntimeError(f"backend returned labels of shape {labels.shape}, expected {shape}")
    ids, inverse = np.unique(labels, return_inverse=True)
    if ids[0] != 0:  # no background at all
        inverse = inverse + 1
    return inverse.reshape(shape).astype(np.int32, copy=False)


def _load_builtin_backends() -> None:
    if "builtin" not in _REGISTRY:
        from .builtin import BuiltinBackend

        register_backend("builtin", BuiltinBackend.from_params)
    if "cellpose" not in _REGISTRY:
        from .cellpose_backend import CellposeBackend

        register_backend("cellpose", CellposeBackend.from_params)
