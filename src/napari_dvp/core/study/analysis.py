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


PROCESSED_FILE = "processed.h5ad"


def write_study_ms(ps, folder) -> list:
    """Write ``processed.h5ad`` (samples x proteins, obs with the design), ``samples.csv``
    and ``scores.csv`` into ``folder``."""
    from pathlib import Path

    from ..csv_safe import write_csv
    from .slides import SAMPLES_FILE

    folder = Path(folder)
    ad_ = ps.processed.copy()
    ad_.uns = {k: v for k, v in ad_.uns.items() if k in ("processing", "log2", "matching")}
    ad_.write_h5ad(folder / PROCESSED_FILE)
    write_csv(sample_table(ps), folder / SAMPLES_FILE, index=False)
    write_csv(scores_table(ps), folder / "scores.csv", index=False)
    return [folder / PROCESSED_FILE, folder / SAMPLES_FILE, folder / "scores.csv"]


def open_study_ms(study):
    """The processed study matrix written by ``study load`` as a ``ProteinStudy`` (scores
    recomputed with the bundled gene sets)."""
    import anndata as ad

    from ..proteomics.study import ProteinStudy
    from .export import read_study_manifest

    path = study.ms_dir / PROCESSED_FILE
    if not path.is_file():
        raise DvpInputError(f"no processed MS matrix in {study.ms_dir}; load the study's "
                            "matrix first (study load)")
    processed = ad.read_h5ad(path)
    ps = ProteinStudy(processed, read_study_manifest(study), table=pd.DataFrame(),
                      processed=processed)
    from ..proteomics.matching import MatchReport
    from ..proteomics.scores import gene_set_scores

    ps.scores = gene_set_scores(processed, ps.gene_sets, min_coverage=ps.min_coverage,
                                min_members=ps.min_members)
    m = processed.uns.get("matching", {})
    ps.report = MatchReport(n_matched=processed.n_obs,
                            unmatched_runs=[str(r) for r in m.get("unmatched_runs", [])],
                            unmatched_samples=[str(r) for r in m.get("unmatched_samples", [])])
    return ps
