"""Property-based tests of the parsers: any input gives a valid result or a DvpInputError.

Never another exception, never a multi-line message. Examples are kept few
(the whole file runs in well under 30 s on a loaded machine).
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_dvp.core.errors import DvpInputError

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _one_line(exc: DvpInputError) -> None:
    assert "\n" not in str(exc) and str(exc).strip()


# ----------------------------------------------------------------------------- GeoJSON
_numbers = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True))
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), _numbers, st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=6), children, max_size=4)),
    max_leaves=20)
_ring = st.lists(st.tuples(_numbers, _numbers).map(list), min_size=0, max_size=6)
_geometry = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["Polygon", "MultiPolygon", "Hexagon"]),
                           "coordinates": st.lists(_ring, max_size=2)}),
    st.fixed_dictionaries({"type": st.sampled_from(["Point", "LineString", "MultiPoint"]),
                           "coordinates": st.one_of(_ring, st.tuples(_numbers, _numbers)
                                                    .map(list))}),
    _json)
_feature = st.fixed_dictionaries(
    {"type": st.sampled_from(["Feature", "Feature", "feature"]), "geometry": _geometry,
     "properties": st.one_of(st.none(), _json, st.fixed_dictionaries({
         "objectType": st.sampled_from(["annotation", "detection", "cell", 3]),
         "classification": st.one_of(_json, st.fixed_dictionaries({
             "name": st.text(max_size=10), "color": st.one_of(_json, st.lists(
                 st.integers(-5, 300), min_size=3, max_size=3))}))}))})
_collection = st.one_of(
    _json, st.fixed_dictionaries({"type": st.just("FeatureCollection"),
                                  "features": st.one_of(st.lists(_feature, max_size=4), _json)}),
    st.lists(_feature, max_size=4), _feature)


@FAST
@given(obj=_collection, shape=st.one_of(st.none(), st.tuples(st.integers(1, 500),
                                                             st.integers(1, 500))))
def test_geojson_parse_any_json(obj, shape):
    from napari_dvp.core.geojson import GeoJsonWarning, parse_geojson

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoJsonWarning)
        try:
            feats = parse_geojson(obj, image_shape=shape)
        except DvpInputError as exc:
            _one_line(exc)
            return
    for f in feats:
        assert np.isfinite(np.asarray(f.geometry.bounds)).all()
        assert isinstance(f.class_name, str) and isinstance(f.object_type, str)


# ----------------------------------------------------------------------------- GMT
_gmt_text = st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                                      max_size=8), max_size=6).map("\t".join),
                     max_size=6).map("\n".join)


@FAST
@given(text=st.one_of(_gmt_text, st.text(max_size=200)))
def test_gmt_parse_any_text(text):
    from napari_dvp.core.proteomics.genesets import parse_gmt

    try:
        sets = parse_gmt(text)
    except DvpInputError as exc:
        _one_line(exc)
        return
    assert sets and all(s.genes for s in sets.values())
    assert all(g == g.upper() and g for s in sets.values() for g in s.genes)


# ----------------------------------------------------------------------------- LMD XML
_xml_value = st.one_of(st.integers(-10**7, 10**7).map(str), st.text(max_size=6),
                       st.sampled_from(["NaN", "inf", "-1e999", "1.5", "", " 7 ", "0x10"]))


@st.composite
def _lmd_xml(draw) -> bytes:
    parts = ["<?xml version='1.0' encoding='UTF-8'?>", "<ImageData>"]
    for i in range(1, draw(st.integers(0, 4)) + 1):
        for axis in "XY":
            parts.append(f"<{axis}_CalibrationPoint_{i}>{_esc(draw(_xml_value))}"
                         f"</{axis}_CalibrationPoint_{i}>")
    for n in range(1, draw(st.integers(0, 3)) + 1):
        parts.append(f"<Shape_{n}><PointCount>{_esc(draw(_xml_value))}</PointCount>"
                     f"<CapID>{_esc(draw(st.text(max_size=5)))}</CapID>")
        for k in range(1, draw(st.integers(0, 5)) + 1):
            parts.append(f"<X_{k}>{_esc(draw(_xml_value))}</X_{k}>"
                         f"<Y_{k}>{_esc(draw(_xml_value))}</Y_{k}>")
        parts.append(f"</Shape_{n}>")
    parts.append("</ImageData>")
    text = "".join(parts)
    cut = draw(st.one_of(st.none(), st.integers(0, len(text))))
    return text[:cut].encode("utf-8", errors="replace") if cut is not None else \
        text.encode("utf-8", errors="replace")


def _esc(s: str) -> str:
    from xml.sax.saxutils import escape

    return escape("".join(c for c in s if c.isprintable()))


@FAST
@given(data=st.one_of(_lmd_xml(), st.binary(max_size=300)))
def test_lmd_xml_any_bytes(data):
    from napari_dvp.core.lmd.leica_xml import read_leica_xml

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shapes.xml"
        path.write_bytes(data)
        try:
            xml = read_leica_xml(path)
        except DvpInputError as exc:
            _one_line(exc)
            return
    assert xml.calibration_xy.shape == (3, 2)
    assert len(xml.shapes) == len(xml.wells)
    assert all(s.ndim == 2 and s.shape[1] == 2 for s in xml.shapes)


# ----------------------------------------------------------------------------- proteomics
_cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.integers(-5, 10**9).map(str), st.text(alphabet="abcXYZ;,.- \"", max_size=5),
                  st.sampled_from(["", "NaN", "Filtered", "0", "1,5", "inf"]))
_header = st.lists(st.one_of(st.sampled_from(["Protein.Group", "Genes", "pg", "protein", "gene",
                                              "PG.ProteinGroups", "R.FileName", "PG.Quantity",
                                              "Run", "PG.MaxLFQ", "Q.Value", "run1", "run2",
                                              "S1.PG.Quantity", "Protein ID", "A Intensity"]),
                             st.text(alphabet="abcdef_ .", min_size=1, max_size=6)),
                   min_size=1, max_size=5)


@st.composite
def _table(draw) -> str:
    header = draw(_header)
    sep = draw(st.sampled_from(["\t", ",", ";"]))
    rows = draw(st.lists(st.lists(_cell, min_size=len(header), max_size=len(header) + 1),
                         max_size=5))
    return "\n".join(sep.join(r) for r in [header, *rows]) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(_table(), st.text(max_size=120)))
def test_proteomics_reader_any_tsv(text):
    from napari_dvp.core.proteomics.readers import read_proteomics

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.tsv"
        path.write_text(text, encoding="utf-8")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (FutureWarning, RuntimeWarning))
                adata = read_proteomics(path)
        except DvpInputError as exc:
            _one_line(exc)
            return
    x = np.asarray(adata.X, dtype=float)
    assert x.shape == (adata.n_obs, adata.n_vars) and adata.n_obs >= 1
    assert not np.isinf(x).any()
    assert (np.isnan(x) | (x > 0)).all() or adata.uns["log2"]["input_is_log2"]
    assert adata.obs_names.is_unique and adata.var_names.is_unique


# ----------------------------------------------------------------------------- calibration
@FAST
@given(text=st.one_of(
    st.text(max_size=40),
    st.lists(st.tuples(_numbers, _numbers).map(lambda t: f"{t[0]},{t[1]}"), max_size=4)
    .map(";".join)))
def test_calibration_string(text):
    from napari_dvp.core.lmd.calibration import check_marks, parse_marks

    try:
        marks = parse_marks(text)
        check_marks(marks, (1000, 1000))
    except DvpInputError as exc:
        _one_line(exc)
        return
    assert marks.shape == (3, 2) and np.isfinite(marks).all()


# ----------------------------------------------------------------------------- wells
@FAST
@given(token=st.one_of(st.text(max_size=6), st.from_regex(r"[A-Za-z]0*[0-9]{1,3}",
                                                             fullmatch=True)))
def test_well_names(token):
    from napari_dvp.core.lmd.collectors import assign_wells, make_collector
    from napari_dvp.core.proteomics.matching import normalise_well

    well = normalise_well(token)
    if well is not None:
        assert well[0] in "ABCDEFGHIJKLMNOP" and 1 <= int(well[1:]) <= 24
        assert normalise_well(well) == well
    collector = make_collector("384")
    try:
        out = assign_wells(["s1"], collector, {"s1": token})
    except DvpInputError as exc:
        _one_line(exc)
        return
    assert out["s1"] in collector.all_wells


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nan_thresholds_never_reach_gating(value, tmp_path):
    import json

    from napari_dvp.core.classes.gating import load_gating

    path = tmp_path / "g.json"
    path.write_text(json.dumps({"rules": [{"name": "T", "rule": "CD8+"}],
                                "thresholds": {"CD8": value}}))
    with pytest.raises(DvpInputError, match="finite"):
        load_gating(path)
