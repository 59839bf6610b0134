"""One writer per project: the lock file, stale locks, and two processes saving at once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.project import (
    LOCK,
    Project,
    ProjectLock,
    ProjectLocked,
    load_project,
    read_lock,
    save_project,
)

CHILD = Path(__file__).with_name("_concurrent_save_child.py")


def test_one_holder_at_a_time_and_a_clear_message(tmp_path):
    d = tmp_path / "proj"
    save_project(d, Project(classes={"a": 1}))
    assert read_lock(d) is None  # a save releases its lock
    window = ProjectLock(d, "open").acquire()
    info = read_lock(d)
    assert (info.pid, info.host, info.purpose) == (os.getpid(), socket.gethostname(), "open")
    assert info.stale_reason() is None
    # another window (or a CLI save) is refused at once, in one line
    with pytest.raises(ProjectLocked, match=rf"proj is locked: napari-dvp \(pid {os.getpid()} "
                       r"on .*\) has it open; close it there first") as exc:
        save_project(d, Project(classes={"a": 2}))
    assert "\n" not in str(exc.value)
    with pytest.raises(ProjectLocked):
        ProjectLock(d, "open").acquire()
    # the holder itself saves through its lock
    save_project(d, Project(classes={"a": 3}), lock=window)
    assert load_project(d).classes == {"a": 3}
    window.release()
    assert not (d / LOCK).exists()
    # a save waits for another save, then gives up with a message
    with ProjectLock(d, "saving"):
        t0 = time.monotonic()
        with pytest.raises(ProjectLocked, match="is saving it; try again in a moment"):
            save_project(d, Project(classes={"a": 4}), wait=0.3)
        assert time.monotonic() - t0 >= 0.3
    with pytest.raises(DvpInputError, match="not held"):
        save_project(d, Project(), lock=window)


def _plant(d: Path, **fields) -> None:
    lock = {"pid": os.getpid(), "host": socket.gethostname(), "started": None,
            "token": "someone", "purpose": "open", "since": "2025-01-01T10:02:00",
            "heartbeat": time.time(), **fields}
    (d / LOCK).write_text(json.dumps(lock))


def test_stale_locks_are_taken_over_and_live_ones_are_not(tmp_path):
    d = tmp_path / "proj"
    save_project(d, Project(classes={"a": 1}))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    cases = {
        "no longer running": {"pid": dead_pid, "started": 1.0},
        "its process id is reused": {"pid": os.getppid(), "started": 1.0},
        "no sign of life": {"host": "another-host", "heartbeat": time.time() - 3600},
        "left behind by this process": {},  # our pid, but no live lock object has the token
    }
    for reason, fields in cases.items():
        _plant(d, **fields)
        lock = ProjectLock(d, "open").acquire()
        assert reason in lock.took_over and "napari-dvp (pid" in lock.took_over
        assert read_lock(d).token == lock.token
        lock.release()
    _plant(d, host="another-host")  # alive elsewhere (fresh heartbeat): never taken over
    with pytest.raises(ProjectLocked, match="has it open"):
        ProjectLock(d, "open").acquire()
    (d / LOCK).write_text("{torn")  # a damaged lock file, old: taken over
    os.utime(d / LOCK, (time.time() - 60, time.time() - 60))
    lock = ProjectLock(d).acquire()
    assert lock.took_over
    lock.release()


def test_a_lost_lock_object_releases_its_lock(tmp_path):
    d = tmp_path / "proj"
    ProjectLock(d, "open").acquire()  # dropped at once: garbage-collected
    import gc

    gc.collect()
    assert read_lock(d) is None


def _consistent(d: Path) -> tuple[int, int]:
    p = load_project(d)
    w, r = int(p.cells["writer"].iloc[0]), int(p.cells["round"].iloc[0])
    assert (p.cells["writer"] == w).all() and (p.cells["round"] == r).all()
    assert p.classes == {"writer": w, "round": r}
    assert np.unique(p.labels[100:300, 100:300]).tolist() == [w * 1000 + r]
    return w, r


@pytest.mark.slow
def test_two_processes_saving_one_project_never_interleave(tmp_path):
    d, go = tmp_path / "proj", tmp_path / "go"
    rounds = 25
    writers = [subprocess.Popen([sys.executable, str(CHILD), str(d), str(w), str(rounds),
                                 str(go)], stdout=subprocess.PIPE, text=True)
               for w in (1, 2)]
    deadline = time.monotonic() + 120
    while not all(go.with_name(f"go.ready{w}").exists() for w in (1, 2)):
        assert time.monotonic() < deadline, "the writers did not start"
        time.sleep(0.01)
    go.touch()  # both have imported and wait: go
    loads, seen = 0, set()
    while any(w.poll() is None for w in writers):  # a third process reads meanwhile
        if (d / "project.json").exists():
            seen.add(_consistent(d))
            loads += 1
    outs = [w.communicate()[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0]
    assert all(out.strip() == "done" for out in outs), outs  # no save failed
    final = _consistent(d)
    assert final[1] == rounds - 1 and read_lock(d) is None
    assert {w for w, _ in seen} == {1, 2} or loads < 5  # both writers' projects were seen
    print(f"\nconcurrent saves: 2 processes x {rounds} saves of one project, {loads} loads "
          f"meanwhile, every load a whole project ({len(seen)} distinct saves seen)")
