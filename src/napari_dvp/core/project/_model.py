"""The project data model: typed slots, names of the index and folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._image_ref import ImageRef

FORMAT = "napari-dvp project"
FORMAT_VERSION = 1
INDEX = "project.json"
RECOVERY_DIR = ".recovery"
LABEL_CHUNK = 1024
TABLE_SLOTS = ("plans", "manifests", "scores")
SLOTS = ("image_data", "labels", "cells", "regions", "classes", "classifier", *TABLE_SLOTS,
         "proteomics")


@dataclass
class EmbeddedImage:
    """An image that exists only in memory (a sample, a computed image), kept in the project.

    It is written into the project folder as a pyramidal OME-TIFF
    (``image.g<N>.ome.tif``) so that the reopened project has its tissue.

    Parameters
    ----------
    data
        ``(C, Y, X)`` or ``(Y, X)`` pixels (numpy or dask); ``(Y, X, 3)`` when ``rgb``.
    channel_names
        One name per channel (``red, green, blue`` for RGB).
    pixel_size_um
        Micrometres per pixel, written into the OME metadata (None: unknown).
    rgb
        A brightfield colour image.
    """

    data: Any
    channel_names: list[str]
    pixel_size_um: float | None = None
    rgb: bool = False


@dataclass
class Project:
    """Everything a project folder holds (any slot may be empty).

    Parameters
    ----------
    image
        Reference to the image (see :func:`image_ref`), or None. After
        loading a project that holds its own image, ``image.embedded`` is true
        and ``image.path`` points inside the project folder.
    image_data
        An image that exists only in memory, to be written into the project
        (see :class:`EmbeddedImage`); takes the place of ``image`` when given.
    labels
        Cell labels, an integer array (Y, X); 0 is background.
    cells
        The cell table (one row per cell id, with ``qc_status``, ``region``,
        ``class`` … columns).
    regions
        Drawn regions (:class:`~napari_dvp.core.regions.Region`); a mapping
        ``{class name: geometry}`` is accepted too.
    classes
        Class definitions / gating rules: anything JSON can hold.
    classifier
        A trained classifier as opaque bytes (e.g. the file written by
        :func:`napari_dvp.core.classes.classifier.save_classifier`).
    classifier_info
        What the classifier needs (``features``, ``classes`` …), JSON.
    plans, manifests, scores
        Named tables: sample plans, LMD manifests, per-sample scores.
    proteomics
        Loaded protein matrix as :class:`anndata.AnnData`.
    layers
        napari view state, one JSON dict per layer (name, kind, colormap,
        scale, visible …), in stacking order.
    meta
        Free JSON metadata (pixel size, notes …).
    """

    image: ImageRef | None = None
    image_data: EmbeddedImage | None = None
    labels: Any = None
    cells: pd.DataFrame | None = None
    regions: Any = field(default_factory=list)
    classes: Any = None
    classifier: bytes | None = None
    classifier_info: dict = field(default_factory=dict)
    plans: dict[str, pd.DataFrame] = field(default_factory=dict)
    manifests: dict[str, pd.DataFrame] = field(default_factory=dict)
    scores: dict[str, pd.DataFrame] = field(default_factory=dict)
    proteomics: Any = None
    layers: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    saved: str = ""
    generation: int = 0

