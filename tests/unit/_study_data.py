"""A small synthetic study shared by the study tests (built once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path


def build(root: Path, n: int = 6, size: int = 256, seed: int = 0, *, ms: bool = True):
    """Cohort -> plan -> export -> (synthetic matrix -> load); returns a dict of results."""
    from napari_dvp.core.progress import run_to_end
    from napari_dvp.core.proteomics.synthetic import write_pg_matrix
    from napari_dvp.core.study.analysis import load_study_ms, write_study_ms
    from napari_dvp.core.study.cohort import iter_write_cohort
    from napari_dvp.core.study.export import export_study
    from napari_dvp.core.study.params import StudyPlanParams
    from napari_dvp.core.study.plan import plan_study
    from napari_dvp.core.study.plate import write_plan_files
    from napari_dvp.core.study.synthetic_ms import study_pg_matrix

    folder = root / "study"
    shutil.rmtree(folder, ignore_errors=True)
    study = run_to_end(iter_write_cohort(folder, n, size, seed))
    params = StudyPlanParams(groups=("keratinocyte:epidermis:10", "CD8 T cell:dermis:4",
                                     "macrophage:dermis:3", "fibroblast:dermis:3"), seed=seed)
    plan = run_to_end(plan_study(study, params))
    write_plan_files(plan, study.plan_dir)
    study.lmd_dir.mkdir()
    manifest = run_to_end(export_study(study, plan, study.lmd_dir))
    out = {"study": study, "plan": plan, "manifest": manifest, "params": params}
    if ms:
        path = root / "pg.tsv"
        write_pg_matrix(study_pg_matrix(manifest, seed=seed, n_proteins=3000), path)
        ps = run_to_end(load_study_ms(path, manifest))
        study.ms_dir.mkdir()
        write_study_ms(ps, study.ms_dir)
        out.update(ps=ps, matrix=path)
    return out
