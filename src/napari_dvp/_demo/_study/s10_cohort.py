"""Study demo step: write the synthetic cohort (one project per slide)."""

from __future__ import annotations

TITLE = "Synthetic cohort"


def run(state) -> None:
    from ...core.progress import run_to_end
    from ...core.study.cohort import iter_write_cohort
    from ...core.study.slides import progress

    study = run_to_end(iter_write_cohort(state.out / "study", state.extra["n_slides"],
                                         state.size, state.seed))
    state.extra["study"] = study
    state.table(study.table(), "Slides of the study:")
    state.table(progress(study), "Progress per slide (projects written, nothing planned yet):")
