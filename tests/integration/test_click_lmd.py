"""LMD dock, clicked as an LMD operator does: plan, wells, marks, Leica/PALM export, questions.

One viewer shows a 256 px slide at 0.5 µm per pixel with a grid of classified
disk cells (``unit._lmd_synth.make_tissue``; top half epidermis, bottom dermis)
and, at the bottom, a band of thin melanocytes pressed against fibroblasts of
another sample (so that an export would lose them), plus a drawn region. The
dock is opened from the plugin menu entry; every button is clicked; dialogs
are answered (folders, "Overwrite?", "Export anyway?", a QuPath GeoJSON);
exported files are read back with py-lmd (Leica) and the core PALM reader.
"""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest
import shapely
from qtpy.QtCore import QPoint, Qt

from napari_dvp._qt._common import cell_table_of, set_cell_table
from napari_dvp._qt._session import session_of
from napari_dvp._qt._slide import role_of
from napari_dvp._qt.lmd import export as export_module
from napari_dvp._qt.lmd.calibration import CAL_LAYER
from napari_dvp._qt.lmd.preview import OUTLINES_LAYER, PREVIEW_LAYER, REGION_PREVIEW
from napari_dvp.core.lmd.calibration import Calibration
from napari_dvp.core.lmd.palm import read_palm
from unit._lmd_synth import make_tissue

pytestmark = [pytest.mark.gui]

PX = 0.5
SIZE = 256
BLISTER = shapely.box(150, 140, 200, 180)  # a drawn region (x = col, y = row, pixels)


def tissue():
    """Labels and cell table: disk cells, and 6 thin melanocytes touching 6 fibroblasts."""
    labels, _ = make_tissue(SIZE, spacing=14)
    labels[222:, :] = 0
    labels[labels > 0] = np.unique(labels[labels > 0], return_inverse=True)[1] + 1
    n = int(labels.max())
    band = {}
    for k in range(6):
        c0 = 20 + 36 * k
        labels[228:250, c0:c0 + 12] = n + 1 + 2 * k  # fibroblast, 12 px wide
        labels[228:250, c0 + 12:c0 + 14] = n + 2 + 2 * k  # melanocyte, 2 px wide, touching
        band[n + 1 + 2 * k], band[n + 2 + 2 * k] = "fibroblast", "melanocyte"
    rows, cols = np.nonzero(labels)
    lab = labels[rows, cols].astype(np.intp)
    ids = np.unique(lab)
    cnt = np.bincount(lab)[ids]
    cr, cc = np.bincount(lab, rows)[ids] / cnt, np.bincount(lab, cols)[ids] / cnt
    cls = np.where(cc < SIZE / 2, "keratinocyte", "CD8 T cell").astype(object)
    for i, cid in enumerate(ids):
        cls[i] = band.get(int(cid), cls[i])
    cells = pd.DataFrame({"cell_id": ids, "centroid_row": cr, "centroid_col": cc,
                          "area_um2": cnt * PX * PX, "class": cls,
                          "region": np.where(cr < SIZE / 2, "epidermis", "dermis"),
                          "qc_status": "accepted"})
    return labels, cells


@pytest.fixture(scope="module")
def sample():
    return tissue()


@pytest.fixture
def lmd(make_napari_viewer, qtbot, sample):
    labels, cells = sample
    viewer = make_napari_viewer()
    meta = {"slide": "synthetic biopsy", "pixel_size_um": PX}
    viewer.add_image((labels > 0) * 100.0, name="DAPI", scale=(PX, PX), metadata=meta)
    layer = viewer.add_labels(labels, name="cells", scale=(PX, PX), opacity=0.3)
    set_cell_table(layer, cells.copy(), step="measure")
    rc = shapely.get_coordinates(BLISTER.exterior)[:-1, ::-1] * PX
    viewer.add_shapes([rc], shape_type="polygon", name="regions",
                      features=pd.DataFrame({"region": ["blister"]}))
    _, dock = viewer.window.add_plugin_dock_widget("napari-dvp", "LMD export")
    viewer.layers.selection.active = layer
    return viewer, dock, layer


def _select_groups(dock, *groups):
    dock.cells.groups.select(groups)


