"""Child of test_click_project: a napari-dvp session that has a project open and crashes.

Usage: python _crashed_session_child.py PROJECT_DIR READY_FILE

Holds the project's lock (as a napari window does), paints label 4242 into
a 10 x 10 box at (5, 5), sets the class of the first cell to "crash-edit",
lets autosave write both, touches READY_FILE and waits to be killed (SIGKILL).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from napari_dvp.core.project import ProjectLock, load_project
from napari_dvp.core.project.autosave import Autosaver, recovery_dir_for


def main() -> None:
    folder, ready = Path(sys.argv[1]), Path(sys.argv[2])
    lock = ProjectLock(folder, "open").acquire()
    project = load_project(folder)
    saver = Autosaver(recovery_dir_for(folder), project_dir=folder)
    saver.set_labels(project.labels, dirty=False)
    project.labels[5:15, 5:15] = 4242
    saver.mark_labels_dirty((5, 15, 5, 15))
    cells = project.cells.copy()
    cells.loc[0, "class"] = "crash-edit"
    saver.update("cells", cells)
    saver.flush()
    ready.touch()
    time.sleep(120)  # killed before this ends
    lock.release()


if __name__ == "__main__":
    main()
