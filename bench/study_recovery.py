"""Planted-effect recovery of the study statistics over several MS seeds (mean and worst).

One synthetic cohort (8 biopsies, 512 px: 3 TEN, 3 MDE, 2 healthy) is planned and exported
once; for each seed a synthetic MS matrix is drawn, loaded and TEN vs MDE compared per cell
type (moderated t on patient means, BH). Prints recall of the planted interferon proteins
and the false discovery proportion among the other proteins, for the study's median-of-
ratios normalisation (default), a per-run median and none.

    PYTHONPATH=src python bench/study_recovery.py [n_seeds]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd


def main(n_seeds: int = 5) -> pd.DataFrame:
    from napari_dvp.core.progress import run_to_end
    from napari_dvp.core.proteomics.genesets import interferon_genes
    from napari_dvp.core.proteomics.synthetic import write_pg_matrix
    from napari_dvp.core.study.analysis import load_study_ms
    from napari_dvp.core.study.cohort import iter_write_cohort
    from napari_dvp.core.study.compare import compare_conditions, recovery
    from napari_dvp.core.study.export import export_study
    from napari_dvp.core.study.plan import plan_study
    from napari_dvp.core.study.synthetic_ms import PLANTED_CLASSES, study_pg_matrix

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        study = run_to_end(iter_write_cohort(Path(tmp) / "s", 8, 512, 0))
        plan = run_to_end(plan_study(study))
        study.lmd_dir.mkdir()
        manifest = run_to_end(export_study(study, plan, study.lmd_dir))
        for seed in range(n_seeds):
            path = Path(tmp) / f"pg{seed}.tsv"
            write_pg_matrix(study_pg_matrix(manifest, seed=seed), path)
            for norm in ("ratio", "median", "none"):
                ps = run_to_end(load_study_ms(path, manifest, normalise=norm))
                for ct in (*PLANTED_CLASSES, "fibroblast"):
                    r = recovery(compare_conditions(ps.processed, "TEN", "MDE", ct),
                                 interferon_genes())
                    rows.append({"seed": seed, "normalise": norm, "cell type": ct,
                                 "planted": ct in PLANTED_CLASSES, "recall": r["recall"],
                                 "false_positives": r["false_positives"], "fdp": r["fdp"]})
    df = pd.DataFrame(rows)
    summary = df.groupby(["normalise", "planted"]).agg(
        recall_mean=("recall", "mean"), recall_worst=("recall", "min"),
        fdp_mean=("fdp", "mean"), fdp_worst=("fdp", "max"),
        fp_worst=("false_positives", "max"))
    print(summary.round(3).to_string())
    return df


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
