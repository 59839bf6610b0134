"""Project dock, clicked: Save as…, Save, autosave, Open… in a fresh viewer, Cancel, Recover
unsaved session…; File › Open Folder after a crashed process (its lock taken over, its
autosaved edits recovered); a project with executable content refused.

The viewer holds what a pathologist has after a morning: the synthetic sample (an image that
exists only in memory), cells with classes, three regions, class rules, two plans, a QC overlay
(derived, never saved) and a pixel size set by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt._session import session_of
from napari_dvp._qt._slide import apply_pixel_size, current_slide, set_role
from napari_dvp._qt.project.widget import ProjectWidget
from napari_dvp._sample_data import sample_layer_data
from napari_dvp.core.project import load_project, read_lock
from napari_dvp.core.project.recovery import find_recovery, list_recoveries
from napari_dvp.core.synthetic import make_sample

SIZE = 256
CHANNELS = ["DAPI", "panCK"]  # two of the sample's five channels keep the test quick
CHILD = Path(__file__).with_name("_crashed_session_child.py")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Unsaved sessions autosave under a private home."""
    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))


@pytest.fixture
def infos():
    """napari info notifications during the test."""
    from napari.utils.notifications import NotificationSeverity, notification_manager

    found: list[str] = []

    def record(event) -> None:
        note = event.value if hasattr(event, "value") else event
        if getattr(note, "severity", None) == NotificationSeverity.INFO:
            found.append(str(note.message))

    notification_manager.notification_ready.connect(record)
    yield found
    notification_manager.notification_ready.disconnect(record)


def _morning(viewer) -> dict:
    """Fill ``viewer`` like a morning's work; returns what must come back."""
    sample = make_sample(SIZE, seed=0)
    for data, kwargs, _ in sample_layer_data(sample, with_truth=False)[:len(CHANNELS)]:
        viewer.add_image(data, **kwargs)
    px = sample.pixel_size_um
    cells = viewer.add_labels(sample.labels.copy(), name="cells", scale=(px, px),
                              units=("um", "um"), opacity=0.4)
    table = sample.cells[["cell_id", "centroid_row", "centroid_col"]].copy()
    table["class"] = np.where(sample.cells["true_class"] == "keratinocyte", "keratinocyte",
                              "immune")
    table["qc_status"] = "accepted"
    set_cell_table(cells, table, step="gating")
    h = SIZE * px
    boxes = [np.array([[0, 0], [0, h], [h / 3, h], [h / 3, 0]]),
             np.array([[h / 3, 0], [h / 3, h], [h, h], [h, 0]]),
             np.array([[10, 10], [10, 40], [40, 40]])]
    viewer.add_shapes(boxes, shape_type="polygon", name="regions", units=("um", "um"),
                      features=pd.DataFrame({"region": ["epidermis", "dermis", "blister"]}),
                      face_color=["#d6604d", "#4393c3", "#ffff00"], edge_color="white")
    overlay = viewer.add_image(np.zeros((SIZE, SIZE, 4), np.uint8), name="QC state", rgb=True,
                               scale=(px, px), units=("um", "um"))
    set_role(overlay, "overlay")
    session = session_of(viewer)
    session.put("classes", "gating", {"rules": [{"name": "immune", "expr": "CD8+"}]})
    for k in (1, 2):
        session.put("plans", f"plan {k}", pd.DataFrame({"sample_id": [f"S{k}"], "n": [k]}))
    slide = current_slide(viewer)
    slide.set_pixel_size(0.45)  # set by hand in the Slide dock
    apply_pixel_size(viewer, slide)
    return {"image": sample.image, "labels": cells.data.copy(), "table": cell_table_of(cells)}


