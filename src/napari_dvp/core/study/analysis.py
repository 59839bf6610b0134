"""The study's MS matrix: read, matched to the study manifest, processed, scored.

A thin layer over :class:`napari_dvp.core.proteomics.study.ProteinStudy` (reader with
format detection, run matching, processing, gene-set scores): the manifest's ``slide,
patient, condition`` columns travel into ``obs`` so every later step can group by them.
"""

from __future__ import annotations

import os

import pandas as pd

from ..errors import DvpInputError

DESIGN_COLUMNS = ("slide", "patient", "condition", "class", "region")


def load_study_ms(path: str | os.PathLike[str], manifest: pd.DataFrame, params=None):
    """Read, match, process and score: a generator yielding ``(done, total, message)`` and
    returning the :class:`~napari_dvp.core.proteomics.study.ProteinStudy`.

    Raises
    ------
    DvpInputError
        The manifest lacks the study columns, or nothing matches.
    """
    from ..proteomics.processing import ProcessingParams
    from ..proteomics.study import load_study

    missing = [c for c in DESIGN_COLUMNS if c not in manifest.columns]
    if missing:
        raise DvpInputError(f"the manifest lacks {', '.join(missing)}; use the study manifest "
                            "(study export-lmd writes lmd/manifest.csv)")
    return (yield from load_study(path, manifest, params or ProcessingParams()))


def sample_table(ps) -> pd.DataFrame:
    """Matched samples: ``sample_id, run, slide, patient, condition, class, region``."""
    obs = ps.processed.obs
    out = obs[[c for c in ("run", *DESIGN_COLUMNS, "well", "plate") if c in obs.columns]]
    return out.reset_index()


def scores_table(ps) -> pd.DataFrame:
    """Gene-set scores per sample with the design columns (scored sets only)."""
    cov = ps.scores.coverage
    scored = cov.loc[cov["scored"], "set"].tolist()
    s = ps.scores.scores[scored]
    return sample_table(ps).set_index("sample_id").join(s).reset_index()
