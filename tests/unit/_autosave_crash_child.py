"""Child process of test_autosave_crash: edit a project non-stop until killed.

Usage: python _autosave_crash_child.py PROJECT_DIR LOG_FILE INTERVAL_S

Edit ``i`` paints square ``i`` of a 32 x 32 grid of 64-pixel squares with the
value ``BASE + i`` and sets row ``i`` of the cell table to class ``edited``;
then it appends ``i <tab> time <tab> seconds the caller spent notifying`` to
the log. The parent kills this process with SIGKILL at a random moment.
"""

from __future__ import annotations

import os
import sys
import time

from napari_dvp.core.project import load_project
from napari_dvp.core.project.autosave import Autosaver, recovery_dir_for

BASE, STEP, GRID = 100_000, 64, 32


def main() -> None:
    folder, log_path, interval = sys.argv[1], sys.argv[2], float(sys.argv[3])
    project = load_project(folder)
    labels, cells = project.labels, project.cells
    saver = Autosaver(recovery_dir_for(folder), interval=interval, project_dir=folder)
    saver.set_labels(labels, dirty=False)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    print("ready", flush=True)
    for i in range(GRID * GRID):
        r, c = divmod(i, GRID)
        r0, c0 = r * STEP + 8, c * STEP + 8
        labels[r0:r0 + 48, c0:c0 + 48] = BASE + i  # the "paint stroke"
        cells.loc[i, "class"] = "edited"
        t0 = time.perf_counter()
        saver.mark_labels_dirty((r0, r0 + 48, c0, c0 + 48))
        saver.update("cells", cells.copy())
        blocked = time.perf_counter() - t0
        os.write(fd, f"{i}\t{time.time():.6f}\t{blocked:.6f}\n".encode())
        time.sleep(0.004)
    time.sleep(60)  # wait for the kill


if __name__ == "__main__":
    main()
