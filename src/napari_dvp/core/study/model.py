"""A study: many slides (biopsies) with patient, condition and free metadata, one folder.

The study folder::

    study.json        the index: format, name, one record per slide (in order)
    slides/<slide>/   a napari-dvp project per slide (core.project), unless the record
                      points at a project folder elsewhere
    plan/             the study-wide plan, plate map and plate pictures (``study plan``)
    lmd/              one LMD export folder per slide + the shared manifest (``study export-lmd``)
    ms/               the matched MS matrix, scores (``study load``)
    results/          comparisons (``study compare``)

Each slide keeps its own segmentation, cells, classes, regions in its project; its LMD
calibration (three marks in image pixels) and pixel size are kept in its study record,
since each slide is cut in its own microscope session.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..errors import DvpInputError

FORMAT = "napari-dvp study"
FORMAT_VERSION = 1
INDEX = "study.json"
RESERVED = ("slide", "patient", "condition", "project", "pixel_size_um", "calibration", "meta")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


def check_name(name: str, what: str = "slide name") -> str:
    """A slide name usable as a folder name and inside sample ids (letters, digits, ``_.-``)."""
    name = str(name).strip()
    if not _NAME.match(name) or name in (".", ".."):
        raise DvpInputError(f"{what} {name[:40]!r} must be 1-40 letters, digits, '_', '.' or "
                            "'-', starting with a letter or digit; rename it")
    return name


@dataclass
class SlideRecord:
    """One slide of a study.

    Attributes
    ----------
    slide
        Unique name (used in sample ids and folder names).
    patient, condition
        Patient id and condition (e.g. ``TEN``, ``MDE``, ``healthy``).
    project
        The slide's project folder, relative to the study folder (or absolute).
    pixel_size_um
        Image pixel size in µm (LMD export needs a measured one).
    calibration
        Three LMD calibration marks in image pixels ``[[row, col], ...]`` or None.
    meta
        Free metadata columns (age, sex, drug, biopsy site …).
    """

    slide: str
    patient: str
    condition: str
    project: str = ""
    pixel_size_um: float | None = None
    calibration: list[list[float]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def pixel(self):
        """The slide's :class:`~napari_dvp.core.slide.model.PixelSize` by the one rule.

        The recorded size, else the rule's assumed one (as the Slide dock shows it).
        """
        from ..slide.model import pixel_size_rule

        return pixel_size_rule(recorded=self.pixel_size_um)


@dataclass
class Study:
    """A study folder in memory: its name and slide records (see module docstring)."""

    folder: Path
    name: str = "study"
    slides: list[SlideRecord] = field(default_factory=list)

    # ------------------------------------------------------------------ slides
    def names(self) -> list[str]:
        """Slide names in order."""
        return [s.slide for s in self.slides]

    def get(self, slide: str) -> SlideRecord:
        """The record of ``slide`` (DvpInputError when unknown)."""
        for s in self.slides:
            if s.slide == slide:
                return s
        raise DvpInputError(f"no slide {slide!r} in study {self.name!r}; slides: "
                            f"{', '.join(self.names()) or 'none yet'}")

    def project_dir(self, slide: str) -> Path:
        """Absolute project folder of ``slide``."""
        rec = self.get(slide)
        p = Path(rec.project or f"slides/{rec.slide}")
        return p if p.is_absolute() else self.folder / p

    def add(self, slide: str, patient: str, condition: str, project: str | os.PathLike | None
            = None, pixel_size_um: float | None = None,
            calibration: list[list[float]] | None = None, **meta: Any) -> SlideRecord:
        """Add a slide (its project in ``slides/<slide>`` unless ``project`` is given)."""
        slide = check_name(slide)
        if slide in self.names():
            raise DvpInputError(f"slide {slide!r} is already in the study; choose another name")
        patient, condition = str(patient).strip(), str(condition).strip()
        if not patient or not condition:
            raise DvpInputError(f"slide {slide!r} needs a patient id and a condition "
                                "(e.g. TEN, MDE, healthy)")
        bad = [k for k in meta if k in RESERVED]
        if bad:
            raise DvpInputError(f"metadata column {bad[0]!r} is reserved; rename it")
        if pixel_size_um is not None and not (0 < float(pixel_size_um) < 1e4):
            raise DvpInputError(f"pixel size {pixel_size_um!r} µm must be positive")
        proj = ""
        if project is not None:
            p = Path(project)
            try:
                proj = str(p.resolve().relative_to(self.folder.resolve()))
            except ValueError:
                proj = str(p.resolve())
        rec = SlideRecord(slide, patient, condition, proj or f"slides/{slide}",
                          None if pixel_size_um is None else float(pixel_size_um),
                          calibration, {str(k): v for k, v in meta.items()})
        self.slides.append(rec)
        return rec

    def remove(self, slide: str) -> SlideRecord:
        """Remove a slide from the study (its project folder is left on disk)."""
        rec = self.get(slide)
        self.slides.remove(rec)
        return rec

    def table(self):
        """One row per slide: ``slide, patient, condition`` + every metadata column."""
        import pandas as pd

        rows = [{"slide": s.slide, "patient": s.patient, "condition": s.condition, **s.meta}
                for s in self.slides]
        return pd.DataFrame(rows, columns=None if rows else ["slide", "patient", "condition"])

    def conditions(self) -> list[str]:
        """Conditions in order of first appearance."""
        return list(dict.fromkeys(s.condition for s in self.slides))

    # ------------------------------------------------------------------ folders
    @property
    def plan_dir(self) -> Path:
        return self.folder / "plan"

    @property
    def lmd_dir(self) -> Path:
        return self.folder / "lmd"

    @property
    def ms_dir(self) -> Path:
        return self.folder / "ms"

    @property
    def results_dir(self) -> Path:
        return self.folder / "results"

    def save(self) -> Path:
        """Write ``study.json`` atomically (the folder is created if needed)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        index = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": self.name,
                 "slides": [s.to_json() for s in self.slides]}
        path = self.folder / INDEX
        write_text_atomic(path, json.dumps(index, indent=1))
        return path


def new_study(folder: str | os.PathLike[str], name: str | None = None) -> Study:
    """Create an empty study in a new or empty folder."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(
            not p.name.startswith(".napari-dvp") for p in folder.iterdir())):
        raise DvpInputError(f"{folder} is not an empty folder; choose a new folder for the "
                            "study")
    study = Study(folder, name or folder.name)
    study.save()
    return study


def open_study(folder: str | os.PathLike[str]) -> Study:
    """Read a study folder (DvpInputError if it is none)."""
    folder = Path(folder)
    path = folder / INDEX
    if not path.is_file():
        raise DvpInputError(f"{folder} is not a napari-dvp study (no {INDEX}); create one with "
                            "`napari-dvp study new`")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise DvpInputError(f"{path} is damaged (not readable JSON)") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise DvpInputError(f"{path} is not a napari-dvp study index")
    if int(index.get("format_version", 0)) > FORMAT_VERSION:
        raise DvpInputError(f"{path} was written by a newer napari-dvp; update napari-dvp")
    try:
        slides = [SlideRecord(**s) for s in index.get("slides", [])]
    except TypeError as exc:
        raise DvpInputError(f"{path} has a malformed slide record ({exc})") from None
    return Study(folder, str(index.get("name", folder.name)), slides)
