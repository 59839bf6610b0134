"""``napari-dvp segment`` end to end on a small OME-TIFF (real files, real writers)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_dvp.cli import main
from napari_dvp.core.segmentation import pipeline
from napari_dvp.core.segmentation.metrics import match_labels
from napari_dvp.core.slide import open_labels, write_ome_tiff

from .test_segmentation_builtin import grid_of_cells


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    image, truth = grid_of_cells(400, seed=5)
    path = tmp_path_factory.mktemp("seg") / "cells.ome.tif"
    write_ome_tiff(path, image.clip(0, 65535).astype(np.uint16),
                   channel_names=["Hoechst 33342", "pan-cytokeratin"], pixel_size_um=0.5)
    return path, truth


def segment(image, out, *extra):
    return main(["segment", str(image), "--out", str(out), "--tile-size", "128",
                 "--diameter-um", "7", "--expansion-um", "3", *extra])


@pytest.mark.parametrize("suffix", [".tif", ".zarr"])
def test_segment_writes_labels_with_pixel_size(image_file, tmp_path, capsys, suffix):
    image, truth = image_file
    out = tmp_path / f"labels{suffix}"
    assert segment(image, out) == 0
    err = capsys.readouterr().err
    assert "16/16 tiles" in err and "Hoechst 33342, pan-cytokeratin" in err
    labels, pixel = open_labels(out)
    assert pixel == 0.5 and labels.shape == truth.shape
    assert match_labels(np.asarray(labels), truth).f1 > 0.95
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_big_tif_goes_through_a_temporary_zarr(image_file, tmp_path, monkeypatch):
    image, truth = image_file
    monkeypatch.setattr(pipeline, "IN_MEMORY_PIXELS", 1000)
    out = tmp_path / "labels.ome.tif"
    assert segment(image, out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # staging removed
    assert match_labels(np.asarray(open_labels(out)[0]), truth).f1 > 0.95


def test_bad_inputs_exit_2_and_write_nothing(image_file, tmp_path, capsys):
    image, _ = image_file
    out = tmp_path / "labels.tif"
    assert segment(image, out, "--nuclear-channel", "DAPI") == 2
    assert "no channel 'DAPI'; it has Hoechst 33342, pan-cytokeratin" in capsys.readouterr().err
    assert segment(image, tmp_path / "labels.png") == 2
    assert main(["segment", str(image), "--out", str(out), "--backend", "cellpose",
                 "--model", str(tmp_path / "x.pth")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert segment(image, out, "--workers", "-1") == 2
    assert "--workers: -1 is outside [0, 64]" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_guess_channels():
    assert pipeline.guess_channels(["DAPI", "panCK", "CD8"]) == ("DAPI", "panCK")
    assert pipeline.guess_channels(["CD8", "Hoechst"]) == ("Hoechst", None)
    assert pipeline.guess_channels(["a", "b"]) == ("a", None)


@pytest.mark.slow
def test_segment_on_a_local_cluster(image_file, tmp_path, capsys):
    image, truth = image_file
    out = tmp_path / "labels.zarr"
    assert segment(image, out, "--workers", "1") == 0
    assert match_labels(np.asarray(open_labels(out)[0]), truth).f1 > 0.95


def test_pixel_size_by_the_one_rule_in_one_line(image_file, tmp_path, capsys):
    image, _ = image_file
    assert segment(image, tmp_path / "a.tif") == 0
    err = capsys.readouterr().err
    assert "napari-dvp segment: pixel size 0.5 µm (from cells.ome.tif)" in err
    assert "assum" not in err
    assert segment(image, tmp_path / "b.tif", "--pixel-size-um", "0.4") == 0
    assert "pixel size 0.4 µm (set by you)" in capsys.readouterr().err
    assert open_labels(tmp_path / "b.tif")[1] == 0.4


@pytest.mark.parametrize("option", [
    ("--diameter-um", "nan"), ("--expansion-um", "inf"), ("--pixel-size-um", "1e400"),
    ("--tile-size", "1.5"), ("--flow-threshold", "x"),
])
def test_numbers_are_strict(image_file, tmp_path, option, capsys):
    image, _ = image_file
    # argparse refuses it before anything runs: exit 2, one line naming the option
    assert segment(image, tmp_path / "labels.tif", *option) == 2
    err = capsys.readouterr().err
    assert option[0] in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "labels.tif").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("option", "message"), [
    (("--pixel-size-um", "0"), "--pixel-size-um: 0 is outside (0, 1000]"),
    (("--diameter-um", "0"), "--diameter-um: 0 is outside [1, 100]"),
    (("--expansion-um", "-1"), "--expansion-um: -1 is outside [0, 50]"),
    (("--tile-size", "64"), "--tile-size: 64 is outside [128, 8192]"),
    (("--flow-threshold", "0.8"), "--flow-threshold: option(s) of the other method"),
    (("--overlap", "-3"), "--overlap: -3 is outside [0, 4096]"),
])
def test_out_of_range_values_exit_2_with_one_line(image_file, tmp_path, option, message, capsys):
    image, _ = image_file
    assert segment(image, tmp_path / "labels.tif", *option) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) <= 2
    assert list(tmp_path.iterdir()) == []


def test_every_option_default_lives_on_the_params():
    import argparse

    from napari_dvp.commands import segment as command
    from napari_dvp.core.params import param_fields
    from napari_dvp.core.segmentation.params import BuiltinParams, CellposeParams, SegmentParams

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    defaults = {a.dest: a.default for a in parser._actions}
    for cls in (SegmentParams, BuiltinParams, CellposeParams):
        for f, info in param_fields(cls):
            if info.flag != "":
                assert defaults[f.name] == f.default, f.name