def _click_world(viewer, qtbot, rc_px):
    """A real mouse click on the canvas at image pixel (row, col)."""
    canvas = viewer.window._qt_viewer.canvas
    view = canvas.view
    x, y = (view.transform * view.scene.transform).map([rc_px[1] * PX, rc_px[0] * PX])[:2]
    qtbot.mouseClick(canvas.native, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(float(x)), round(float(y))))


def _qupath_points(path, marks_rc, prefix="calib"):
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [c, r]},
              "properties": {"objectType": "annotation", "name": f"{prefix}{k}"}}
             for k, (r, c) in enumerate(marks_rc, start=1)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


@pytest.mark.slow
def test_every_button_of_the_lmd_dock(lmd, qtbot, clicker, dialogs, errors, tmp_path,
                                      monkeypatch):
    viewer, dock, layer = lmd
    click = clicker(dock)
    # the dock names the cells layer it uses (the one rule), and lists its groups
    assert "<b>cells</b>" in dock.cells.label.text()
    assert dock.cells.groups.count() == 6

    # 1-2. plan: two groups x two replicates of 20 cells, balanced
    _select_groups(dock, ("keratinocyte", "epidermis"), ("CD8 T cell", "epidermis"))
    dock.plan.form.target_cells.value = 20
    dock.plan.form.replicates.value = 2
    click.click("Skip cells touching")
    assert dock.plan.form.params().skip_touching
    click.click("Make plan")
    n_touching_free = dock.table.plan()["n_cells"].tolist()
    click.click("Skip cells touching")
    click.click("Make plan")
    plan = dock.table.plan()
    assert plan["n_cells"].tolist() == [20, 20, 20, 20]
    assert all(n <= 20 for n in n_touching_free)
    assert not dock.plan.warning.isVisibleTo(dock)
    assert "LMD plan" in session_of(viewer).get("plans")
    # preview: planned cells in their well's colour, the table is the legend
    prev = viewer.layers[PREVIEW_LAYER]
    assert role_of(prev) == "preview" and prev.data.shape == (SIZE, SIZE, 4)
    legend = dock.table.legend()
    assert [w for _, w, _ in legend] == ["A1", "A2", "A3", "A4"]
    assert len({c for _, _, c in legend}) == 4
    first = plan.at[0, "cell_ids"][0]
    rgba = prev.data[layer.data == first][0]
    assert _colour_name(rgba) == legend[0][2]
    assert prev.data[layer.data == 0][:, 3].max() == 0

    # too few cells for the replicates: one warning row above the plan
    dock.plan.form.target_cells.value = 60
    click.click("Make plan")
    assert dock.plan.warning.isVisibleTo(dock) and "⚠" in dock.plan.warning.text()
    dock.plan.form.target_cells.value = 20
    click.click("Make plan")
    assert not dock.plan.warning.isVisibleTo(dock)

    # edit the plan: a chosen well, a dropped sample (its outlines shown when selected)
    dock.table.item(0, 2).setText("c5")
    assert dock.table.plan().at[0, "well"] == "C5"
    dock.table.selectRow(3)
    assert role_of(viewer.layers[OUTLINES_LAYER]) == "preview"
    click.click("Drop selected samples")
    assert len(dock.table.plan()) == 3

    # regions as samples: the drawn blister, one well of its own
    dock.regions.select(["blister"])
    click.click("Add selected regions as samples")
    plan = dock.table.plan()
    assert plan["kind"].tolist() == ["cells", "cells", "cells", "region"]
    assert role_of(viewer.layers[REGION_PREVIEW]) == "preview"
    assert [w for _, w, _ in dock.table.legend()] == ["C5", "A1", "A2", "A3"]

    # 3. wells: skip the edge, then every other well (the automatic wells follow)
    click.click("Skip edge wells")
    assert [w for _, w, _ in dock.table.legend()] == ["C5", "B2", "B3", "B4"]
    click.click("Every other well")
    assert [w for _, w, _ in dock.table.legend()][1:] == ["B2", "B4", "B6"]
    click.click("Skip edge wells")
    click.click("Every other well")
    assert [w for _, w, _ in dock.table.legend()] == ["C5", "A1", "A2", "A3"]

    # 4. calibration: three numbered crosses clicked on the canvas
    viewer.reset_view()
    click.click("Pick marks on the image")
    marks_layer = viewer.layers[CAL_LAYER]
    assert role_of(marks_layer) == "calibration" and marks_layer.mode == "add"
    assert "mark 1 of 3" in dock.calibration.status.text()
    small = [(20, 20), (20, 60), (60, 40)]  # a small triangle: most cells lie outside
    for rc in small:
        _click_world(viewer, qtbot, rc)
    assert len(marks_layer.data) == 3, dock.calibration.status.text()
    assert marks_layer.features["mark"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(dock.calibration.marks(), small, atol=1.5)
    assert "OK" in dock.calibration.status.text()
    assert dock.triangle.isVisibleTo(dock) and "outside the triangle" in dock.triangle.text()
    n_outside = int(dock.triangle.text().split()[1])
    assert n_outside > 40  # of 60 planned cells
    # the same marks, placed in QuPath around the tissue: read from its GeoJSON
    around = np.array([[4.0, 4.0], [4.0, 251.0], [251.0, 128.0]])
    dialogs.open(_qupath_points(tmp_path / "marks.geojson", around))
    click.click("From QuPath GeoJSON…")
    # QuPath counts from pixel edges, napari-dvp from pixel centres (docs/lmd_export.md)
    np.testing.assert_allclose(dock.calibration.marks(), around - 0.5)
    assert "from marks.geojson" in dock.calibration.status.text()
    left = int(dock.triangle.text().split()[1]) if dock.triangle.isVisibleTo(dock) else 0
    assert left < 0.3 * n_outside

    # 5. export (Leica) into an empty folder; read back with py-lmd
    out = tmp_path / "export"
    out.mkdir()
    dialogs.folder(out)
    click.click("Export…", wait_until=lambda: dock.result is not None)
    res = dock.result
    manifest = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert manifest["well"].tolist() == ["C5", "A1", "A2", "A3"]
    assert (manifest["n_cells"][:3] == 20).all() and (manifest["n_lost"] == 0).all()
    assert {"plate_map.csv", "lost_cells.csv", "lmd_shapes_qc.png"} <= {
        p.name for p in out.iterdir()}
    assert f"Exported 4 samples, {res.n_shapes} shapes" in dock.export.status.text()
    assert dock.platemap.isVisibleTo(dock) and dock.platemap.samples()["C5"] == manifest.at[0,
                                                                                        "sample_id"]
    lmd_lib = pytest.importorskip("lmd.lib", reason="py-lmd reads the Leica XML")
    coll = lmd_lib.Collection()
    coll.load(str(res.shapes_path))
    assert len(coll.shapes) == res.n_shapes
    cal = Calibration(around - 0.5, PX)
    np.testing.assert_array_equal(coll.calibration_points, cal.marks_xml())
    polys = shapely.STRtree([s.to_shapely() for s in coll.shapes])
    wells = [s.well for s in coll.shapes]
    cells = cell_table_of(layer).set_index("cell_id")
    for sid, ids in zip(plan["sample_id"][:3], plan["cell_ids"][:3], strict=True):
        well = manifest.set_index("sample_id").at[sid, "well"]
        xy = cal.to_xml(cells.loc[list(ids), ["centroid_row", "centroid_col"]].to_numpy())
        hit_p, hit_t = polys.query(shapely.points(xy), predicate="within")
        assert len(set(hit_p)) == len(ids) and {wells[t] for t in hit_t} == {well}
    mtime = (out / "manifest.csv").stat().st_mtime_ns

    # Overwrite? No: the earlier export stays; Yes: replaced
    dialogs.folder(out).no()
    click.click("Export…")
    assert (out / "manifest.csv").stat().st_mtime_ns == mtime
    assert "kept" in dock.export.status.text()
    dock.export.result = None
    dialogs.folder(out).yes()
    click.click("Export…", wait_until=lambda: dock.result is not None)
    assert (out / "manifest.csv").stat().st_mtime_ns != mtime
    # a folder holding other files is never used
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    dialogs.folder(tmp_path / "mine")
    click.click("Export…", allow_error="did not write")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]

    # Cancel while the export runs: nothing is written (the job waits at its first step)
    gate = threading.Event()
    real = export_module.export_job

    def gated(*a, **k):
        yield 0, 6, "waiting"
        gate.wait(10)
        return (yield from real(*a, **k))

    monkeypatch.setattr(export_module, "export_job", gated)
    dialogs.folder(tmp_path / "cancelled")
    click.click("Export…")
    click.click("Cancel")
    gate.set()
    qtbot.waitUntil(lambda: not dock.export.runner.running, timeout=30_000)
    assert not (tmp_path / "cancelled").exists()
    assert "cancelled" in dock.export.status.text()
    monkeypatch.setattr(export_module, "export_job", real)

    # loss: thin melanocytes pressed against another sample's fibroblasts
    dock.table.selectAll()
    click.click("Drop selected samples")
    assert not len(dock.table.plan()) and PREVIEW_LAYER not in viewer.layers
    _select_groups(dock, ("fibroblast", "dermis"), ("melanocyte", "dermis"))
    dock.plan.form.target_cells.value = 6
    dock.plan.form.replicates.value = 1
    click.click("Make plan")
    assert dock.table.plan()["n_cells"].tolist() == [6, 6]
    dock.export.result = None
    dialogs.folder(tmp_path / "loss").no()  # Export anyway? No
    click.click("Export…", wait_until=lambda: not dock.export.runner.running)
    assert any("Export anyway?" in a and "S002" in a for a in dialogs.asked)
    assert not (tmp_path / "loss").exists() and dock.result is None
    dialogs.folder(tmp_path / "loss").yes()  # Export anyway? Yes
    click.click("Export…", wait_until=lambda: dock.result is not None)
    m = pd.read_csv(tmp_path / "loss" / "manifest.csv").set_index("sample_id")
    assert m.at["S002", "n_planned"] == 6 and m.at["S002", "n_cells"] < 6
    assert len(pd.read_csv(tmp_path / "loss" / "lost_cells.csv")) >= 1
    dialogs.done()