def _same_morning(viewer, want: dict, labels=None) -> None:
    """The reopened viewer holds the tissue, cells, classes, regions, rules, plans, pixel size."""
    names = [lay.name for lay in viewer.layers]
    assert names[:len(CHANNELS)] == CHANNELS and "cells" in names and "regions" in names
    assert "QC state" not in names  # derived: rebuilt by its dock, never saved
    for c, name in enumerate(CHANNELS):
        layer = viewer.layers[name]
        data = layer.data[0] if layer.multiscale else layer.data
        np.testing.assert_array_equal(np.asarray(data), want["image"][c])
        assert tuple(layer.scale) == pytest.approx((0.45, 0.45))
    cells = viewer.layers["cells"]
    np.testing.assert_array_equal(np.asarray(cells.data),
                                  want["labels"] if labels is None else labels)
    table = cell_table_of(cells)
    assert table["class"].tolist()[1:] == want["table"]["class"].tolist()[1:]
    assert table.attrs["napari_dvp_columns"]["class"] == "gating"
    regions = viewer.layers["regions"]
    assert sorted(regions.features["region"]) == ["blister", "dermis", "epidermis"]
    slide = current_slide(viewer)
    assert (slide.pixel.um, slide.pixel.source) == (0.45, "user")
    assert slide.recorded_um == pytest.approx(0.5) and slide.cells == "cells"
    session = session_of(viewer)
    assert session.get("classes")["gating"]["rules"][0]["name"] == "immune"
    assert list(session.get("plans")) == ["plan 1", "plan 2"]


def _dock(viewer, qtbot) -> ProjectWidget:
    dock = ProjectWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Project")
    return dock


def _idle(qtbot, dock) -> None:
    qtbot.waitUntil(lambda: not dock.busy, timeout=60_000)


def _save_as(dock, folder, click, dialogs, qtbot) -> None:
    dialogs.folder(folder)
    click.click("Save as…", wait_until=lambda: not dock.busy)


