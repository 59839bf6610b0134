"""Child process of test_project_lock: save one project over and over, against another writer.

Usage: python _concurrent_save_child.py FOLDER WRITER ROUNDS GO_FILE [--no-lock]

Touches GO_FILE.ready<WRITER>, waits until GO_FILE exists (so both writers
start together), then saves
ROUNDS projects into FOLDER. Round ``r`` of writer ``w`` has labels whose
painted square holds ``w * 1000 + r`` and a cell table whose ``writer`` and
``round`` columns say the same, so a reader can tell a whole project from a
mix. ``--no-lock`` saves without the project lock (to show what the lock
prevents); it prints one line per failed save.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.project import Project, save_project, save_steps
from napari_dvp.core.project._slots import drain

SIZE, ROWS = 512, 2000


def project_of(writer: int, rnd: int) -> Project:
    """The project writer ``writer`` saves in round ``rnd``."""
    labels = np.zeros((SIZE, SIZE), np.uint32)
    labels[100:300, 100:300] = writer * 1000 + rnd
    cells = pd.DataFrame({"cell_id": np.arange(1, ROWS + 1), "writer": writer, "round": rnd,
                          "area_um2": np.random.default_rng(rnd).random(ROWS)})
    return Project(labels=labels, cells=cells, classes={"writer": writer, "round": rnd})


class _NoLock:
    """Stands in for a held lock: saves without locking (what the lock prevents)."""

    held = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def refresh(self) -> None:
        """Nothing to renew."""


def main() -> None:
    folder, writer, rounds, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), \
        Path(sys.argv[4])
    no_lock = "--no-lock" in sys.argv
    go.with_name(f"{go.name}.ready{writer}").touch()
    while not go.exists():
        time.sleep(0.005)
    for rnd in range(rounds):
        try:
            if no_lock:
                drain(save_steps(folder, project_of(writer, rnd), lock=_NoLock(folder)))
            else:
                save_project(folder, project_of(writer, rnd))
        except (DvpInputError, OSError) as exc:
            print(f"failed: {type(exc).__name__}: {exc}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
