"""The LMD XML reader puts an export back where it came from on the image."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from napari_dvp._lmd_reader import napari_get_reader
from napari_dvp.core.lmd import Calibration, ExportOptions, PlanOptions, export_lmd, plan_samples

from ._lmd_synth import make_tissue


def test_reader_round_trip(tmp_path):
    labels, cells = make_tissue(200)
    plan = plan_samples(cells, [("keratinocyte", "*")], PlanOptions(target_cells=6,
                                                                    replicates=2))
    cal = Calibration(np.array([[3, 3], [3, 190], [190, 90]]), 0.5)
    res = export_lmd(labels, plan, cal, tmp_path / "o", ExportOptions(qc_png=False))
    reader = napari_get_reader(str(res.shapes_path))
    assert reader is not None
    (shapes, meta, kind), (marks, _, mkind) = reader(str(res.shapes_path))
    assert kind == "shapes" and mkind == "points" and len(shapes) == res.n_shapes
    np.testing.assert_allclose(marks, cal.marks_rc, atol=0.02)
    for rc, geom in zip(shapes, res.shapes["geometry"], strict=True):
        back = shapely.Polygon(rc[:, ::-1])
        assert back.symmetric_difference(geom).area < 0.02 * geom.area
    assert meta["features"]["well"] == res.shapes["well"].tolist()


def test_reader_declines_other_files(tmp_path):
    other = tmp_path / "other.xml"
    other.write_text("<?xml version='1.0'?><OME><Image/></OME>")
    assert napari_get_reader(str(other)) is None
    assert napari_get_reader(str(tmp_path / "missing.xml")) is None
    txt = tmp_path / "a.txt"
    txt.write_text("x")
    assert napari_get_reader(str(txt)) is None


# third-party warnings raised inside py-lmd (numba typed dict; skimage deprecations it calls)
@pytest.mark.filterwarnings("ignore:unsafe cast from int64 to uint32:Warning")
@pytest.mark.filterwarnings("ignore:`binary_(erosion|dilation)` is deprecated:FutureWarning")
def test_reader_places_py_lmd_export_on_the_image(tmp_path):
    """An XML written by py-lmd from a segmentation lands on its cells (1 unit = 1 px)."""
    import contextlib
    import io

    lmd_lib = pytest.importorskip("lmd.lib")
    labels, cells = make_tissue(120)
    ids = [1, 2, 9, 20]
    loader = lmd_lib.SegmentationLoader(
        config={"orientation_transform": np.array([[0, -1], [1, 0]]), "threads": 1,
                "path_optimization": "none"})
    cal = np.array([[0, 0], [0, 119], [119, 60]])
    with contextlib.redirect_stdout(io.StringIO()):
        coll = loader(labels, [{"classes": ids, "well": "B3"}], cal)
        coll.save(str(tmp_path / "pylmd.xml"))
    (shapes, meta, _), (marks, _, _) = napari_get_reader(str(tmp_path / "pylmd.xml"))(
        str(tmp_path / "pylmd.xml"))
    np.testing.assert_allclose(marks, cal, atol=0.02)
    assert set(meta["features"]["well"]) == {"B3"}
    polys = [shapely.Polygon(s[:, ::-1]) for s in shapes]
    for cid in ids:
        c = cells.set_index("cell_id").loc[cid]
        pt = shapely.Point(c["centroid_col"], c["centroid_row"])
        assert any(p.contains(pt) for p in polys)
