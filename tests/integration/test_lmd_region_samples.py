"""Regions as samples in the LMD dock: drawn regions cut whole or in pieces, with cells.

The cells lie on a 0.5 µm grid shifted by (4, 6) µm, the regions were drawn on a
1 µm grid shifted by 10 µm: the dock must bring the shapes onto the cells'
pixels through both layers' scale and translate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from napari_dvp._qt._common import set_cell_table
from napari_dvp._qt.lmd.preview import OUTLINES_LAYER, PREVIEW_LAYER, REGION_PREVIEW
from napari_dvp.core.synthetic import make_sample

pytestmark = [pytest.mark.gui]


@pytest.fixture
def lmd(make_napari_viewer, qtbot):
    s = make_sample(512)
    viewer = make_napari_viewer()
    cells = s.cells.assign(area_um2=np.bincount(s.labels.ravel())[s.cells["cell_id"]] * 0.25,
                           **{"class": s.cells["true_class"], "region": s.cells["true_region"]})
    viewer.add_image(s.image[0], name="DAPI", scale=(0.5, 0.5), translate=(4.0, 6.0),
                     metadata={"slide": "synthetic", "pixel_size_um": 0.5})
    layer = viewer.add_labels(s.labels, name="cells", scale=(0.5, 0.5), translate=(4.0, 6.0))
    set_cell_table(layer, cells)
    data, names = [], []
    for name, geom in s.regions.items():
        rc = shapely.get_coordinates(geom.exterior)[:-1, ::-1]  # pixels (row, col)
        data.append((rc * 0.5 + [4.0, 6.0] - 10.0) / 1.0)
        names.append(name)
    viewer.add_shapes(data, shape_type="polygon", name="regions", translate=(10.0, 10.0),
                      features=pd.DataFrame({"region": names}))
    _, dock = viewer.window.add_plugin_dock_widget("napari-dvp", "LMD export")
    return viewer, dock, s


@pytest.mark.slow
def test_regions_as_samples(lmd, qtbot, clicker, dialogs, errors, tmp_path):
    viewer, dock, s = lmd
    click = clicker(dock, check_all=False)
    listed = [dock.regions.list.item(i).text().split()[0]
              for i in range(dock.regions.list.count())]
    assert listed == ["epidermis", "dermis", "blister"]
    # first a cell plan, then regions appended to it
    dock.cells.groups.select([("CD8 T cell", "dermis")])
    dock.plan.form.target_cells.value = 4
    click.click("Make plan")
    assert dock.table.plan()["kind"].tolist() == ["cells"]
    dock.regions.select(["epidermis", "blister"])
    dock.regions.form.max_piece_um2.value = 2000
    click.click("Add selected regions as samples")
    plan = dock.table.plan()
    assert plan["kind"].tolist() == ["cells", "region", "region"]
    assert plan["sample_id"].tolist()[1:] == ["R001", "R002"]
    assert [dock.table.item(r, 4).text() for r in (1, 2)] == ["epidermis", "blister"]
    assert [w for _, w, _ in dock.table.legend()] == ["A1", "A2", "A3"]
    epi = plan.at[1, "geometry"]
    assert len(shapely.get_parts(epi)) > 1  # tiled
    assert shapely.area(shapely.get_parts(epi)).max() * 0.25 <= 2000 + 1e-6
    # same place as the drawn region, in the cells' pixels (through scale + translate)
    assert epi.symmetric_difference(s.regions["epidermis"]).area < 0.01 * epi.area
    # preview: region pieces as shapes, cells through the lookup table
    assert len(viewer.layers[REGION_PREVIEW].data) == sum(
        len(shapely.get_parts(g)) for g in plan["geometry"][1:])
    assert PREVIEW_LAYER in viewer.layers
    dock.table.selectRow(2)
    assert len(viewer.layers[OUTLINES_LAYER].data) == len(shapely.get_parts(plan.at[2,
                                                                                "geometry"]))
    # adding the same region again is refused; a new cell plan keeps the region samples
    click.click("Add selected regions as samples", allow_error="already a sample")
    assert any("already a sample" in e for e in errors)
    click.click("Make plan")
    assert dock.table.plan()["kind"].tolist() == ["cells", "region", "region"]
    # export
    dock.calibration.set_marks(np.array([[5.0, 5.0], [5.0, 250.0], [250.0, 125.0]]))
    assert "OK" in dock.calibration.status.text()
    dialogs.folder(tmp_path / "export")
    click.click("Export…", wait_until=lambda: dock.result is not None)
    m = pd.read_csv(tmp_path / "export" / "manifest.csv", keep_default_na=False)
    assert m["sample_id"].tolist() == ["S001", "R001", "R002"]
    assert m["region"].tolist() == ["dermis", "epidermis", "blister"]
    assert m["n_shapes"][1] == len(shapely.get_parts(epi))
    res = dock.result
    cut = shapely.union_all(res.shapes.loc[res.shapes["sample_id"] == "R002",
                                           "geometry"].to_numpy())
    assert cut.difference(s.regions["blister"].buffer(1.0)).area < 1.0


def test_no_region_selected_is_reported(lmd, clicker, errors):
    _, dock, _ = lmd
    click = clicker(dock, check_all=False)
    click.click("Add selected regions as samples", allow_error="no region selected")
    assert any("no region selected" in e for e in errors)
    assert not len(dock.table.plan())
