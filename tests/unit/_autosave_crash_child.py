"""Child process of test_autosave_crash: many crash trials in one process.

Usage: python _autosave_crash_child.py TEMPLATE_PROJECT OUT_DIR TRIALS SEED [INTERVAL ...]

Imports everything once, then per trial: copies the template project to
``OUT_DIR/t<k>``, forks an *editor* that opens it with autosave on and edits
non-stop, waits until the editor's autosave has started its 1st–3rd write,
waits a random 0–20 ms more (so the kill lands inside a write) and kills the
editor with SIGKILL. The test process then checks every trial folder.

Edit ``i`` paints square ``i`` of a 32 x 32 grid of 32-pixel squares with
``BASE + i`` and sets row ``i`` of the cell table to class ``edited``, then
lets autosave take a snapshot if one is due (as the GUI's timer would); the
editor logs ``i <tab> time <tab> seconds spent notifying+snapshot`` to
``edits.log``. The harness writes ``trials.tsv``: trial, interval, pid, kill
time, write starts seen. It must not start threads itself (it forks).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet  # noqa: F401 - imported once here, used by every forked editor

from napari_dvp.core.project.autosave import Autosaver, recovery_dir_for

BASE, STEP, GRID = 100_000, 32, 32
ROWS = 5_000


def saved_state() -> tuple[np.ndarray, pd.DataFrame]:
    """The labels and cell table of the template project (the test saves exactly these)."""
    rng = np.random.default_rng(0)
    cells = pd.DataFrame({"cell_id": np.arange(1, ROWS + 1), "class": [""] * ROWS,
                          "qc_status": ["pending"] * ROWS,
                          "area_um2": rng.random(ROWS), "mean_DAPI": rng.random(ROWS)})
    return np.zeros((GRID * STEP,) * 2, np.uint32), cells


def edit(folder: Path, interval: float, signal_fd: int) -> None:
    """The editor: edit the project until killed (runs in the forked process).

    It starts from the project's saved state, built in memory (reading it
    back would cost each trial the start-up of zarr and Arrow's threads).
    """
    labels, cells = saved_state()
    saver = Autosaver(recovery_dir_for(folder), interval=interval, project_dir=folder,
                      on_writing=lambda: os.write(signal_fd, b"w"))
    saver.set_labels(labels, dirty=False)
    fd = os.open(folder / "edits.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    for i in range(GRID * GRID):
        r, c = divmod(i, GRID)
        r0, c0 = r * STEP + 4, c * STEP + 4
        t0 = time.perf_counter()
        labels[r0:r0 + 24, c0:c0 + 24] = BASE + i  # the paint stroke
        cells.loc[i, "class"] = "edited"
        saver.mark_labels_dirty((r0, r0 + 24, c0, c0 + 24))
        saver.update_later("cells", cells.copy)
        saver.tick()
        spent = time.perf_counter() - t0
        os.write(fd, f"{i}\t{time.time():.6f}\t{spent:.6f}\n".encode())
        time.sleep(0.002)
    time.sleep(120)  # wait for the kill


def main() -> None:
    template, out, trials, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4])
    intervals = [float(v) for v in sys.argv[5:]] or [0.05]
    rng = np.random.default_rng(seed)
    log = open(out / "trials.tsv", "a")
    for k in range(trials):
        folder = out / f"t{k}"
        shutil.copytree(template, folder)
        interval = intervals[k % len(intervals)]
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the editor
            os.close(r)
            try:
                edit(folder, interval, w)
            finally:
                os._exit(0)
        os.close(w)
        want, seen = int(rng.integers(1, 4)), 0
        while seen < want:
            ready, _, _ = select.select([r], [], [], 30)
            if not ready:
                break
            got = os.read(r, 64)
            if not got:
                break
            seen += len(got)
        time.sleep(float(rng.uniform(0, 0.02)))
        os.kill(pid, signal.SIGKILL)
        killed = time.time()
        _, status = os.waitpid(pid, 0)
        os.close(r)
        log.write(f"{k}\t{interval}\t{pid}\t{killed:.6f}\t{seen}\t{status}\n")
        log.flush()
    log.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
