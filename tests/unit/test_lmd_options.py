"""The LMD dock's parameter dataclasses: defaults equal the core's, conversions, ranges."""

from __future__ import annotations

import dataclasses

import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.lmd import ExportOptions, PlanOptions
from napari_dvp.core.lmd.options import CutParams, PlanParams, RegionParams, WellParams


def test_defaults_are_the_core_defaults():
    core = ExportOptions()
    made = CutParams().options(WellParams())
    for f in dataclasses.fields(ExportOptions):
        assert getattr(made, f.name) == getattr(core, f.name), f.name
    assert PlanParams().options() == PlanOptions()
    assert RegionParams().max_piece_um2 == 0.0  # the CLI's --max-piece-um2 default


def test_conversions():
    opts = PlanParams(target_cells=12, replicates=3, mode="contiguous").options()
    assert (opts.target_cells, opts.target_area_um2, opts.replicates) == (12, None, 3)
    wells = WellParams(plate="96", skip_outer=True, every_other=True)
    assert wells.collector().wells[:3] == ("B2", "B4", "B6")
    custom = WellParams(custom_wells=("c3", "A1"))
    assert custom.collector().wells == ("C3", "A1")
    made = CutParams(fmt="palm", max_loss_percent=10).options(custom, accept_loss=True)
    assert (made.plate, made.custom_wells, made.max_loss, made.accept_loss) == (
        "custom", ("C3", "A1"), 0.1, True)


@pytest.mark.parametrize("bad", [{"dilate_um": -1.0}, {"max_loss_percent": 101.0},
                                 {"fmt": "zeiss"}, {"max_intrusion_um": float("nan")}])
def test_out_of_range_is_refused(bad):
    with pytest.raises(DvpInputError):
        CutParams(**bad)


def test_export_folder_policy(tmp_path):
    from napari_dvp.core.atomic import write_marker
    from napari_dvp.core.lmd.export_job import asks_overwrite

    assert asks_overwrite(tmp_path / "new") is False  # new
    (tmp_path / "empty").mkdir()
    assert asks_overwrite(tmp_path / "empty") is False  # empty
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "manifest.csv").write_text("x")
    write_marker(tmp_path / "ours")
    assert asks_overwrite(tmp_path / "ours") is True  # an earlier export: ask
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(DvpInputError, match="did not write"):
        asks_overwrite(tmp_path / "mine")
    label = tmp_path / "labels.tif"
    label.write_bytes(b"x")
    with pytest.raises(DvpInputError, match="input"):
        asks_overwrite(tmp_path, [label])
