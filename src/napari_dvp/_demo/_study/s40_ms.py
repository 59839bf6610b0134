"""Study demo step: a synthetic MS matrix for the study's samples, matched and scored."""

from __future__ import annotations

TITLE = "MS matrix for the study"


def run(state) -> None:
    from ...core.atomic import write_marker
    from ...core.progress import run_to_end
    from ...core.proteomics.synthetic import write_pg_matrix
    from ...core.study.analysis import load_study_ms, write_study_ms
    from ...core.study.slides import progress
    from ...core.study.synthetic_ms import study_pg_matrix

    study = state.extra["study"]
    study.ms_dir.mkdir()
    path = study.ms_dir / "report.pg_matrix.tsv"
    write_pg_matrix(study_pg_matrix(state.extra["manifest"], seed=state.seed,
                                    n_proteins=5000), path)
    ps = run_to_end(load_study_ms(path, state.extra["manifest"]))
    state.extra["ps"], state.extra["matrix"] = ps, path
    state.say(ps.summary())
    write_study_ms(ps, study.ms_dir)
    write_marker(study.ms_dir, command="demo --study")
    state.table(progress(study), "Progress per slide:")
