"""Two hostile inputs of issue 16 that had no case of their own: a Leica XML whose shape
repeats one point tag instead of giving its points, and a project index nested deeper
than Python's parser can follow. Both are refused with one line (exit 2), nothing written."""

from __future__ import annotations

import pytest

from napari_dvp.cli import main
from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.lmd.leica_xml import read_leica_xml
from napari_dvp.core.project import load_project

HEAD = ("<ImageData><GlobalCoordinates>1</GlobalCoordinates>"
        + "".join(f"<X_CalibrationPoint_{i}>{i}</X_CalibrationPoint_{i}>"
                  f"<Y_CalibrationPoint_{i}>{i}</Y_CalibrationPoint_{i}>" for i in (1, 2, 3))
        + "<ShapeCount>1</ShapeCount>")


def _xml(tmp_path, shape: str):
    path = tmp_path / "cut.xml"
    path.write_text(HEAD + f"<Shape_1>{shape}</Shape_1></ImageData>")
    return path


def test_repeated_point_tags_are_refused_not_read_as_points_at_zero(tmp_path):
    n = 20_000  # the file had 2M <X_1>: a 1M-point shape at (0, 0)
    path = _xml(tmp_path, f"<PointCount>{n}</PointCount>" + "<X_1>5</X_1><Y_1>5</Y_1>" * n)
    with pytest.raises(DvpInputError, match=r"gives X_1 20000 times .* export it again"):
        read_leica_xml(path)


def test_a_well_formed_shape_still_reads(tmp_path):
    pts = "".join(f"<X_{k}>{10 * k}</X_{k}><Y_{k}>{k}</Y_{k}>" for k in (1, 2, 3))
    xml = read_leica_xml(_xml(tmp_path, f"<PointCount>3</PointCount>{pts}"))
    assert xml.shapes[0].tolist() == [[10, 1], [20, 2], [30, 3]]


def test_deeply_nested_project_index_is_refused_with_one_line(tmp_path, capsys):
    folder = tmp_path / "proj"
    folder.mkdir()
    index = folder / "project.json"
    index.write_text('{"format": "napari-dvp project", "files": ' + "[" * 100_000
                     + "]" * 100_000 + "}")
    before = index.read_bytes()
    with pytest.raises(DvpInputError, match="damaged"):
        load_project(folder)
    assert main(["project", "check", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "damaged" in err[0]
    assert index.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == [
        "project.json"]
