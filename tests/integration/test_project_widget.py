"""Project dock with an image file on disk: Save as…, Open… in a fresh viewer, recover autosaved
edits after the image moved; session slots (classifier); undo/redo autosave; the screenshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skimage.draw import disk

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt.project.widget import ProjectWidget
from napari_dvp.core.project.recovery import TILE, find_recovery, list_recoveries
from napari_dvp.core.slide import open_image, write_ome_tiff
from napari_dvp.core.slide.layers import layer_data


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))


def _build_viewer(viewer, tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 3000, (2, 512, 512), dtype=np.uint16)
    labels = np.zeros((512, 512), np.uint32)
    for i in range(1, 31):
        rr, cc = disk(tuple(rng.integers(20, 492, 2)), 10, shape=labels.shape)
        labels[rr, cc] = i
        img[0, rr, cc] += 3000
    path = tmp_path / "biopsy.ome.tif"
    write_ome_tiff(path, img, channel_names=["DAPI", "panCK"], pixel_size_um=0.5)
    for data, kwargs, _ in layer_data(open_image(path)):
        viewer.add_image(data, **kwargs)
    viewer.layers["panCK"].colormap = "magenta"
    viewer.layers["DAPI"].contrast_limits = (100, 2500)
    lab = viewer.add_labels(labels, name="cells", scale=(0.5, 0.5), opacity=0.4,
                            units=("um", "um"))
    ids = np.unique(labels[labels > 0])
    set_cell_table(lab, pd.DataFrame({
        "cell_id": ids.astype(np.int64), "area_um2": rng.random(len(ids)),
        "qc_status": pd.Categorical(["pending"] * len(ids), ["pending", "accepted", "rejected"]),
        "class": [""] * len(ids)}))
    viewer.add_shapes([np.array([[0, 0], [0, 200], [150, 200], [150, 0]], float),
                       np.array([[300, 300], [300, 500], [500, 400]], float)],
                      shape_type="polygon", name="regions", scale=(0.5, 0.5), units=("um", "um"),
                      features=pd.DataFrame({"region": ["epidermis", "dermis"]}),
                      face_color=["#d6604d", "#4393c3"], edge_color="white")
    return path


def _dock(viewer) -> ProjectWidget:
    dock = ProjectWidget(viewer)
    viewer.window.add_dock_widget(dock, name="Project")
    return dock


@pytest.mark.slow
def test_save_reopen_and_recover_after_the_image_moved(make_napari_viewer, qtbot, tmp_path,
                                                       clicker, dialogs, errors):
    viewer = make_napari_viewer()
    image_path = _build_viewer(viewer, tmp_path)
    dock = _dock(viewer)
    folder = tmp_path / "proj"
    dialogs.folder(folder)
    clicker(dock, check_all=False).click("Save as…", wait_until=lambda: not dock.busy)
    assert (folder / "project.json").is_file() and dock.folder == folder
    assert not list(folder.glob("image*"))  # the image is referenced, never copied
    assert "saved" in dock.autosave.status.text()
    dock.close()

    viewer2 = make_napari_viewer()
    dock2 = _dock(viewer2)
    dialogs.folder(folder)
    clicker(dock2, check_all=False).click("Open…", wait_until=lambda: not dock2.busy)
    assert [lay.name for lay in viewer2.layers] == [lay.name for lay in viewer.layers]
    for a in viewer.layers:
        b = viewer2.layers[a.name]
        assert type(a) is type(b)
        np.testing.assert_allclose(a.scale, b.scale)
        assert a.visible == b.visible and a.opacity == pytest.approx(b.opacity)
    for name in ("DAPI", "panCK"):
        a, b = viewer.layers[name], viewer2.layers[name]
        assert a.colormap.name == b.colormap.name
        np.testing.assert_allclose(a.contrast_limits, b.contrast_limits)
        np.testing.assert_array_equal(np.asarray(a.data[0] if a.multiscale else a.data),
                                      np.asarray(b.data[0] if b.multiscale else b.data))
    np.testing.assert_array_equal(viewer.layers["cells"].data, viewer2.layers["cells"].data)
    pd.testing.assert_frame_equal(cell_table_of(viewer.layers["cells"]),
                                  cell_table_of(viewer2.layers["cells"]))
    ra, rb = viewer.layers["regions"], viewer2.layers["regions"]
    assert list(rb.features["region"]) == ["epidermis", "dermis"]
    for da_, db in zip(ra.data, rb.data, strict=True):
        np.testing.assert_allclose(da_, db)
    np.testing.assert_allclose(ra.face_color[:, :3], rb.face_color[:, :3], atol=1 / 255)

    # edits after opening are autosaved; napari "crashes" (the window goes without saving)
    lab = viewer2.layers["cells"]
    lab.paint((100, 100), 99, refresh=False)
    table = cell_table_of(lab)
    table.loc[0, "class"] = "keratinocyte"
    set_cell_table(lab, table)
    qtbot.waitUntil(lambda: find_recovery(folder) is not None and not dock2.saver.dirty,
                    timeout=30_000)
    dock2.close()

    image_path.rename(tmp_path / "moved.ome.tif")  # and the image was moved meanwhile
    viewer3 = viewer2  # napari restarted: a new Project dock
    dock3 = _dock(viewer3)
    click3 = clicker(dock3, check_all=False)
    # Open…: the folder; recover the edits? yes; where is the image now? moved.ome.tif
    dialogs.folder(folder).yes().open(tmp_path / "moved.ome.tif")
    click3.click("Open…", wait_until=lambda: not dock3.busy)
    rec = viewer3.layers["cells"]
    assert rec.data[100, 100] == 99
    np.testing.assert_array_equal(rec.data, lab.data)
    assert cell_table_of(rec).loc[0, "class"] == "keratinocyte"
    assert viewer3.layers["DAPI"].metadata["path"] == str((tmp_path / "moved.ome.tif").resolve())
    click3.click(dock3.save_btn, wait_until=lambda: not dock3.busy)
    assert find_recovery(folder) is None
    assert not dock3.session_btn.isVisibleTo(dock3) and not list_recoveries()
    assert not errors
    dialogs.done()


def test_session_slots_saved_autosaved_and_restored(make_napari_viewer, qtbot, tmp_path,
                                                    clicker, dialogs, errors):
    from napari_dvp._qt._session import session_of
    from napari_dvp._qt.project.layers import NOT_KEPT_CLASSIFIER, classifier_bytes
    from napari_dvp.core.classes.classifier import CellClassifier
    from napari_dvp.core.errors import DvpInputError
    from napari_dvp.core.project import executable_content, load_project

    viewer = make_napari_viewer()
    lab = viewer.add_labels(np.zeros((64, 64), np.uint32), name="cells")
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"cell_id": np.arange(1, 41), "mean_DAPI": rng.random(40),
                          "area_um2": rng.random(40) * 50})
    set_cell_table(lab, table)
    dock = _dock(viewer)
    session = session_of(viewer)
    assert session_of(viewer) is session and session_of(make_napari_viewer()) is not session
    seen = []
    session.changed.connect(lambda slot, source: seen.append((slot, source)))
    clf = CellClassifier(n_estimators=5).train(table, {1: "a", 2: "a", 3: "b", 4: "b"})
    plan = pd.DataFrame({"sample_id": ["S1", "S2"], "n_cells": [3, 4]})
    session.set("classifier", clf, source="test")
    session.put("plans", "plan 1", plan, source="test")
    session.put("classes", "gating", {"rules": [{"name": "T cell", "expr": "CD8+"}]})
    assert seen == [("classifier", "test"), ("plans", "test"), ("classes", None)]
    with pytest.raises(DvpInputError, match="unknown session slot"):
        session.set("nonsense", 1)
    # the autosaver got every session slot (an unsaved session: recovery holds them)
    qtbot.waitUntil(lambda: dock.saver.n_writes > 0 and not dock.saver.dirty, timeout=30_000)
    rec = list_recoveries()
    assert rec and {"plans", "classes"} <= set(rec[0].slots)

    infos = []
    from napari.utils.notifications import notification_manager

    notification_manager.notification_ready.connect(lambda e: infos.append(str(e.message)))
    folder = tmp_path / "proj"
    dialogs.folder(folder)
    clicker(dock, check_all=False).click("Save as…", wait_until=lambda: not dock.busy)
    project = load_project(folder)
    pd.testing.assert_frame_equal(project.plans["plan 1"], plan)
    assert project.classes == {"gating": {"rules": [{"name": "T cell", "expr": "CD8+"}]}}
    pickled = executable_content(classifier_bytes(clf)[0]) is not None
    # a classifier whose saved form runs code is never put into a project, and the user is told
    assert (project.classifier is None) == pickled
    assert (NOT_KEPT_CLASSIFIER in infos[-1]) == pickled and not errors
    session.put("plans", "plan 1", None)
    assert session.get("plans") == {} and "plans" not in session.items()
    dialogs.done()


def _pickled_classifier() -> bool:
    from napari_dvp._qt.project.layers import classifier_bytes
    from napari_dvp.core.classes.classifier import CellClassifier
    from napari_dvp.core.project import executable_content

    table = pd.DataFrame({"cell_id": [1, 2, 3, 4], "mean_DAPI": [0.0, 0.1, 1.0, 1.1]})
    clf = CellClassifier(n_estimators=2).train(table, {1: "a", 2: "a", 3: "b", 4: "b"})
    return executable_content(classifier_bytes(clf)[0]) is not None


@pytest.mark.xfail(_pickled_classifier(), strict=True,
                   reason="the classifier is still saved as a pickle, which projects refuse; "
                          "it round-trips once core.classes.classifier saves data only")
def test_a_data_only_classifier_round_trips(make_napari_viewer, tmp_path):
    from napari_dvp._qt._session import session_of
    from napari_dvp._qt.project.layers import project_from_viewer, restore_into_viewer
    from napari_dvp.core.classes.classifier import CellClassifier
    from napari_dvp.core.project import load_project, save_project

    viewer = make_napari_viewer()
    table = pd.DataFrame({"cell_id": np.arange(1, 21), "mean_DAPI": np.linspace(0, 1, 20)})
    clf = CellClassifier(n_estimators=5).train(table, {1: "a", 2: "a", 19: "b", 20: "b"})
    session_of(viewer).set("classifier", clf)
    save_project(tmp_path / "p", project_from_viewer(viewer))
    viewer2 = make_napari_viewer()
    restore_into_viewer(viewer2, load_project(tmp_path / "p"))
    back = session_of(viewer2).get("classifier")
    pd.testing.assert_frame_equal(back.predict(table), clf.predict(table))


def test_undo_and_redo_autosave_only_the_tiles_they_touch(make_napari_viewer, qtbot, tmp_path,
                                                          clicker, dialogs):
    viewer = make_napari_viewer()
    lab = viewer.add_labels(np.zeros((2048, 2048), np.uint32), name="cells")
    dock = _dock(viewer)
    dialogs.folder(tmp_path / "proj")
    clicker(dock, check_all=False).click("Save as…", wait_until=lambda: not dock.busy)
    saver = dock.saver
    saver.enabled = False  # keep the dirty tiles to look at them
    follower = dock.autosave.follower

    def dirty_after(action):
        with saver._cond:
            saver._dirty = set()
        action()
        follower.poll_undo()
        return saver._dirty

    lab.paint((1500, 1500), 5, refresh=False)
    follower.poll_undo()
    tile = (1500 // TILE, 1500 // TILE)
    assert dirty_after(lab.undo) == {tile} and lab.data[1500, 1500] == 0
    assert dirty_after(lab.redo) == {tile} and lab.data[1500, 1500] == 5
    assert dirty_after(lambda: None) == set()
