"""Autosave: one consistent generation per snapshot, painted tiles only, full copies in the
background, failures retried, recovery on top of the saved project."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from napari_dvp.core import project as P
from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.project import autosave as A
from napari_dvp.core.project.autosave import TILE, Autosaver, recovery_dir_for
from napari_dvp.core.project.recovery import (
    discard_recovery,
    find_recovery,
    list_recoveries,
    recover,
)


def _saved(tmp_path, shape=(1500, 1100)):
    labels = np.zeros(shape, np.uint32)
    cells = pd.DataFrame({"cell_id": np.arange(1, 41), "class": [""] * 40})
    d = tmp_path / "proj"
    P.save_project(d, P.Project(labels=labels, cells=cells, classes={"n": 0}))
    return d, labels.copy(), cells.copy()


def test_painted_tiles_and_the_table_are_one_generation(tmp_path):
    d, labels, cells = _saved(tmp_path)
    saver = Autosaver(recovery_dir_for(d), interval=0.05, project_dir=d)
    try:
        saver.set_labels(labels, dirty=False)
        saver.flush()
        assert saver.n_writes == 0 and find_recovery(d) is None  # nothing edited yet
        labels[1100:1110, 10:20] = 77
        saver.mark_labels_dirty((1100, 1110, 10, 20))
        cells.loc[3, "class"] = "CD8 T cell"
        saver.update_later("cells", cells.copy)
        saver.update("plans", {})
        saver.flush()
        (patch,) = (d / ".recovery").glob("labels.p*.npz")
        with np.load(patch) as z:  # only the painted 256² tile, not the 1500x1100 array
            assert z["index"].tolist() == [[1100 // TILE, 0]] and z["t0"].shape == (TILE, TILE)
        assert not list((d / ".recovery").glob("labels.r*.zarr"))
    finally:
        saver.close()
    info = find_recovery(d)
    assert info is not None and {"labels", "cells", "plans"} <= set(info.slots)
    rec = recover(d)
    np.testing.assert_array_equal(rec.labels, labels)
    pd.testing.assert_frame_equal(rec.cells, cells)
    assert rec.plans == {} and rec.classes == {"n": 0}
    P.save_project(d, rec)  # a later save makes the recovery stale; discard removes it
    assert find_recovery(d) is None
    discard_recovery(d)
    assert not (d / ".recovery").exists()


def test_snapshots_wait_for_the_interval_and_getters_run_once_per_snapshot(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))
    folder = recovery_dir_for(None, "session1")
    assert folder == tmp_path / "home" / "recovery" / "session1"
    calls = []
    saver = Autosaver(folder, interval=0.4)
    try:
        assert A.AUTOSAVE_INTERVAL_S <= 2.0 and Autosaver(tmp_path / "x").interval <= 2.0
        for i in range(20):  # twenty edits: the table is fetched once, at the snapshot
            saver.update_later("classes", lambda i=i: calls.append(i) or {"n": i})
        assert not saver.tick()  # before the interval
        time.sleep(0.45)
        assert saver.tick() and calls == [19]
        saver.flush()
        assert saver.n_writes == 1
        saver.update("classes", {"n": 20})
        assert not saver.tick() and saver.dirty
        saver.flush()
        assert saver.n_writes == 2
        saver.enabled = False
        saver.update("classes", {"n": 99})
        time.sleep(0.45)
        assert not saver.tick()
        saver.flush(timeout=0.2)
        assert saver.n_writes == 2
    finally:
        saver.close()
    (info,) = list_recoveries()
    assert info.project_saved_unix is None
    assert recover(info.folder).classes == {"n": 20}
    with pytest.raises(DvpInputError, match="unknown project slot"):
        saver.update("nonsense", 1)


class _PaintsWhileCopied:
    """Labels that the user paints into while autosave copies them in the background."""

    def __init__(self, data: np.ndarray, on_band) -> None:
        self.data, self.shape, self.dtype, self.ndim = data, data.shape, data.dtype, data.ndim
        self.on_band, self.reads = on_band, 0

    def __getitem__(self, key):
        rows = key[0] if isinstance(key, tuple) else key
        if isinstance(rows, slice) and (rows.start or 0) >= P.LABEL_CHUNK:
            self.reads += 1
            if self.reads == 1:
                self.on_band()
        return self.data[key]

    def __setitem__(self, key, value):
        self.data[key] = value


def test_a_full_copy_made_while_painting_is_patched_to_one_instant(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))
    data = (np.arange(1500 * 1100, dtype=np.uint32).reshape(1500, 1100) % 50)
    cells = pd.DataFrame({"cell_id": np.arange(1, 51), "class": [""] * 50})
    saver = Autosaver(recovery_dir_for(None, "s"), interval=0.05)

    def paint_meanwhile():  # an edit lands while the copy reads the second band
        data[5:10, 5:10] = 999  # (a band the copy has already read)
        saver.mark_labels_dirty((5, 10, 5, 10))
        cells.loc[0, "class"] = "edited"
        saver.update_later("cells", cells.copy)

    live = _PaintsWhileCopied(data, paint_meanwhile)
    try:
        saver.set_labels(live)  # a session never saved: a full copy, in the background
        saver.update_later("cells", cells.copy)
        saver.flush()
        assert live.reads >= 1
    finally:
        saver.close()
    rec = recover(recovery_dir_for(None, "s"))
    np.testing.assert_array_equal(rec.labels, data)
    assert rec.labels[7, 7] == 999 and rec.cells.loc[0, "class"] == "edited"


def test_a_generation_that_fails_half_way_is_not_seen_and_is_written_again(tmp_path,
                                                                           monkeypatch):
    d, labels, cells = _saved(tmp_path)
    errors = []
    saver = Autosaver(recovery_dir_for(d), interval=0.01, project_dir=d, on_error=errors.append)
    real = A.write_slots
    fail = {"n": 1}

    def flaky(*args, **kwargs):  # the cell table fails after the labels patch was written
        if fail["n"]:
            fail["n"] -= 1
            raise OSError("disk full (simulated)")
        return real(*args, **kwargs)

    monkeypatch.setattr(A, "write_slots", flaky)
    try:
        saver.set_labels(labels, dirty=False)
        labels[0:5, 0:5] = 5
        saver.mark_labels_dirty((0, 5, 0, 5))
        cells.loc[0, "class"] = "x"
        saver.update_later("cells", cells.copy)
        saver.tick(force=True)
        while saver._job is not None:
            time.sleep(0.01)
        assert errors and "disk full" in errors[0]
        assert find_recovery(d) is None  # the torn generation is invisible
        saver.flush()  # retried with the next snapshot
        assert saver.last_error is None
    finally:
        saver.close()
    rec = recover(d)
    assert rec.labels[2, 2] == 5 and rec.cells.loc[0, "class"] == "x"


def test_patches_are_folded_into_a_new_base(tmp_path, monkeypatch):
    monkeypatch.setattr(A, "COMPACT_PATCHES", 3)
    d, labels, _ = _saved(tmp_path)
    saver = Autosaver(recovery_dir_for(d), interval=0.01, project_dir=d)
    try:
        saver.set_labels(labels, dirty=False)
        for k in range(6):
            labels[k * 200:k * 200 + 10, 0:10] = 100 + k
            saver.mark_labels_dirty((k * 200, k * 200 + 10, 0, 10))
            saver.flush()
    finally:
        saver.close()
    names = sorted(p.name for p in (d / ".recovery").iterdir())
    assert any(n.startswith("labels.r") for n in names)
    assert sum(n.startswith("labels.p") for n in names) <= 3
    np.testing.assert_array_equal(recover(d).labels, labels)


def test_recovery_of_an_older_save_is_refused(tmp_path):
    d, labels, _ = _saved(tmp_path)
    saver = Autosaver(recovery_dir_for(d), interval=0.01, project_dir=d)
    saver.set_labels(labels, dirty=False)
    labels[0, 0] = 3
    saver.mark_labels_dirty((0, 1, 0, 1))
    saver.close()
    index = P.read_index(d)
    index["generation"] = 7  # someone saved the project since (and the clock went back)
    (d / "project.json").write_text(__import__("json").dumps(index))
    with pytest.raises(DvpInputError, match="belong to an older save"):
        recover(d)