def test_click_every_project_button(make_napari_viewer, qtbot, tmp_path, clicker, dialogs,
                                    errors, infos, screenshot_path):
    # a morning's work, saved in one window (Save as…: one summary, no warning)
    viewer_a = make_napari_viewer()
    want = _morning(viewer_a)
    dock_a = _dock(viewer_a, qtbot)
    folder = tmp_path / "biopsy.dvp"
    _save_as(dock_a, folder, clicker(dock_a, check_all=False), dialogs, qtbot)
    assert (folder / "project.json").is_file() and (folder / "image.g1.ome.tif").is_file()
    assert infos == [f"Saved project to {folder}: image (kept in the project), "
                     f"{len(want['table'])} cells, 3 regions, classes, 2 plans"]
    assert not errors.warnings, errors.warnings
    assert read_lock(folder).purpose == "open"  # this window holds the project

    # a session never saved, in another window, that crashes after autosave kept an edit
    viewer_c = make_napari_viewer()
    sample = make_sample(SIZE, seed=1)
    viewer_c.add_image(sample.image[0], name="DAPI", metadata={"slide": "sample 1"})
    viewer_c.add_labels(sample.labels.copy(), name="cells")
    dock_c = _dock(viewer_c, qtbot)
    viewer_c.layers["cells"].paint((30, 30), 777, refresh=False)
    qtbot.waitUntil(lambda: dock_c.saver.n_writes > 0 and not dock_c.saver.dirty,
                    timeout=30_000)
    dock_c.autosave._timer.stop()  # the crash: nothing more is written, nothing cleaned
    crashed = viewer_c.layers["cells"].data.copy()

    # the window every button is clicked in
    viewer = make_napari_viewer(show=True)
    dock = _dock(viewer, qtbot)
    click = clicker(dock)
    assert dock.session_btn.isVisibleTo(dock) and len(list_recoveries()) == 1

    # Open… while the first window has the project open: read-only here
    dialogs.folder(folder)
    click.click("Open…", wait_until=lambda: not dock.busy)
    _same_morning(viewer, want)
    assert infos[-1].startswith(f"Opened project {folder} read-only: napari-dvp (pid ")
    assert "Save as…" in dock.status.text() and dock.lock is None and not errors.warnings

    # paint, then Save: refused while the first window holds the project …
    viewer.layers["cells"].paint((20, 20), 999, refresh=False)
    want["labels"] = viewer.layers["cells"].data.copy()
    click.click(dock.save_btn, allow_error="has it open")
    assert errors[-1].startswith(f"{folder.name} is locked: napari-dvp (pid ")
    assert json.loads((folder / "project.json").read_text())["generation"] == 1
    # … and done once it closed the project there: a new generation, the image file kept
    dock_a.close()
    click.click(dock.save_btn, wait_until=lambda: not dock.busy)
    index = json.loads((folder / "project.json").read_text())
    assert index["generation"] == 2 and index["files"]["image"]["file"] == "image.g1.ome.tif"
    assert infos[-1].startswith(f"Saved project to {folder}: image (kept in the project)")
    assert read_lock(folder).pid == os.getpid() and dock.lock is not None
    np.testing.assert_array_equal(load_project(folder).labels, want["labels"])

    # the dock in the workspace's tab group at 1920 x 1080 (docs/images/project_widget.png)
    for name in ("Slide", "Regions"):
        viewer.window.add_plugin_dock_widget("napari-dvp", name)
    viewer.window._qt_window.resize(1920, 1080)
    viewer.layers.selection.active = viewer.layers["cells"]
    qtbot.wait(1000)  # the new docks join the tab group
    from qtpy.QtWidgets import QTabBar

    bar = next(b for b in viewer.window._qt_window.findChildren(QTabBar)
               if "Project" in [b.tabText(i) for i in range(b.count())])
    bar.setCurrentIndex([bar.tabText(i) for i in range(bar.count())].index("Project"))
    qtbot.waitUntil(dock.isVisible)
    viewer.reset_view()
    qtbot.wait(300)
    shot = viewer.window._qt_window.grab()
    assert shot.width() >= 1920
    shot.save(str(screenshot_path("project_widget.png")))

    # autosave off and on again
    box = click.find("Autosave every")
    click.click(box)
    assert not dock.saver.enabled and "autosave off" in dock.autosave.status.text()
    click.click(box)
    assert dock.saver.enabled

    # Save as… another folder: the image is copied along, the lock moves with the project
    copy = tmp_path / "copy.dvp"
    _save_as(dock, copy, click, dialogs, qtbot)
    assert (copy / "image.g1.ome.tif").is_file() and dock.folder == copy
    assert read_lock(folder) is None and read_lock(copy).pid == os.getpid()
    np.testing.assert_array_equal(load_project(copy).labels, want["labels"])

    # Cancel during a long save: a big slide that exists only in memory
    big = viewer.add_image(np.random.default_rng(0).integers(0, 4000, (2048, 2048), np.uint16),
                           name="big", units=("um", "um"), metadata={"slide": "big scan"})
    dialogs.folder(tmp_path / "big")
    click.click("Save as…")
    assert dock.busy
    click.click("Cancel", wait_until=lambda: not dock.busy)
    assert not (tmp_path / "big" / "project.json").exists()
    assert not list((tmp_path / "big").glob("image*")) and read_lock(tmp_path / "big") is None
    assert "Save cancelled" in dock.status.text() and dock.folder == copy
    viewer.layers.remove(big)

    # Recover unsaved session…: the crashed session comes back, tissue and edit included
    dialogs.yes()
    click.click("Recover unsaved session…", wait_until=lambda: not dock.busy)
    np.testing.assert_array_equal(np.asarray(viewer.layers["DAPI"].data), sample.image[0])
    np.testing.assert_array_equal(np.asarray(viewer.layers["cells"].data), crashed)
    assert infos[-1].startswith("Recovered unsaved edits of the unsaved session")
    assert not dock.session_btn.isVisibleTo(dock) and dock.folder is None
    assert read_lock(copy) is None  # the project is no longer open here
    assert not errors.warnings, errors.warnings
    dialogs.done()


