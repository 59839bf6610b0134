"""Every dock napari-dvp contributes has a click test that clicks all its buttons.

The click tests use the ``clicker`` fixture (tests/integration/conftest.py), which
enumerates the dock's buttons at teardown and fails if one was never clicked with
the mouse — so a new button without a click fails its dock's test, and a new dock
without a click test fails here.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import yaml

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"


def _dock_classes() -> dict[str, str]:
    manifest = yaml.safe_load(files("napari_dvp").joinpath("napari.yaml").read_text())
    docks = {w["command"] for w in manifest["contributions"]["widgets"]}
    return {c["id"]: c["python_name"].split(":")[1]
            for c in manifest["contributions"]["commands"] if c["id"] in docks}


ALIASES = {"proteomics": "proteins"}  #: command stem -> its click test's name


def test_every_dock_has_a_click_test_that_checks_all_its_buttons():
    docks = _dock_classes()
    assert len(docks) >= 9
    missing = []
    for command, cls in sorted(docks.items()):
        stem = command.split(".", 1)[1].removesuffix("_widget")
        names = {stem, ALIASES.get(stem, stem)}
        tests = [INTEGRATION / f"test_click_{n}.py" for n in names]
        texts = [t.read_text(encoding="utf-8") for t in tests if t.exists()]
        # a clicker(...) that checks every button (not check_all=False)
        if not any(re.search(r"\bclicker\((?![^)]*check_all\s*=\s*False)", t) for t in texts):
            missing.append(f"{command} ({cls}): tests/integration/test_click_"
                           f"{ALIASES.get(stem, stem)}.py")
    assert not missing, f"docks without a click-every-button test: {missing}"
