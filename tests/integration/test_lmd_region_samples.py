"""Regions as samples in the LMD widget: drawn regions cut whole or in pieces, with cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from napari_dvp._qt._common import set_cell_table
from napari_dvp._qt.lmd.regions import REGION_PREVIEW
from napari_dvp._qt.lmd.widget import CAL_LAYER, PREVIEW_LAYER, LmdWidget
from napari_dvp.core.synthetic import make_sample


@pytest.fixture
def widget(make_napari_viewer, qtbot):
    s = make_sample(512)
    viewer = make_napari_viewer()
    cells = s.cells.assign(area_um2=np.bincount(s.labels.ravel())[s.cells["cell_id"]] * 0.25,
                           **{"class": s.cells["true_class"], "region": s.cells["true_region"]})
    # the cells on a 0.5 µm grid, the regions drawn on a 1 µm grid shifted by 10 µm: the
    # widget must bring the shapes onto the cells' pixels through both layers' scale/translate
    layer = viewer.add_labels(s.labels, name="cells", scale=(0.5, 0.5), translate=(4.0, 6.0),
                              metadata={"pixel_size_um": 0.5})
    set_cell_table(layer, cells)
    data, names = [], []
    for name, geom in s.regions.items():
        rc = shapely.get_coordinates(geom.exterior)[:-1, ::-1]  # pixels (row, col)
        data.append((rc * 0.5 + [4.0, 6.0] - 10.0) / 1.0)
        names.append(name)
    viewer.add_shapes(data, shape_type="polygon", name="regions", translate=(10.0, 10.0),
                      features=pd.DataFrame({"region": names}))
    w = LmdWidget(viewer)
    viewer.window.add_dock_widget(w, name="LMD export")
    return viewer, w, s


def _select(w, names):
    for i in range(w.region_list.count()):
        it = w.region_list.item(i)
        it.setSelected(any(it.text().startswith(n + " ") for n in names))


def test_regions_as_samples(widget, qtbot, tmp_path):
    viewer, w, s = widget
    listed = [w.region_list.item(i).text().split()[0] for i in range(w.region_list.count())]
    assert listed == ["epidermis", "dermis", "blister"]
    # first a cell plan, then regions appended to it
    for i in range(w.groups.count()):
        w.groups.item(i).setSelected("CD8 T cell · dermis" in w.groups.item(i).text())
    w.target_kind.setCurrentIndex(1)
    w.target.setValue(4)
    w.make_plan()
    assert w.table.plan()["kind"].tolist() == ["cells"]
    _select(w, ["epidermis", "blister"])
    w.max_piece.setValue(2000)
    w.add_region_samples()
    plan = w.table.plan()
    assert plan["kind"].tolist() == ["cells", "region", "region"]
    assert plan["sample_id"].tolist()[1:] == ["R001", "R002"]
    assert [w.table.item(r, 3).text() for r in (1, 2)] == ["epidermis", "blister"]
    assert [w.table.item(r, 1).text() for r in range(3)] == ["A1", "A2", "A3"]  # wells
    epi = plan.at[1, "geometry"]
    assert len(shapely.get_parts(epi)) > 1  # tiled
    assert shapely.area(shapely.get_parts(epi)).max() * 0.25 <= 2000 + 1e-6
    # same place as the drawn region, in the cells' pixels (through scale + translate)
    assert epi.symmetric_difference(s.regions["epidermis"]).area < 0.01 * epi.area
    # preview: region pieces as shapes, cells through the lookup table
    assert len(viewer.layers[REGION_PREVIEW].data) == sum(
        len(shapely.get_parts(g)) for g in plan["geometry"][1:])
    assert PREVIEW_LAYER in viewer.layers
    w.table.selectRow(2)
    assert len(viewer.layers["LMD sample outlines"].data) == len(
        shapely.get_parts(plan.at[2, "geometry"]))
    # adding the same region again is refused; a new cell plan keeps the region samples
    shown = []
    import napari_dvp._qt._common as common

    old, common.show_error = common.show_error, shown.append
    try:
        w.add_region_samples()
    finally:
        common.show_error = old
    assert shown and "already a sample" in shown[0]
    w.make_plan()
    assert w.table.plan()["kind"].tolist() == ["cells", "region", "region"]
    # export
    w.pick_calibration()
    viewer.layers[CAL_LAYER].data = np.array([[5.0, 5.0], [5.0, 250.0], [250.0, 125.0]])
    assert "OK" in w.cal_status.text()
    w.show()
    viewer.window._qt_window.grab().save(str(tmp_path / "lmd_regions.png"))
    out = tmp_path / "export"
    w.export_to(out)
    qtbot.waitUntil(lambda: w.result is not None, timeout=60_000)
    m = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert m["sample_id"].tolist() == ["S001", "R001", "R002"]
    assert m["region"].tolist() == ["dermis", "epidermis", "blister"]
    assert m["n_shapes"][1] == len(shapely.get_parts(epi))
    cut = shapely.union_all(w.result.shapes.loc[w.result.shapes["sample_id"] == "R002",
                                                "geometry"].to_numpy())
    assert cut.difference(s.regions["blister"].buffer(1.0)).area < 1.0


def test_no_region_selected_is_reported(widget, monkeypatch):
    _, w, _ = widget
    shown = []
    monkeypatch.setattr("napari_dvp._qt._common.show_error", shown.append)
    w.add_region_samples()
    assert shown and "no region selected" in shown[0]
    assert not len(w.table.plan())
