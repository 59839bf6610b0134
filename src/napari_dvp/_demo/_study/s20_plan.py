"""Study demo step: one plan for the whole study, on a 384-well plate."""

from __future__ import annotations

TITLE = "Study plan and plate layout"


def run(state) -> None:
    from ...core.atomic import write_marker
    from ...core.progress import run_to_end
    from ...core.study.params import StudyPlanParams
    from ...core.study.plan import balance_table, confounding_p, plan_study
    from ...core.study.plate import write_plan_files

    study = state.extra["study"]
    params = StudyPlanParams(seed=state.seed)
    plan = run_to_end(plan_study(study, params))
    write_plan_files(plan, study.plan_dir, params.plate)
    write_marker(study.plan_dir, command="demo --study")
    state.extra["plan"] = plan
    for w in plan.attrs.get("warnings", []):
        state.say(f"plan: {w}")
    n = int((plan["kind"] == "sample").sum())
    state.say(f"{n} samples + {len(plan) - n} blank/QC wells on {plan['plate'].nunique()} "
              f"plate(s), layout {params.layout}, edges skipped")
    state.table(balance_table(plan, "row").reset_index(), "Samples per plate row and condition:")
    state.say("condition vs plate row / column (chi-square p; high = not confounded): "
              + ", ".join(f"{by} p = {confounding_p(plan, by):.2f}" for by in ("row", "column")))
