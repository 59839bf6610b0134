"""Study demo step: one LMD file per slide (its own calibration), one shared manifest."""

from __future__ import annotations

TITLE = "LMD export per slide"


def run(state) -> None:
    from ...core.atomic import write_marker
    from ...core.progress import run_to_end
    from ...core.study.export import export_study

    study = state.extra["study"]
    study.lmd_dir.mkdir()
    manifest = run_to_end(export_study(study, state.extra["plan"], study.lmd_dir))
    state.extra["manifest"] = manifest
    write_marker(study.lmd_dir, command="demo --study")
    files = sorted(p.name for p in study.lmd_dir.glob("*/*.xml"))
    state.say(f"{len(files)} Leica XML files ({', '.join(files)}), one manifest of "
              f"{len(manifest)} samples with slide/patient/condition columns")
