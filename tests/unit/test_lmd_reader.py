"""The LMD XML reader puts an export back where it came from on the image."""

from __future__ import annotations

import numpy as np
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
