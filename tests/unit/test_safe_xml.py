"""Safe XML and safe paths.

* Every XML napari-dvp parses goes through :mod:`defusedxml`: entity bombs and
  external entities are refused at once (no expansion, no file read).
* OME-XML inside a TIFF is parsed by tifffile (expat, with its amplification
  limits) and by :func:`napari_dvp.core.slide._meta.ome_info` (defusedxml):
  a bomb there neither hangs nor crashes opening the image.
* LMD exports stay inside the chosen folder whatever the sample, well or file
  names say, and names are escaped in the XML.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from defusedxml import ElementTree as SafeET

from napari_dvp.core.errors import DvpInputError

from ._lmd_synth import make_tissue

SRC = Path(__file__).resolve().parents[2] / "src" / "napari_dvp"
BOMB_DTD = """<!DOCTYPE {root} [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
]>"""


def test_no_xml_parser_but_defusedxml_in_the_package():
    unsafe = re.compile(r"^\s*(from|import)\s+(xml\.etree|xml\.dom|xml\.sax(?!\.saxutils)|lxml"
                        r"|xml\.parsers)", re.MULTILINE)
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if unsafe.search(p.read_text(encoding="utf-8"))]
    assert offenders == [], f"parse XML with defusedxml in {offenders}"


def _lmd_doc(dtd: str, cap: str) -> str:
    cal = "".join(f"<{a}_CalibrationPoint_{i}>{v}</{a}_CalibrationPoint_{i}>"
                  for i, (x, y) in enumerate([(0, 0), (1000, 0), (0, 1000)], 1)
                  for a, v in (("X", x), ("Y", y)))
    return (f"<?xml version='1.0'?>\n{dtd}\n<ImageData>{cal}<ShapeCount>1</ShapeCount>"
            f"<Shape_1><PointCount>1</PointCount><CapID>{cap}</CapID><X_1>0</X_1><Y_1>0</Y_1>"
            "</Shape_1></ImageData>")


@pytest.mark.parametrize("reader", ["core", "napari"])
def test_billion_laughs_refused_without_expansion(tmp_path, reader, monkeypatch):
    from napari_dvp._lmd_reader import napari_get_reader
    from napari_dvp.core.lmd.leica_xml import read_leica_xml

    path = tmp_path / "bomb.xml"
    path.write_text(_lmd_doc(BOMB_DTD.format(root="ImageData"), "&f;"))
    t0 = time.perf_counter()
    if reader == "core":
        with pytest.raises(DvpInputError, match="entities") as info:
            read_leica_xml(path)
        assert "aaaa" not in str(info.value) and len(str(info.value)) < 300
    else:
        shown = []
        import napari_dvp._onto_slide as onto

        # the reader reports one error (a napari notification) and adds no layer
        monkeypatch.setattr(onto, "report_error",
                            lambda _path, message: shown.append(message) or onto.NOTHING)
        assert napari_get_reader(str(path))(str(path)) == onto.NOTHING
        assert len(shown) == 1 and "entities" in shown[0]
    assert time.perf_counter() - t0 < 10.0  # a guard against a hang, not a speed target


def test_external_entity_not_read(tmp_path):
    from napari_dvp.core.lmd.leica_xml import read_leica_xml

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    path = tmp_path / "xxe.xml"
    path.write_text(_lmd_doc(f'<!DOCTYPE ImageData [<!ENTITY s SYSTEM "{secret.as_uri()}">]>',
                             "&s;"))
    with pytest.raises(DvpInputError, match=r"external|entities") as info:
        read_leica_xml(path)
    assert "TOP-SECRET" not in str(info.value)


def test_ome_xml_bomb_in_a_tiff_neither_hangs_nor_expands(tmp_path):
    from napari_dvp.core.slide import open_image
    from napari_dvp.core.slide._meta import ome_info

    ome = ('<?xml version="1.0" encoding="UTF-8"?>\n' + BOMB_DTD.format(root="OME") +
           '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0">'
           '<Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" SizeX="32" SizeY="32" '
           'SizeC="1" SizeZ="1" SizeT="1" PhysicalSizeX="0.5"><Channel ID="Channel:0:0" '
           'Name="&f;"/><TiffData/></Pixels></Image></OME>')
    t0 = time.perf_counter()
    assert ome_info(ome) == ([], None)  # defusedxml refuses; the caller falls back to defaults
    path = tmp_path / "bomb.ome.tif"
    tifffile.imwrite(path, np.zeros((32, 32), np.uint16), description=ome, metadata=None)
    try:
        with open_image(path) as img:
            assert all(len(n) < 100 for n in img.channel_names)
    except DvpInputError as exc:
        assert len(str(exc)) < 300
    assert time.perf_counter() - t0 < 10.0  # a guard against a hang, not a speed target


@pytest.fixture(scope="module")
def tissue():
    labels, _ = make_tissue(120)
    return labels


@pytest.mark.parametrize("fmt", ["leica", "palm"])
def test_export_stays_in_its_folder_and_escapes_names(tmp_path, tissue, fmt):
    from napari_dvp.core.lmd import Calibration, ExportOptions, export_lmd, plan_from_table
    from napari_dvp.core.lmd.leica_xml import read_leica_xml

    evil = ["../../etc/x", "<&>\"'", "/abs/olute", "..\\win\\x"]
    sel = pd.DataFrame({"cell_id": [1, 2, 3, 4], "sample": evil})
    ids = np.unique(tissue)
    plan = plan_from_table(sel, label_ids=ids[ids > 0])
    out = tmp_path / "deep" / "export"
    before = {p for p in tmp_path.rglob("*")}
    marks = np.array([[2.0, 2.0], [2.0, 117.0], [117.0, 60.0]])
    # PALM writes absolute stage µm: the marks' stage positions (here a plain shift)
    cal = Calibration(marks, 0.5, stage_um=(marks[:, ::-1] * 0.5 + 1000.0
                                            if fmt == "palm" else None))
    opts = ExportOptions(fmt=fmt, plate="custom", custom_wells=("<&>", "A\"1", "../w", "B'2"),
                         qc_png=False)
    res = export_lmd(tissue, plan, cal, out, opts)
    new = {p for p in tmp_path.rglob("*")} - before
    assert new and all(out == p or out in p.parents or p in out.parents for p in new), new
    manifest = pd.read_csv(res.manifest_path, dtype=str, keep_default_na=False)
    assert sorted(manifest["sample_id"]) == sorted(evil)
    assert set(manifest["well"]) == {"<&>", "A\"1", "../w", "B'2"}
    if fmt == "leica":
        SafeET.parse(str(res.shapes_path))  # well-formed despite "<&>" in the names
        xml = read_leica_xml(res.shapes_path)
        assert set(xml.wells) == {"<&>", "A\"1", "../w", "B'2"}


def test_export_file_name_cannot_leave_the_folder(tmp_path, tissue):
    from napari_dvp.core.lmd import Calibration, ExportOptions, export_lmd, plan_from_table

    plan = plan_from_table(pd.DataFrame({"cell_id": [1], "sample": ["s"]}),
                           label_ids=np.unique(tissue)[1:])
    out = tmp_path / "export"
    cal = Calibration(np.array([[2.0, 2.0], [2.0, 117.0], [117.0, 60.0]]), 0.5)
    try:
        res = export_lmd(tissue, plan, cal, out, ExportOptions(name="../../escaped"))
    except DvpInputError:
        pass
    else:
        assert out in res.shapes_path.resolve().parents
    assert not list(tmp_path.parent.glob("escaped*")) and not list(tmp_path.glob("escaped*"))
