"""Every option that a dock shows too takes its default, range and help from the core's
parameter dataclass (issue 14: "every default appears once").

The dock builds its form from the same dataclasses (``_qt/_forms.ParamsForm``), so an
equal default here means the command line and the dock cannot drift apart.
"""

from __future__ import annotations

import argparse

import pytest

from napari_dvp.cli import build_parser, main
from napari_dvp.commands import export_lmd, proteins, score, stats
from napari_dvp.core.lmd.options import CutParams, RegionParams, WellParams
from napari_dvp.core.params import param_fields
from napari_dvp.core.proteomics.options import ProcessOptions, ReadOptions


def _parser(module) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser


def _defaults(module) -> dict:
    return {a.dest: a.default for a in _parser(module)._actions}


@pytest.mark.parametrize(("module", "classes"), [
    (export_lmd, (RegionParams, WellParams, CutParams)),
    (proteins, (ReadOptions,)),
    (score, (ReadOptions,)),
])
def test_cli_defaults_are_the_dataclass_defaults(module, classes):
    defaults = _defaults(module)
    for cls in classes:
        for f, info in param_fields(cls):
            if info.flag == "" or f.name == "aggregate":  # --aggregate top3: a CLI spelling
                continue
            assert defaults[f.name] == f.default, (module.__name__, f.name)


@pytest.mark.parametrize("module", [score, stats])
def test_processing_options_follow_the_dock(module):
    defaults = _defaults(module)
    assert defaults["normalise"] == ProcessOptions.normalise
    assert defaults["valid_mode"] == ProcessOptions.valid_mode
    assert defaults["valid_groups"] == ProcessOptions.valid_groups
    assert defaults["impute"] == ProcessOptions.impute
    assert defaults["min_valid"] == pytest.approx(ProcessOptions.min_valid_pct / 100)
    if module is score:
        assert defaults["min_members"] == ProcessOptions.min_members


def test_export_lmd_without_options_builds_the_docks_default_export():
    """The options a bare command line gives are the dock's untouched form."""
    from napari_dvp.commands._params import params_from_args

    args = _parser(export_lmd).parse_args(["--out", "x"])
    wells, cut = params_from_args(WellParams, args), params_from_args(CutParams, args)
    assert wells == WellParams() and cut == CutParams()
    assert params_from_args(RegionParams, args) == RegionParams()
    assert cut.options(wells) == CutParams().options(WellParams())


@pytest.mark.parametrize(("option", "message"), [
    (("--dilate-um", "101"), "argument --dilate-um: 101 is outside [0, 100]"),
    (("--max-loss", "-1"), "argument --max-loss: -1 is outside [0, 100]"),
    (("--fill-order", "diagonal"), "argument --fill-order: invalid choice"),
])
def test_ranges_of_the_dataclass_are_checked_while_parsing(option, message, capsys, tmp_path):
    rc = main(["export-lmd", "--labels", "l.tif", "--selection", "s.csv", "--calibration",
               "1,1;1,9;9,5", "--out", str(tmp_path / "o"), *option])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_every_help_text_formats():
    """Help texts with '%' (units, 'N %') are escaped for argparse."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        assert p.format_help(), name
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for inner in a.choices.values():
                    assert inner.format_help()
