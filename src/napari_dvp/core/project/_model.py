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
SLOTS = ("labels", "cells", "regions", "classes", "classifier", *TABLE_SLOTS, "proteomics")


@dataclass
class Project:
    """Everything a project folder holds (any slot may be empty).

    Parameters
    ----------
    image
        Reference to the image (see :func:`image_ref`), or None.
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

