"""Marker gating: rule parsing, vectorised application, thresholds, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.classes.gating import (
    GateRule,
    GatingScheme,
    apply_gating,
    compile_rule,
    default_thresholds,
    gate_codes,
    load_gating,
    parse_rules,
    save_gating,
)
from napari_dvp.core.errors import DvpInputError

from ._classes_data import make_tissue

RULES = """
# class: rule
keratinocyte: panCK+
CD8 T cell: CD8+ and panCK-
macrophage: CD163+ and not CD8+
fibroblast: panCK- and CD8- and CD163-
"""


def test_parse_rules():
    rules = parse_rules(RULES)
    assert [r.name for r in rules] == ["keratinocyte", "CD8 T cell", "macrophage", "fibroblast"]
    assert rules[1].markers() == ["CD8", "panCK"]
    assert compile_rule("(CD8+ or CD163+) and panCK−") == (
        "and", ("or", ("marker", "CD8", True), ("marker", "CD163", True)),
        ("marker", "panCK", False))


@pytest.mark.parametrize("bad", ["panCK", "CD8+ and", "(CD8+", "CD8+ CD163+", "", "and CD8+"])
def test_bad_rules(bad):
    with pytest.raises(DvpInputError):
        compile_rule(bad)


def test_rule_line_without_colon():
    with pytest.raises(DvpInputError, match="no ':'"):
        parse_rules("keratinocyte panCK+")


def test_first_matching_rule_wins():
    t = pd.DataFrame({"cell_id": [1, 2, 3, 4], "mean_A": [10, 10, 0, 0],
                      "mean_B": [10, 0, 10, 0]})
    s = GatingScheme([GateRule("ab", "A+ and B+"), GateRule("a", "A+"), GateRule("b", "B+")],
                     {"A": 5, "B": 5})
    assert apply_gating(t, s).tolist() == ["ab", "a", "b", ""]
    assert gate_codes(t, s).tolist() == [1, 2, 3, 0]
    s.thresholds["A"] = 10  # strictly above: 10 is not positive
    assert apply_gating(t, s).tolist() == ["b", "", "b", ""]


def test_gating_recovers_true_classes():
    _, _, table, truth, _ = make_tissue()
    rules = parse_rules(RULES)
    thr = default_thresholds(table, ["panCK", "CD8", "CD163"])
    for m, v in thr.items():  # Otsu lands between the negative (~100) and positive (~800) modes
        assert 150 < v < 600, (m, v)
    got = apply_gating(table, GatingScheme(rules, thr))
    acc = {}
    for cls in rules:
        sel = truth["true_class"] == cls.name
        acc[cls.name] = (got[sel] == cls.name).mean()
    print("gating accuracy per class:", {k: round(v, 3) for k, v in acc.items()})
    assert min(acc.values()) > 0.97


def test_unknown_marker_and_missing_threshold():
    t = pd.DataFrame({"cell_id": [1], "mean_CD8": [1.0]})
    with pytest.raises(DvpInputError, match=r"unknown marker 'CD4'.*CD8"):
        apply_gating(t, GatingScheme([GateRule("x", "CD4+")], {"CD4": 1}))
    with pytest.raises(DvpInputError, match="no threshold for marker 'CD8'"):
        apply_gating(t, GatingScheme([GateRule("x", "CD8+")], {}))


def test_median_statistic():
    t = pd.DataFrame({"cell_id": [1, 2], "mean_CD8": [0.0, 0.0], "median_CD8": [9.0, 0.0]})
    s = GatingScheme([GateRule("T", "CD8+")], {"CD8": 1}, statistic="median")
    assert apply_gating(t, s).tolist() == ["T", ""]


def test_save_load_roundtrip(tmp_path):
    s = GatingScheme(parse_rules(RULES), {"panCK": 300.5, "CD8": 250, "CD163": 400})
    s.rules[0].color = (1, 2, 3)
    p = tmp_path / "rules.json"
    save_gating(p, s)
    back = load_gating(p)
    assert back.to_dict() == s.to_dict()
    assert json.loads(p.read_text())["format"] == "napari-dvp gating"


def test_load_bad_files(tmp_path):
    (tmp_path / "a.json").write_text("{nope")
    with pytest.raises(DvpInputError, match="not a gating JSON"):
        load_gating(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"x": 1}')
    with pytest.raises(DvpInputError, match="not a gating file"):
        load_gating(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"rules": [{"name": "a", "rule": "CD8"}]}')
    with pytest.raises(DvpInputError, match="CD8"):
        load_gating(tmp_path / "c.json")
    with pytest.raises(DvpInputError, match="not found"):
        load_gating(tmp_path / "missing.json")


def test_many_cells_vectorised():
    """Rules over many cells in one pass (speed: bench/bench_class_overlay.py)."""
    rng = np.random.default_rng(1)
    n = 100_000
    t = pd.DataFrame({"cell_id": np.arange(1, n + 1), **{
        f"mean_{m}": rng.random(n) for m in ("panCK", "CD8", "CD163")}})
    s = GatingScheme(parse_rules(RULES), {"panCK": .5, "CD8": .5, "CD163": .5})
    codes = gate_codes(t, s)
    assert set(np.unique(codes)) <= {0, 1, 2, 3, 4}
    # every cell meets exactly one of the (exhaustive) rules
    assert (codes > 0).all()
    ker = t["mean_panCK"].to_numpy() > .5
    assert (codes[ker] == 1).all() and not (codes[~ker] == 1).any()


def test_scheme_parameters_checked_once():
    """statistic is a declared parameter; NaN thresholds are refused at construction."""
    from napari_dvp.core.params import param_fields

    (f, info), = [(f, i) for f, i in param_fields(GatingScheme)]
    assert f.name == "statistic" and info.choices == ("mean", "median")
    with pytest.raises(DvpInputError, match=r"statistic.*'max'"):
        GatingScheme(statistic="max")
    with pytest.raises(DvpInputError, match=r"CD8.*finite"):
        GatingScheme(thresholds={"CD8": float("nan")})


def test_load_gating_of_a_folder_is_one_line(tmp_path):
    """A folder picked instead of a file: DvpInputError, not IsADirectoryError."""
    import pytest

    from napari_dvp.core.classes.gating import load_gating
    from napari_dvp.core.errors import DvpInputError

    with pytest.raises(DvpInputError, match="cannot read gating file"):
        load_gating(tmp_path)
