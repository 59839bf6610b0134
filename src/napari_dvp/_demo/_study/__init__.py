"""The steps of ``napari-dvp demo --study``: a whole synthetic cohort, headless.

Each module ``s<nn>_<step>.py`` defines ``TITLE`` and ``run(state)`` (a
:class:`napari_dvp._demo.DemoState` without a viewer); they run in file-name order.
The leading underscore of this package keeps these steps out of the single-slide demo.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from pathlib import Path

from .. import DemoState


def steps():
    """All study demo steps as ``(module_name, title, run)`` in order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("s") and info.name[1:3].isdigit():
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append((info.name, module.TITLE, module.run))
    return found


def run_study_demo(out: Path, n_slides: int = 8, size: int = 512, seed: int = 0) -> DemoState:
    """Run every study step into ``out`` (which must exist) and write ``SUMMARY.md``."""
    state = DemoState(out=Path(out), size=size, seed=seed)
    state.extra["n_slides"] = n_slides
    t_all = time.perf_counter()
    for _name, title, run in steps():
        t0 = time.perf_counter()
        state.say(f"{title} …")
        run(state)
        state.say(f"{title}: done in {time.perf_counter() - t0:.1f} s")
    state.extra["runtime_s"] = time.perf_counter() - t_all
    _write_summary(state)
    return state


def _write_summary(state: DemoState) -> None:
    from ...demo import summary_line

    files = sorted(p.relative_to(state.out) for p in state.out.rglob("*")
                   if p.is_file() and not p.name.startswith(".") and "slides" not in p.parts
                   and "images" not in p.parts)
    head = ["# napari-dvp study demo", "",
            f"A synthetic cohort of {state.extra['n_slides']} biopsies ({state.size}² px each, "
            f"seed {state.seed}), headless; whole run {state.extra['runtime_s']:.1f} s.", ""]
    result = state.extra.get("verdict_md", [])
    lines = [*head, *result, "", "## Steps", "", *[summary_line(m) for m in state.log], "",
             "## Files", "", *[f"- {f}" for f in files if f.name != "SUMMARY.md"], ""]
    (state.out / "SUMMARY.md").write_text("\n".join(lines), encoding="utf-8")
    state.say(f"study demo finished: {len(files)} files in {state.out}")
