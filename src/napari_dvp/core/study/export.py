"""One LMD export per slide (its own calibration), one manifest for the whole study.

Each slide is cut in its own microscope session: its samples go through
:func:`napari_dvp.core.lmd.export.export_lmd` with that slide's calibration marks and
pixel size into ``<out>/<slide>/`` (with several plates, ``<slide>_plate<n>/``). The
study manifest (``<out>/manifest.csv``) is every slide's manifest with ``slide, patient,
condition, plate`` and the slide's metadata columns added.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..csv_safe import write_csv
from ..errors import DvpInputError
from .model import Study
from .slides import MANIFEST_FILE


def slide_calibration(study: Study, slide: str):
    """The :class:`~napari_dvp.core.lmd.Calibration` of a slide (marks + pixel size)."""
    from ..lmd import Calibration

    rec = study.get(slide)
    if not rec.calibration:
        raise DvpInputError(f"slide {slide!r} has no LMD calibration marks; set three marks "
                            "for it (study calibrate)")
    if not rec.pixel_size_um:
        raise DvpInputError(f"slide {slide!r} has no pixel size; the LMD export needs the "
                            "measured pixel size (µm)")
    return Calibration(np.asarray(rec.calibration, dtype=float), float(rec.pixel_size_um))


def export_study(study: Study, plan: pd.DataFrame, out_dir: Path, plate: str = "384",
                 options=None):
    """Export every slide's samples: a generator yielding ``(done, total, message)`` and
    returning the study manifest (also written to ``out_dir/manifest.csv``).

    ``out_dir`` must exist (the caller stages it under the output policy).
    """
    from dataclasses import replace

    from ..lmd import ExportOptions, export_lmd
    from .slides import slide_data

    out_dir = Path(out_dir)
    samples = plan[plan["kind"] == "sample"]
    if samples.empty:
        raise DvpInputError("the study plan has no sample to export")
    keys = list(samples.groupby(["slide", "plate"], sort=False).groups)
    n_plates = plan["plate"].nunique()
    meta = study.table().set_index("slide")
    parts = []
    for i, (slide, p) in enumerate(keys):
        yield i, len(keys), f"exporting {slide} (plate {p})…"
        labels, cells = slide_data(study, slide)
        sub = samples[(samples["slide"] == slide) & (samples["plate"] == p)]
        sp = sub[["sample_id", "class", "region", "replicate", "well", "n_cells",
                  "area_um2", "cell_ids"]].copy()
        sp["kind"], sp["geometry"] = "cells", None
        name = slide if n_plates == 1 else f"{slide}_plate{p}"
        opt = replace(options or ExportOptions(), plate=plate, name=name, skip_outer=False)
        res = export_lmd(np.asarray(labels), sp.reset_index(drop=True),
                         slide_calibration(study, slide), out_dir / name, opt, cells=cells)
        man = res.manifest.copy()
        man.insert(1, "slide", slide)
        man.insert(2, "patient", meta.at[slide, "patient"])
        man.insert(3, "condition", meta.at[slide, "condition"])
        man.insert(4, "plate", int(p))
        for col in meta.columns:
            if col not in ("patient", "condition"):
                man[col] = meta.at[slide, col]
        parts.append(man)
    manifest = pd.concat(parts, ignore_index=True)
    write_csv(manifest, out_dir / MANIFEST_FILE, index=False)
    yield len(keys), len(keys), f"{len(manifest)} samples from {len(keys)} LMD file(s)"
    return manifest


def read_study_manifest(study: Study) -> pd.DataFrame:
    """The study manifest written by :func:`export_study`."""
    from ..proteomics.matching import read_manifest

    path = study.lmd_dir / MANIFEST_FILE
    if not path.is_file():
        raise DvpInputError(f"no study manifest at {path}; export the LMD files first "
                            "(study export-lmd)")
    return read_manifest(path)