def test_open_folder_after_a_crash_and_a_project_that_runs_code(
        make_napari_viewer, qtbot, tmp_path, clicker, dialogs, errors, infos, monkeypatch):
    import hashlib
    import pickle

    from napari._qt.dialogs.qt_reader_dialog import QtReaderDialog

    viewer_a = make_napari_viewer()
    want = _morning(viewer_a)
    dock_a = _dock(viewer_a, qtbot)
    folder = tmp_path / "biopsy.dvp"
    _save_as(dock_a, folder, clicker(dock_a, check_all=False), dialogs, qtbot)
    dock_a.close()  # napari closed normally

    # another napari opens the project, edits, autosaves … and is killed
    ready = tmp_path / "ready"
    child = subprocess.Popen([sys.executable, str(CHILD), str(folder), str(ready)])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), "the crashing session did not start"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    assert read_lock(folder).pid == child.pid and find_recovery(folder) is not None

    # File › Open Folder… in a fresh window (napari asks which plugin: napari-dvp)
    viewer = make_napari_viewer()
    monkeypatch.setattr(QtReaderDialog, "get_user_choices", lambda dialog: ("napari-dvp", False))
    menu = next(a.menu() for a in viewer.window._qt_window.menuBar().actions()
                if a.text().replace("&", "") == "File")
    action = next(a for a in menu.actions() if a.text() == "Open Folder...")
    dialogs.folder(folder).yes()  # the folder, then "Recover the unsaved edits?" Yes
    action.trigger()
    docks = viewer.window.dock_widgets
    qtbot.waitUntil(lambda: any(isinstance(w, ProjectWidget) for w in docks.values()),
                    timeout=30_000)
    dock = next(w for w in docks.values() if isinstance(w, ProjectWidget))
    qtbot.waitUntil(lambda: not dock.busy and "cells" in viewer.layers, timeout=60_000)
    labels = want["labels"].copy()
    labels[5:15, 5:15] = 4242
    _same_morning(viewer, want, labels=labels)
    assert cell_table_of(viewer.layers["cells"]).loc[0, "class"] == "crash-edit"
    assert infos[-1].startswith(f"Recovered unsaved edits of {folder}; Save to keep them; "
                                f"took over the lock of napari-dvp (pid {child.pid}")
    assert "no longer running" in infos[-1] and read_lock(folder).pid == os.getpid()
    assert dock.folder == folder and not errors

    # someone puts a pickled "classifier" into a project: Open… refuses it in one line
    evil_dir = tmp_path / "evil.dvp"
    shutil.copytree(folder, evil_dir, ignore=shutil.ignore_patterns("project.lock", ".recovery"))
    index = json.loads((evil_dir / "project.json").read_text())
    evil = pickle.dumps({"weights": [1, 2, 3]})
    (evil_dir / "classifier.g9.bin").write_bytes(evil)
    index["files"]["classifier"] = {"file": "classifier.g9.bin",
                                    "sha256": hashlib.sha256(evil).hexdigest(), "info": {}}
    (evil_dir / "project.json").write_text(json.dumps(index))
    before = [lay.name for lay in viewer.layers]
    dialogs.folder(evil_dir)
    clicker(dock, check_all=False).click("Open…", wait_until=lambda: not dock.busy,
                                         allow_error="Python pickle")
    assert len(errors) == 1 and "classifier.g9.bin) is a Python pickle" in errors[0]
    assert [lay.name for lay in viewer.layers] == before and dock.folder == folder
    assert read_lock(evil_dir) is None
    dialogs.done()


def test_closing_the_window_stops_the_autosave_thread(make_napari_viewer, qtbot, tmp_path,
                                                      monkeypatch):
    """napari closes its window, not the dock: the autosaver still writes what is pending,
    stops its thread and gives the project lock back."""
    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-dvp", "Project")
    thread = dock.saver._thread
    assert thread.is_alive()
    qtbot.wait(50)  # docked
    viewer.close()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=10_000)
