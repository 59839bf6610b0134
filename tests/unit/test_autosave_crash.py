"""Real crash test: a process edits a project with autosave on and is killed with SIGKILL.

Reopening must find at most the last autosave interval (plus one write) of
edits missing, the missing edits only at the end, and every file intact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.project import Project, load_project, save_project
from napari_dvp.core.project.autosave import find_recovery, recover

CHILD = Path(__file__).with_name("_autosave_crash_child.py")
BASE, STEP, GRID = 100_000, 64, 32
INTERVAL = 1.0


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkill_mid_editing_loses_at_most_the_last_seconds(tmp_path):
    folder = tmp_path / "proj"
    n = GRID * GRID
    cells = pd.DataFrame({"cell_id": np.arange(1, n + 1),
                          "class": [""] * n, "qc_status": ["pending"] * n})
    save_project(folder, Project(labels=np.zeros((GRID * STEP,) * 2, np.uint32), cells=cells))
    log = tmp_path / "edits.log"
    child = subprocess.Popen([sys.executable, str(CHILD), str(folder), str(log), str(INTERVAL)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.5 + np.random.default_rng().random() * 1.5)  # kill at a random moment
        os.kill(child.pid, signal.SIGKILL)
        killed_at = time.time()
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    rows = [line.split("\t") for line in log.read_text().splitlines() if line.count("\t") == 2]
    logged = np.array([int(r[0]) for r in rows])
    times = np.array([float(r[1]) for r in rows])
    blocked = np.array([float(r[2]) for r in rows])
    assert len(logged) > 50 and (logged == np.arange(len(logged))).all()

    t0 = time.perf_counter()
    info = find_recovery(folder)
    assert info is not None, "no recovery state found after the crash"
    rec = recover(folder)  # verifies every checksum: nothing torn
    recover_s = time.perf_counter() - t0

    grid = rec.labels.reshape(GRID, STEP, GRID, STEP)[:, 8, :, 8].ravel()
    painted = grid == BASE + np.arange(n)
    squares = rec.labels.reshape(GRID, STEP, GRID, STEP)[:, 8:56, :, 8:56]
    squares = squares.transpose(0, 2, 1, 3).reshape(n, -1)
    whole = (squares == squares[:, :1]).all(axis=1)
    assert whole.all(), "a paint stroke was recovered half-written"
    classed = (rec.cells["class"] == "edited").to_numpy()
    present = painted & classed
    # every edit notified before the newest edit the recovery holds is there
    must = logged[times <= info.last_edit_unix - 1e-6]
    assert present[must].all(), "an edit older than the recovery state is missing"
    complete = int(np.argmin(np.r_[present, False]))  # edits 0..complete-1 all present
    assert not present[complete + 3:].any() or complete >= len(logged) - 3
    lost = len(logged) - complete
    seconds_lost = float(times[-1] - times[complete - 1]) if complete else float(times[-1])
    assert seconds_lost <= INTERVAL + 1.5, f"{seconds_lost:.2f} s of edits lost"
    saved = load_project(folder)  # the saved project is untouched by autosave
    assert not saved.labels.any() and (saved.cells["class"] == "").all()
    seq = json.loads((folder / ".recovery" / "recovery.json").read_text())["seq"]
    assert seq >= 2
    print(f"\ncrash test: {len(logged)} edits in {times[-1] - times[0]:.2f} s, "
          f"{seq} autosaves (interval {INTERVAL} s); killed {killed_at - times[-1]:.3f} s "
          f"after the last edit; lost {lost} edits = {seconds_lost:.2f} s; "
          f"recovery found+loaded in {recover_s:.3f} s; caller blocked max "
          f"{blocked.max() * 1e3:.1f} ms (median {np.median(blocked) * 1e3:.2f} ms) per edit")
