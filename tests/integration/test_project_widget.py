"""Project widget: save a full viewer, reopen it in a fresh viewer, recover autosaved edits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skimage.draw import disk

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt.project.widget import ProjectWidget
from napari_dvp.core.project.autosave import find_recovery, list_recoveries
from napari_dvp.core.slide import open_image, write_ome_tiff
from napari_dvp.core.slide.layers import layer_data


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
    lab = viewer.add_labels(labels, name="cells", scale=(0.5, 0.5), opacity=0.4)
    ids = np.unique(labels[labels > 0])
    set_cell_table(lab, pd.DataFrame({
        "cell_id": ids.astype(np.int64), "area_um2": rng.random(len(ids)),
        "qc_status": pd.Categorical(["pending"] * len(ids), ["pending", "accepted", "rejected"]),
        "class": [""] * len(ids)}))
    viewer.add_shapes([np.array([[0, 0], [0, 200], [150, 200], [150, 0]], float),
                       np.array([[300, 300], [300, 500], [500, 400]], float)],
                      shape_type="polygon", name="regions", scale=(0.5, 0.5),
                      features=pd.DataFrame({"region": ["epidermis", "dermis"]}),
                      face_color=["#d6604d", "#4393c3"], edge_color="white")
    return path


def _wait(qtbot, widget) -> None:
    qtbot.waitUntil(lambda: not widget.busy, timeout=30000)


@pytest.mark.slow
def test_save_and_reopen_restores_every_layer(make_napari_viewer, qtbot, tmp_path, monkeypatch,
                                              screenshot_path):
    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))
    viewer = make_napari_viewer()
    image_path = _build_viewer(viewer, tmp_path)
    widget = ProjectWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Project")
    folder = tmp_path / "proj"
    widget.save(folder)
    _wait(qtbot, widget)
    assert (folder / "project.json").is_file() and widget.folder == folder
    assert "saved" in widget.status.text()

    viewer2 = make_napari_viewer()
    w2 = ProjectWidget(viewer2)
    w2.open(folder)
    _wait(qtbot, w2)
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

    # edits after opening are autosaved; a crash (no Save) is offered for recovery
    w2.saver.interval = 0.05
    lab = viewer2.layers["cells"]
    lab.paint((100, 100), 99, refresh=False)
    table = cell_table_of(lab)
    table.loc[0, "class"] = "keratinocyte"
    set_cell_table(lab, table)
    qtbot.wait(50)  # the widget hands painted boxes over once napari has written them
    w2.saver.flush()
    assert find_recovery(folder) is not None
    w2.saver.close()  # "crash": napari goes away without saving

    image_path.rename(tmp_path / "moved.ome.tif")  # and the image was moved meanwhile
    viewer3 = make_napari_viewer()
    w3 = ProjectWidget(viewer3)
    monkeypatch.setattr(w3, "ask_recover", lambda when: True)
    monkeypatch.setattr(w3, "ask_image_path", lambda old: str(tmp_path / "moved.ome.tif"))
    w3.open(folder)
    _wait(qtbot, w3)
    rec = viewer3.layers["cells"]
    assert rec.data[100, 100] == 99
    np.testing.assert_array_equal(rec.data, lab.data)
    assert cell_table_of(rec).loc[0, "class"] == "keratinocyte"
    assert viewer3.layers["DAPI"].metadata["path"] == str((tmp_path / "moved.ome.tif").resolve())
    w3.save()
    _wait(qtbot, w3)
    assert find_recovery(folder) is None
    assert not w3.session_btn.isVisible() and not list_recoveries()
    viewer3.window._qt_window.resize(1200, 760)
    viewer3.window.add_dock_widget(w3, name="Project")
    viewer3.layers["panCK"].visible = False
    qtbot.wait(500)
    viewer3.reset_view()
    qtbot.wait(500)
    w3._tick()
    viewer3.layers.selection.active = viewer3.layers["cells"]
    viewer3.screenshot(str(screenshot_path("project_widget.png")), canvas_only=False)
    for w in (widget, w2, w3):
        w.saver.close(flush=False)


def test_session_slots_saved_autosaved_and_restored(make_napari_viewer, qtbot, tmp_path,
                                                    monkeypatch):
    from napari_dvp._qt._session import session_of
    from napari_dvp._qt.project.layers import project_from_viewer, restore_into_viewer
    from napari_dvp.core.classes.classifier import CellClassifier
    from napari_dvp.core.errors import DvpInputError
    from napari_dvp.core.project import load_project

    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))
    viewer = make_napari_viewer()
    lab = viewer.add_labels(np.zeros((64, 64), np.uint32), name="cells")
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"cell_id": np.arange(1, 41), "mean_DAPI": rng.random(40),
                          "area_um2": rng.random(40) * 50})
    set_cell_table(lab, table)
    widget = ProjectWidget(viewer)
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
    widget.saver.flush()
    rec = list_recoveries()
    assert rec and {"classifier", "plans", "classes"} <= set(rec[0].slots)

    folder = tmp_path / "proj"
    widget.save(folder)
    _wait(qtbot, widget)
    project = load_project(folder)
    assert project.classifier_info["classes"] == ["a", "b"]
    pd.testing.assert_frame_equal(project.plans["plan 1"], plan)
    assert project.classes == {"gating": {"rules": [{"name": "T cell", "expr": "CD8+"}]}}

    viewer2 = make_napari_viewer()
    restored = []
    session_of(viewer2).changed.connect(lambda slot, source: restored.append(slot))
    restore_into_viewer(viewer2, project)
    s2 = session_of(viewer2)
    assert set(restored) == {"classifier", "plans", "classes"}
    assert s2.get("classifier").classes == ["a", "b"]
    pd.testing.assert_frame_equal(s2.get("classifier").predict(table), clf.predict(table))
    again = project_from_viewer(viewer2)
    assert again.classifier_info == project.classifier_info
    assert list(again.plans) == ["plan 1"]
    session.put("plans", "plan 1", None)
    assert session.get("plans") == {} and "plans" not in session.items()
    widget.saver.close(flush=False)


def test_undo_and_redo_autosave_only_the_chunks_they_touch(make_napari_viewer, qtbot, tmp_path,
                                                           monkeypatch):
    monkeypatch.setenv("NAPARI_DVP_HOME", str(tmp_path / "home"))
    viewer = make_napari_viewer()
    lab = viewer.add_labels(np.zeros((2048, 2048), np.uint32), name="cells")
    widget = ProjectWidget(viewer)
    widget.save(tmp_path / "proj")
    _wait(qtbot, widget)
    saver = widget.saver
    saver.enabled = False  # keep the dirty chunks to look at them

    def dirty_after(action):
        with saver._cond:
            saver._labels_dirty = set()
        action()
        widget.follower.poll_undo()
        return saver._labels_dirty

    lab.paint((1500, 1500), 5, refresh=False)
    qtbot.wait(50)
    widget.follower.poll_undo()
    assert dirty_after(lab.undo) == {(1, 1)} and lab.data[1500, 1500] == 0
    assert dirty_after(lab.redo) == {(1, 1)} and lab.data[1500, 1500] == 5
    assert dirty_after(lambda: None) == set()
    saver.close(flush=False)
