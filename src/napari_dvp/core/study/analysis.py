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
NORMALISE = ("ratio", "median", "quantile", "none")


def ratio_normalise(adata, log2_input: bool):
    """Median-of-ratios normalisation (as DESeq2's size factors, in log2): each run is
    shifted by the median, over its measured proteins, of its log2 difference to the
    per-protein median of all runs. Robust to a minority of proteins changing together
    (an interferon response), which shifts a plain per-run median. Returns a copy."""
    import numpy as np

    X = np.asarray(adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        L = X if log2_input else np.log2(np.where(X > 0, X, np.nan))
    L = np.where(np.isfinite(L), L, np.nan)
    measured = np.isfinite(L).any(axis=0)
    ref = np.full(L.shape[1], np.nan)
    ref[measured] = np.nanmedian(L[:, measured], axis=0)
    D = L - ref
    ok = np.isfinite(D).any(axis=1)
    off = np.zeros(L.shape[0])
    off[ok] = np.nanmedian(D[ok], axis=1)
    L = L - off[:, None]
    out = adata.copy()
    out.X = L if log2_input else np.exp2(L)
    out.obs["ratio_offset_log2"] = off
    return out


def load_study_ms(path: str | os.PathLike[str], manifest: pd.DataFrame, params=None,
                  normalise: str = "ratio"):
    """Read, match, process and score: a generator yielding ``(done, total, message)`` and
    returning the :class:`~napari_dvp.core.proteomics.study.ProteinStudy`.

    ``normalise="ratio"`` (default) applies :func:`ratio_normalise` to the runs and then
    processes without further normalisation; ``"median"``, ``"quantile"``, ``"none"`` use
    the processing's own (``params.normalise``).

    Raises
    ------
    DvpInputError
        The manifest lacks the study columns, or nothing matches.
    """
    from dataclasses import replace

    from ..proteomics.processing import ProcessingParams, input_log2
    from ..proteomics.readers import read_proteomics
    from ..proteomics.study import ProteinStudy

    missing = [c for c in DESIGN_COLUMNS if c not in manifest.columns]
    if missing:
        raise DvpInputError(f"the manifest lacks {', '.join(missing)}; use the study manifest "
                            "(study export-lmd writes lmd/manifest.csv)")
    if normalise not in NORMALISE:
        raise DvpInputError(f"normalisation {normalise!r} is unknown; use "
                            f"{', '.join(NORMALISE)}")
    params = params or ProcessingParams()
    yield 0, 3, "reading the protein table…"
    data = read_proteomics(path)
    if normalise == "ratio":
        data = ratio_normalise(data, bool(input_log2(data, params.log2)["input_is_log2"]))
        params = replace(params, normalise="none")
    elif normalise != params.normalise:
        params = replace(params, normalise=normalise)
    yield 1, 3, "matching runs to samples…"
    study = ProteinStudy(data, manifest, params)
    yield 2, 3, "processing and scoring…"
    study.update()
    study.processed.uns["study_normalisation"] = normalise
    return study


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
