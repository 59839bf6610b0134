"""Each slide's own data (its project) and the study's per-slide progress."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .model import Study

PROGRESS = ("segmented", "classified", "planned", "exported", "measured")
PLAN_FILE = "study_plan.parquet"
MANIFEST_FILE = "manifest.csv"
SAMPLES_FILE = "samples.csv"


def slide_data(study: Study, slide: str, lazy: bool = False) -> tuple[np.ndarray, pd.DataFrame]:
    """Labels and cell table of a slide, from its project (image not needed)."""
    from ..project import load_project

    folder = study.project_dir(slide)
    if not (folder / "project.json").is_file():
        raise DvpInputError(f"slide {slide!r} is not segmented yet: no project at {folder}; "
                            "segment it and save its project there")
    project = load_project(folder, verify=False, lazy_labels=lazy)
    if project.labels is None or project.cells is None:
        raise DvpInputError(f"slide {slide!r} is not segmented yet (its project {folder} has "
                            "no labels or no cell table); segment and measure it first")
    return project.labels, project.cells


def project_defaults(folder) -> tuple[float | None, list[list[float]] | None]:
    """Pixel size (µm) and LMD calibration marks a project records in its ``meta``
    (``pixel_size_um``, ``lmd_marks_rc``), or None."""
    from ..project import read_index

    meta = read_index(folder).get("meta") or {}
    px = meta.get("pixel_size_um")
    marks = meta.get("lmd_marks_rc")
    ok = isinstance(marks, list) and len(marks) == 3 and all(len(m) == 2 for m in marks)
    return (float(px) if isinstance(px, int | float) and px > 0 else None,
            [[float(v) for v in m] for m in marks] if ok else None)


def slide_image_path(study: Study, slide: str):
    """The image file a slide's project refers to (or None)."""
    from ..project import read_index

    index = read_index(study.project_dir(slide))
    return (index.get("image") or {}).get("path")


def _project_state(folder) -> tuple[bool, bool]:
    from ..project import read_index

    try:
        files = read_index(folder)["files"]
    except DvpInputError:
        return False, False
    cells = files.get("cells") or {}
    return "labels" in files, "class" in (cells.get("columns") or [])


def progress(study: Study) -> pd.DataFrame:
    """One row per slide: ``slide, patient, condition`` and a bool per :data:`PROGRESS` step.

    Derived from what is on disk: labels / a ``class`` column in the slide's project,
    the slide's samples in ``plan/study_plan.parquet`` and in the study manifest
    ``lmd/manifest.csv``, its samples among the matched MS runs (``ms/samples.csv``).
    """
    planned: set[str] = set()
    if (study.plan_dir / PLAN_FILE).is_file():
        planned = set(pd.read_parquet(study.plan_dir / PLAN_FILE, columns=["slide"])["slide"])
    exported: set[str] = set()
    if (study.lmd_dir / MANIFEST_FILE).is_file():
        exported = set(pd.read_csv(study.lmd_dir / MANIFEST_FILE, dtype=str,
                                   usecols=["slide"])["slide"])
    measured: set[str] = set()
    if (study.ms_dir / SAMPLES_FILE).is_file():
        measured = set(pd.read_csv(study.ms_dir / SAMPLES_FILE, dtype=str)["slide"])
    rows = []
    for rec in study.slides:
        seg, cls = _project_state(study.project_dir(rec.slide))
        rows.append({"slide": rec.slide, "patient": rec.patient, "condition": rec.condition,
                     "segmented": seg, "classified": cls, "planned": rec.slide in planned,
                     "exported": rec.slide in exported,
                     "measured": rec.slide in measured})
    return pd.DataFrame(rows, columns=["slide", "patient", "condition", *PROGRESS])