def _colour_name(rgba) -> str:
    """``#rrggbb``, as ``QColor.name()`` writes it."""
    return "#" + "".join(f"{int(v):02x}" for v in rgba[:3])


def test_palm_needs_the_stage_positions(lmd, qtbot, clicker, dialogs, errors, tmp_path):
    _, dock, layer = lmd
    click = clicker(dock, check_all=False)
    _select_groups(dock, ("CD8 T cell", "dermis"))
    dock.plan.form.target_cells.value = 10
    click.click("Make plan")
    marks = np.array([[4.0, 4.0], [4.0, 251.0], [251.0, 128.0]])
    dialogs.open(_qupath_points(tmp_path / "marks.geojson", marks, prefix="mark "))
    dock.calibration.qupath_class.setText("mark 1, mark 2, mark 3")  # names of marks 1-3
    click.click("From QuPath GeoJSON…")
    np.testing.assert_allclose(dock.calibration.marks(), marks - 0.5)
    dock.export.form.fmt.value = "palm"
    assert dock.calibration.stage.isVisibleTo(dock)
    # all three marks' rows are on screen, none hidden behind a scroll bar
    table = dock.calibration.stage
    qtbot.waitUntil(lambda: table.height() > 0)
    rows = sum(table.rowHeight(i) for i in range(3)) + table.horizontalHeader().height()
    assert table.viewport().height() + table.horizontalHeader().height() >= rows - 2
    # no stage positions: one clear line, no folder asked, nothing written
    click.click("Export…", allow_error="stage positions")
    assert [e for e in errors if "stage positions" in e] and not dialogs.asked[1:]
    # the stage: rotated 90° and shifted (as PALMRobo shows the marks)
    stage = np.stack([50_000 + marks[:, 0] * PX, 20_000 - marks[:, 1] * PX], axis=1)
    dock.calibration.set_stage(stage)
    dialogs.folder(tmp_path / "palm")
    click.click("Export…", wait_until=lambda: dock.result is not None)
    res = dock.result
    shapes, _, types = read_palm(res.shapes_path)
    shapes = [s for s, t in zip(shapes, types, strict=True) if t == "Freehand"]
    assert len(shapes) == res.n_shapes and types.count("Dot") == 3, set(types)
    # every element lands on its cells: back from stage µm to pixels, the cells lie inside
    inv = np.linalg.inv(Calibration(marks - 0.5, PX, stage_um=stage).stage_matrix())
    cut = shapely.union_all([shapely.Polygon((np.c_[s, np.ones(len(s))] @ inv.T)[:, :2])
                             for s in shapes])
    cells = cell_table_of(layer).set_index("cell_id")
    ids = list(dock.table.plan().at[0, "cell_ids"])
    pts = shapely.points(cells.loc[ids, ["centroid_col", "centroid_row"]].to_numpy())
    assert shapely.contains(cut, pts).all()
