"""A synthetic cohort: N synthetic TEN-like biopsies as a study (one project per slide).

Conditions follow the TEN paper's design on a small scale: with ``n`` slides, one
``healthy`` slide per four (at least one from three slides on), the rest split between
``TEN`` (the larger half) and ``MDE`` (6 slides: 3 TEN, 2 MDE, 1 healthy; 8 slides:
3 TEN, 3 MDE, 2 healthy); every slide is its own patient, with its own seed (hence its
own tissue layout; from 1024 px on, every other slide uses the physical layout). Each
slide's project holds the ground-truth labels, a cell table (``class``, ``region``,
``area_um2`` …) and the regions, as if segmented and classified; its record holds the
pixel size and three LMD calibration marks.

The MS matrix comes later, after the study plan: :mod:`.synthetic_ms`.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import numpy as np

from ..errors import DvpInputError
from .model import Study, new_study

MAX_SLIDES = 48
CONDITIONS = ("TEN", "MDE", "healthy")
DRUGS = ("allopurinol", "carbamazepine", "lamotrigine", "cotrimoxazole", "phenytoin")


def cohort_conditions(n: int) -> list[str]:
    """Condition of each of ``n`` slides (TEN first, then MDE, then healthy)."""
    if not 1 <= int(n) <= MAX_SLIDES:
        raise DvpInputError(f"a cohort of {n} slides is out of range; choose 1 to {MAX_SLIDES}")
    n = int(n)
    healthy = max(n // 4, 1) if n >= 3 else 0
    rest = n - healthy
    ten = -(-rest // 2)
    return ["TEN"] * ten + ["MDE"] * (rest - ten) + ["healthy"] * healthy


def slide_cells(truth, labels: np.ndarray, pixel_size_um: float):
    """A measured-looking cell table from the ground truth: class, region, area (µm²)."""
    cells = truth.rename(columns={"true_class": "class", "true_region": "region"}).copy()
    cells["class"] = cells["class"].astype(str)
    cells["region"] = cells["region"].astype(str)
    counts = np.bincount(np.asarray(labels).ravel(), minlength=int(cells["cell_id"].max()) + 1)
    cells["area_um2"] = counts[cells["cell_id"].to_numpy()] * pixel_size_um ** 2
    cells["lesional"] = cells["lesional"].astype(bool)
    return cells.reset_index(drop=True)


def tissue_marks(labels: np.ndarray) -> list[list[float]]:
    """Three calibration marks at corners of the tissue's bounding box (row, col)."""
    rows = np.flatnonzero(np.asarray(labels).any(axis=1))
    cols = np.flatnonzero(np.asarray(labels).any(axis=0))
    r0, r1, c0, c1 = float(rows[0]), float(rows[-1]), float(cols[0]), float(cols[-1])
    return [[r0, c0], [r0, c1], [r1, c0]]


def iter_write_cohort(folder: str | os.PathLike[str], n: int = 6, size: int = 512,
                      seed: int = 0) -> Generator[tuple[int, int, str], None, Study]:
    """Write a synthetic cohort study, yielding ``(done, total, message)``.

    Parameters
    ----------
    folder
        New (or empty) study folder.
    n
        Number of slides (biopsies), 1 to :data:`MAX_SLIDES`.
    size
        Side of each slide in pixels (256 to 4096; small so that it is fast).
    seed
        Base seed; slide ``i`` uses ``seed + i``.

    Returns
    -------
    Study
        The saved study.
    """
    from ..project import Project, image_ref, save_project
    from ..synthetic import PIXEL_SIZE_UM, labels_dask, make_spec, regions, truth_table
    from ..synthetic import write_sample as _write_sample

    conditions = cohort_conditions(n)
    if not 256 <= int(size) <= 4096:
        raise DvpInputError(f"cohort slide size {size} px is out of range; choose 256 to 4096")
    folder = Path(folder)
    study = new_study(folder, folder.name)
    rng = np.random.default_rng(seed)
    counters = dict.fromkeys(CONDITIONS, 0)
    total = len(conditions)
    for i, cond in enumerate(conditions):
        counters[cond] += 1
        slide = f"{cond}{counters[cond]}"
        yield i, total, f"writing slide {slide} ({i + 1}/{total})…"
        # the physical layout (real epidermis thickness) leaves no dermis below ~1000 px
        layout = ("scaled", "physical")[i % 2] if size >= 1024 else "scaled"
        spec = make_spec(int(size), int(seed) + i, layout)
        image = folder / "images" / f"{slide}.ome.tif"
        image.parent.mkdir(parents=True, exist_ok=True)
        _write_sample(image, int(size), int(seed) + i, layout)
        labels = np.asarray(labels_dask(spec).compute(), dtype=np.uint32)
        cells = slide_cells(truth_table(spec, exact_centroids=True), labels, PIXEL_SIZE_UM)
        regs = {k: g for k, g in regions(spec).items() if not g.is_empty}
        marks = tissue_marks(labels)
        project = Project(image=image_ref(image), labels=labels, cells=cells, regions=regs,
                          meta={"pixel_size_um": PIXEL_SIZE_UM, "lmd_marks_rc": marks,
                                "synthetic_seed": int(seed) + i, "layout": layout})
        save_project(folder / "slides" / slide, project)
        meta = {"age": int(rng.integers(25, 85)), "sex": str(rng.choice(["F", "M"])),
                "drug": "" if cond == "healthy" else str(rng.choice(DRUGS)),
                "synthetic_seed": int(seed) + i}
        study.add(slide, f"P{i + 1:02d}", cond, pixel_size_um=PIXEL_SIZE_UM,
                  calibration=marks, **meta)
        study.save()
    yield total, total, f"{total} slides written"
    return study
