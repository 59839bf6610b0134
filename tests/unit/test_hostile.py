"""The hostile corpus of issue 16: attacks and careless mistakes, one command each.

Every case builds its files in a fresh folder, runs ``napari_dvp.cli.main``
in this process, and asserts:

* the exit code (2 for anything the user must fix, 130 for an interrupt);
* exactly one line on stderr that matches the case's expectation;
* that no file outside the case's declared outputs changed: the whole folder
  (hidden files included) is hashed before and after; a refused command
  changes nothing at all (no output, no temporary, no created folder).

Cases that need a real signal or a crash are in ``test_hostile_signals.py``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_dvp.cli import main

from . import _hostile as h

CAL = "2,2;2,250;250,120"


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """The synthetic 256² sample every case copies from (written once)."""
    from napari_dvp.core.synthetic import write_sample

    root = tmp_path_factory.mktemp("hostile-src")
    write_sample(root / "s.ome.tif", size=256, seed=0)
    return root


@dataclass
class Case:
    """One hostile case: build files, run a command, expect a code and a line."""

    build: Callable[[Path, Path], list[str]]  #: (folder, src) -> argv
    rc: int
    message: str  #: regular expression the stderr line must match (case-insensitive)
    outputs: tuple[str, ...] = ()  #: paths (relative to the folder) allowed to change
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Path], None] | None = None  #: extra assertions after the run


def _lmd(folder: Path, src: Path, *extra: str, labels: str = "s_labels.tif",
         sel: str = "selection.csv", out: str = "lmd") -> list[str]:
    return ["export-lmd", "--labels", str(folder / labels), "--selection", str(folder / sel),
            "--calibration", CAL, "--out", str(folder / out), "--pixel-size-um", "0.5", *extra]


def _sample_lmd(folder: Path, src: Path, *extra: str, **kw) -> list[str]:
    h.sample(folder, src)
    h.selection(folder, src)
    return _lmd(folder, src, *extra, **kw)


def _no_payload(folder: Path) -> None:
    assert not (folder / h.PAYLOAD).exists(), "a pickle ran code"


# ============================================================================ item 1: code
def _classify_clf(clf_builder):
    def build(folder: Path, src: Path) -> list[str]:
        cells = h.cells_table(folder, src)
        clf = clf_builder(folder, src)
        return ["classify", str(cells), "--classifier", str(clf), "-o", str(folder / "o.csv")]
    return build


def _clf_edit(**changes):
    def build(folder: Path, src: Path) -> Path:
        path = h.classifier(folder, src)
        h.edit_npz(path, **changes)
        return path
    return build


CASES: dict[str, Case] = {
    "code/joblib_payload": Case(_classify_clf(lambda f, s: h.evil_joblib(f)), 2,
                                r"evil\.joblib is a pickle.*can run code.*--trust",
                                check=_no_payload),
    "code/pickle0_named_npz": Case(_classify_clf(lambda f, s: h.evil_pickle(f, "p0.npz")), 2,
                                   r"p0\.npz is a pickle", check=_no_payload),
    "code/pickle5_gzip": Case(_classify_clf(lambda f, s: h.evil_pickle(f, "p5.gz", 5, True)),
                              2, r"p5\.gz is a pickle", check=_no_payload),
    "code/npz_object_array": Case(_classify_clf(lambda f, s: h.evil_npz(f)), 2,
                                  r"holds Python objects", check=_no_payload),
    "code/classifier_features_5": Case(_classify_clf(_clf_edit(features=5)), 2,
                                       r"clf\.npz is damaged \(features 5\)"),
    "code/classifier_truncated_arrays": Case(
        _classify_clf(_clf_edit(left=np.zeros(1, np.int64))), 2,
        r"clf\.npz is damaged \(tree offsets do not cover the nodes\)"),
    "code/classifier_child_loop": Case(_classify_clf(lambda f, s: _child_loop(f, s)), 2,
                                       r"damaged \(a child index outside its tree\)"),
    "code/classifier_feature_index": Case(
        _classify_clf(lambda f, s: _feature_out_of_range(f, s)), 2,
        r"damaged \(a feature index out of range\)"),
    "code/classifier_class_tab": Case(_classify_clf(_clf_edit(classes=["lo\tx", "hi"])), 2,
                                      r"class name 'lo\\tx'.*contains a tab"),
}


def _child_loop(folder: Path, src: Path) -> Path:
    path = h.classifier(folder, src)
    with np.load(path) as npz:
        left = npz["left"].copy()
    left[0] = 0  # the root is its own child: a walk that would never end
    h.edit_npz(path, left=left)
    return path


def _feature_out_of_range(folder: Path, src: Path) -> Path:
    path = h.classifier(folder, src)
    with np.load(path) as npz:
        feature = npz["feature"].copy()
    feature[feature >= 0] = 99
    h.edit_npz(path, feature=feature)
    return path


# ============================================================================ item 2: outputs
def _seg(out: str, *extra: str, prepare: Callable[[Path], None] | None = None):
    def build(folder: Path, src: Path) -> list[str]:
        h.sample(folder, src)
        if prepare:
            prepare(folder)
        return ["segment", str(folder / "s.ome.tif"), "--out", str(folder / out), *extra]
    return build


def _user_zarr(folder: Path) -> None:
    z = folder / "existing.zarr"
    z.mkdir()
    (z / "zarr.json").write_text("{}")
    (z / "my_notes.txt").write_text("mine")


def _hardlink(folder: Path) -> None:
    os.link(folder / "s.ome.tif", folder / "alias.ome.tif")


def _symlink(folder: Path) -> None:
    (folder / "link.ome.tif").symlink_to(folder / "s.ome.tif")


def _lmd_out_with_inputs(folder: Path, src: Path) -> list[str]:
    work = folder / "work"
    work.mkdir()
    h.sample(work, src)
    h.selection(work, src)
    return _lmd(work, src, out=".")


def _lmd_out_unknown(folder: Path, src: Path) -> list[str]:
    argv = _sample_lmd(folder, src)
    (folder / "lmd").mkdir()
    (folder / "lmd" / "plate_notes.xlsx").write_text("the operator's notes")
    return [*argv, "--overwrite"]


def _classify_over_input(folder: Path, src: Path) -> list[str]:
    cells = h.cells_table(folder, src)
    (folder / "summary_dir").mkdir()
    return ["classify", str(cells), "--rules", str(h.rules(folder)), "-o", str(cells),
            "--summary", str(folder / "summary_dir")]


def _classify_summary_dir(folder: Path, src: Path) -> list[str]:
    cells = h.cells_table(folder, src)
    (folder / "summary_dir").mkdir()
    return ["classify", str(cells), "--rules", str(h.rules(folder)), "-o",
            str(folder / "new.csv"), "--summary", str(folder / "summary_dir")]


def _score(folder: Path, src: Path, *extra: str, ids=("S1", "S2", "S3", "S4"),
           genes=None) -> list[str]:
    man = h.manifest(folder, src, ids)
    pg = h.pg_matrix(folder, man, genes=genes)
    return ["score", str(pg), "--manifest", str(man), "--out", str(folder / "scores.csv"),
            "--min-coverage", "0.01", *extra]


def _score_h5ad_dir(folder: Path, src: Path) -> list[str]:
    (folder / "h5dir.h5ad").mkdir()
    return _score(folder, src, "--h5ad", str(folder / "h5dir.h5ad"))


def _measure_parent_file(folder: Path, src: Path) -> list[str]:
    h.sample(folder, src)
    return ["measure", str(folder / "s.ome.tif"), str(folder / "s_labels.tif"), "--out",
            str(folder / "s_cells.csv" / "cells.csv")]


def _stale(folder: Path, src: Path) -> list[str]:
    argv = _sample_lmd(folder, src)
    # leftovers of a run that was killed (pid 2**22+1 does not exist on Linux)
    dead = 4194305
    (folder / f".napari-dvp.{dead}-abcdefgh.partial").mkdir()
    (folder / f".napari-dvp.{dead}-abcdefgh.partial" / "lmd").mkdir()
    (folder / f".lmd.{dead}-abcdefgh.partial").mkdir()
    return argv


def _no_stale(folder: Path) -> None:
    left = [p.name for p in folder.iterdir() if ".partial" in p.name]
    assert left == [], left
    assert (folder / "lmd" / "manifest.csv").is_file()


def _replace_own(folder: Path, src: Path) -> list[str]:
    argv = _sample_lmd(folder, src)
    assert main(argv) == 0  # an earlier export, with its marker
    return [*argv, "--overwrite", "--plate", "96"]


def _replaced(folder: Path) -> None:
    import json

    settings = json.loads((folder / "lmd" / "lmd_export.json").read_text())
    assert settings["collector"].startswith("96")


CASES.update({
    "out/segment_over_input": Case(_seg("s.ome.tif"), 2, r"is the input .*s\.ome\.tif"),
    "out/segment_over_input_overwrite": Case(_seg("s.ome.tif", "--overwrite"), 2,
                                             r"never writes over its inputs"),
    "out/segment_over_hardlink": Case(_seg("alias.ome.tif", "--overwrite", prepare=_hardlink),
                                      2, r"is the input"),
    "out/segment_over_symlink": Case(_seg("link.ome.tif", "--overwrite", prepare=_symlink), 2,
                                     r"is the input"),
    "out/segment_existing_zarr_user_files": Case(
        _seg("existing.zarr", "--overwrite", prepare=_user_zarr), 2,
        r"holds 2 file\(s\) napari-dvp did not write"),
    "out/segment_existing_file": Case(_seg("s_regions.geojson.tif", prepare=lambda f: (
        f / "s_regions.geojson.tif").write_text("x")), 2, r"exists; pass --overwrite"),
    "out/segment_into_input_zarr": Case(
        lambda f, s: (h.sample(f, s), _user_zarr(f),
                      ["segment", str(f / "existing.zarr"), "--out",
                       str(f / "existing.zarr" / "x.tif")])[-1], 2,
        r"lies inside the input"),
    "out/export_lmd_dir_holds_inputs": Case(_lmd_out_with_inputs, 2, r"contains the input"),
    "out/export_lmd_dir_unknown_files": Case(_lmd_out_unknown, 2,
                                             r"1 file\(s\) napari-dvp did not write.*plate_notes"),
    "out/classify_over_input_summary_dir": Case(_classify_over_input, 2, r"is the input"),
    "out/classify_summary_is_folder": Case(_classify_summary_dir, 2,
                                           r"--summary .*summary_dir is a folder"),
    "out/classify_same_output_twice": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules", str(h.rules(f)), "-o",
                      str(f / "x.csv"), "--summary", str(f / "x.csv")], 2,
        r"are the same or nested"),
    "out/score_h5ad_is_folder": Case(_score_h5ad_dir, 2, r"h5dir\.h5ad is a folder"),
    "out/measure_parent_is_file": Case(_measure_parent_file, 2,
                                       r"s_cells\.csv is a file, not a folder"),
    "out/regions_over_input": Case(
        lambda f, s: (h.sample(f, s), ["regions", str(h.cells_table(f, s)),
                                       str(f / "s_regions.geojson"), "-o",
                                       str(f / "cells.csv"), "--overwrite"])[-1], 2,
        r"is the input"),
    "out/proteins_over_input": Case(
        lambda f, s: (lambda pg: ["proteins", str(pg), "--out", str(pg), "--overwrite"])(
            h.pg_matrix(f, h.manifest(f, s, ["S1", "S2"]))), 2, r"is the input"),
    "out/sample_over_existing": Case(
        lambda f, s: (h.sample(f, s), ["sample", "--out", str(f / "s.ome.tif"), "--size",
                                       "256"])[-1], 2, r"exists; pass --overwrite"),
    "out/stale_partials_cleaned": Case(_stale, 0, r"^$", outputs=(
        "lmd", ".napari-dvp.4194305-abcdefgh.partial", ".lmd.4194305-abcdefgh.partial"),
        check=_no_stale),
    "out/overwrite_own_export": Case(_replace_own, 0, r"^$", outputs=("lmd",),
                                     check=_replaced),
})


# ============================================================================ item 3: injection
def _lmd_sample_ids(*ids):
    def build(folder: Path, src: Path) -> list[str]:
        h.sample(folder, src)
        h.selection(folder, src, sample_ids=ids)
        return _lmd(folder, src, "--format", "palm")
    return build


def _formula_cells(folder: Path, src: Path) -> list[str]:
    h.sample(folder, src)
    h.cells_table(folder, src, **{"class": lambda n: ["=HYPERLINK(\"http://x\")", "+1+1",
                                                      "@SUM(A1)", "-2+3", "ok"] * (n // 5)
                                  + ["ok"] * (n % 5), "region": "epidermis"})
    return ["classify", str(folder / "cells.csv"), "--rules",
            str(h.rules(folder, "=cmd|' /C calc'!A0: CD8+\nother: CD8-\n")), "-o",
            str(folder / "classes.csv"), "--summary", str(folder / "summary.csv")]


def _formulas_neutralised(folder: Path) -> None:
    text = (folder / "classes.csv").read_text()
    assert "\n=" not in text and ",=" not in text and ",+" not in text and ",@" not in text
    assert ",'=cmd|' /C calc'!A0," in text
    out = pd.read_csv(folder / "classes.csv")
    assert (out["mean_CD8"] < 0).any(), "negative numbers must stay numbers"
    assert "'=cmd|' /C calc'!A0" in (folder / "summary.csv").read_text()
    # napari-dvp reads its own files back unchanged
    from napari_dvp.core.cells.table_io import read_cell_table

    assert "=cmd|' /C calc'!A0" in set(read_cell_table(folder / "classes.csv")["class"])


def _formula_manifest(folder: Path, src: Path) -> list[str]:
    h.sample(folder, src)
    h.cells_table(folder, src, **{"class": "@SUM(1+1)", "region": "=region"})
    h.selection(folder, src, sample_ids=("=A1+1", "-B"))
    return [*_lmd(folder, src), "--cells", str(folder / "cells.csv")]


def _manifest_neutralised(folder: Path) -> None:
    text = (folder / "lmd" / "manifest.csv").read_text()
    assert "'=A1+1" in text and "'-B" in text and "'@SUM(1+1)" in text and "'=region" in text
    from napari_dvp.core.proteomics.matching import read_manifest

    back = read_manifest(folder / "lmd" / "manifest.csv")
    assert set(back["sample_id"]) == {"=A1+1", "-B"}
    assert set(back["class"]) == {"@SUM(1+1)"}


def _formula_scores(folder: Path, src: Path) -> list[str]:
    return _score(folder, src, ids=("=S1", "+S2", "@S3", "S4"))


def _scores_neutralised(folder: Path) -> None:
    for name in ("scores.csv", "scores.matches.csv"):
        text = (folder / name).read_text()
        assert "'=S1" in text and "'+S2" in text and "'@S3" in text, name
        assert not re.search(r"(^|,)[=+@]", text, re.M), name


def _formula_proteins(folder: Path, src: Path) -> list[str]:
    pg = h.pg_matrix(folder, h.manifest(folder, src, ["S1", "S2"]),
                     genes=["=1+2", "@A", "-IFN", "+X"])
    return ["proteins", str(pg), "--out", str(folder / "matrix.csv")]


def _proteins_neutralised(folder: Path) -> None:
    text = (folder / "matrix.csv").read_text()
    assert "'=1+2" in text and "'@A" in text and "'-IFN" in text and "'+X" in text
    assert not re.search(r"(^|,)[=+@]", text, re.M)


CASES.update({
    "inject/palm_sample_id_crlf": Case(_lmd_sample_ids("A\r\nShape 9999", "B"), 2,
                                       r"sample 'A\\r\\nShape 9999'.*contains a carriage "
                                       r"return"),
    "inject/sample_id_tab": Case(_lmd_sample_ids("A\tB", "C"), 2, r"contains a tab"),
    "inject/rules_class_nul": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(h.rules(f, "T\x00cell: CD8+\n")), "-o", str(f / "o.csv")], 2,
        r"not UTF-8 text"),
    "inject/rules_class_bidi": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(h.rules(f, "T\u202ecell: CD8+\n")), "-o", str(f / "o.csv")], 2,
        r"class name .* contains the control character U\+202E"),
    "inject/geojson_class_escape": Case(
        lambda f, s: ["regions", str(h.cells_table(f, s)),
                      str(h.geojson_named(f / "r.geojson", "epi\x1b[31mdermis")), "-o",
                      str(f / "o.csv")], 2, r"contains the control character U\+001B"),
    "inject/cells_region_linebreak": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s, region="epi\u2028dermis")),
                      "--rules", str(h.rules(f)), "-o", str(f / "o.csv")], 2,
        r"region 'epi\\u2028dermis' in cells\.csv \(row 1\)"),
    "inject/classify_formulas": Case(_formula_cells, 0, r"^$",
                                     outputs=("classes.csv", "summary.csv"),
                                     check=_formulas_neutralised),
    "inject/export_lmd_manifest_formulas": Case(_formula_manifest, 0, r"^$", outputs=("lmd",),
                                                check=_manifest_neutralised),
    "inject/score_formulas": Case(_formula_scores, 0, r"^$", outputs=(
        "scores.csv", "scores.coverage.csv", "scores.matches.csv", "scores.members.csv",
        "scores.meta.json"), check=_scores_neutralised),
    "inject/proteins_formulas": Case(_formula_proteins, 0, r"^$",
                                     outputs=("matrix.csv", "matrix.meta.json"),
                                     check=_proteins_neutralised),
})


# ============================================================================ item 4: numbers
CASES.update({
    "numbers/ome_5_planes_sizec_3": Case(
        lambda f, s: ["info", str(h.five_planes_ome(f))], 2,
        r"declares 3 plane\(s\) \(SizeC=3.*holds 5 page\(s\)"),
    "numbers/20000_pages_1x1": Case(lambda f, s: ["info", str(h.many_pages(f))], 2,
                                    r"holds 20000 pages.*does not combine pages"),
    "numbers/600_pages_32x32": Case(
        lambda f, s: (_pages(f, 600), ["info", str(f / "p.tif")])[-1], 2,
        r"holds 600 planes.*at most 512 channels"),
    "numbers/threshold_nan": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules", str(h.rules(f)),
                      "--threshold", "CD8=nan", "-o", str(f / "o.csv")], 2,
        r"--threshold 'CD8=nan'.*finite"),
    "numbers/threshold_inf": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules", str(h.rules(f)),
                      "--threshold", "CD8=-inf", "-o", str(f / "o.csv")], 2, r"finite"),
    "numbers/max_piece_nan": Case(lambda f, s: _sample_lmd(f, s, "--max-piece-um2", "nan"), 2,
                                  r"argument --max-piece-um2: must be a finite number"),
    "numbers/dilate_1e300": Case(lambda f, s: _sample_lmd(f, s, "--dilate-um", "1e300"), 2,
                                 r"argument --dilate-um: 1e300 is outside \[0, 100\]"),
    "numbers/pixel_size_negative": Case(
        lambda f, s: (h.sample(f, s), ["measure", str(f / "s.ome.tif"),
                                       str(f / "s_labels.tif"), "--out", str(f / "c.csv"),
                                       "--pixel-size-um", "-1"])[-1], 2,
        r"argument --pixel-size-um: -1 is outside \(0, 1000\]"),
    "numbers/diameter_inf": Case(_seg("x.tif", "--diameter-um", "inf"), 2,
                                 r"--diameter-um: must be a finite number"),
    "numbers/min_valid_2": Case(lambda f, s: _score(f, s, "--min-valid", "2"), 2,
                                r"--min-valid: 2 is outside \[0, 1\]"),
    "numbers/tile_size_text": Case(_seg("x.tif", "--tile-size", "1e3"), 2,
                                   r"--tile-size: (not a whole number|invalid int value)"),
    "numbers/float_image_nan": Case(lambda f, s: (_nan_image(f), [
        "segment", str(f / "nan.ome.tif"), "--out", str(f / "l.tif")])[-1], 2,
        r"NaN or infinite pixels in channel\(s\) DAPI"),
    "numbers/rules_colour_1e400": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(h.rules(f, '{"rules": [{"name": "T", "rule": "CD8+", '
                                     '"color": [1e400, 0, 0]}]}', "g.json")),
                      "-o", str(f / "o.csv")], 2, r"gating file is malformed"),
    "numbers/rules_colour_999": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(h.rules(f, '{"rules": [{"name": "T", "rule": "CD8+", '
                                     '"color": [999, 0, 0]}]}', "g.json")),
                      "-o", str(f / "o.csv")], 2, r"colour outside 0-255"),
})


def _pages(folder: Path, n: int) -> None:
    import tifffile

    tifffile.imwrite(folder / "p.tif", np.zeros((n, 32, 32), np.uint8))


def _nan_image(folder: Path) -> None:
    import tifffile

    img = np.random.default_rng(0).random((2, 64, 64)).astype(np.float32)
    img[0, 5:20, 5:20] = np.nan
    tifffile.imwrite(folder / "nan.ome.tif", img, ome=True,
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "CD8"]}})


# ============================================================================ item 5: resources
def _fifo(folder: Path, name: str) -> Path:
    path = folder / name
    os.mkfifo(path)
    return path


def _labels_lmd(values, dtype=np.int64):
    def build(folder: Path, src: Path) -> list[str]:
        h.labels_tif(folder, values, dtype=dtype)
        pd.DataFrame({"cell_id": [5], "sample": ["A"]}).to_csv(folder / "selection.csv",
                                                                index=False)
        return _lmd(folder, src, labels="labels.tif")
    return build


def _zarr_declared(folder: Path, src: Path) -> list[str]:
    import zarr

    zarr.create_array(store=str(folder / "huge.zarr"), shape=(100_000, 100_000),
                      dtype=np.uint32, chunks=(4096, 4096), fill_value=0)
    h.sample(folder, src)
    return ["measure", str(folder / "s.ome.tif"), str(folder / "huge.zarr"), "--out",
            str(folder / "c.csv")]


SQ = (slice(2, 10), slice(2, 10))
SQ2 = (slice(20, 30), slice(20, 30))

CASES.update({
    "resources/ome_claims_1e6_squared": Case(lambda f, s: ["info", str(h.huge_claim_ome(f))],
                                             2, r"declares 1000000x1000000 pixels"),
    "resources/labels_bomb_40960_squared": Case(
        lambda f, s: (h.compressed_labels_bomb(f), pd.DataFrame(
            {"cell_id": [5], "sample": ["A"]}).to_csv(f / "selection.csv", index=False),
            _lmd(f, s, labels="bomb.tif"))[-1], 2,
        r"labels bomb\.tif needs about .* GB of memory, more than the 1 GB",
        env={"NAPARI_DVP_MAX_MEMORY_GB": "1"}),
    "resources/gzip_bomb_proteins": Case(
        lambda f, s: ["proteins", str(h.gzip_bomb(f, 80)), "--out", str(f / "m.csv")], 2,
        r"decompresses to more than 64 MB.*decompression bomb"),
    "resources/fifo_geojson": Case(
        lambda f, s: ["regions", str(h.cells_table(f, s)), str(_fifo(f, "r.geojson")), "-o",
                      str(f / "o.csv")], 2, r"r\.geojson is a FIFO"),
    "resources/fifo_rules": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(_fifo(f, "rules.txt")), "-o", str(f / "o.csv")], 2,
        r"rules\.txt is a FIFO"),
    "resources/fifo_cells": Case(
        lambda f, s: ["classify", str(_fifo(f, "cells.csv")), "--rules", str(h.rules(f)),
                      "-o", str(f / "o.csv")], 2, r"cells\.csv is a FIFO"),
    "resources/fifo_image": Case(
        lambda f, s: ["segment", str(_fifo(f, "x.ome.tif")), "--out", str(f / "l.tif")], 2,
        r"x\.ome\.tif is a FIFO"),
    "resources/dev_zero_proteins": Case(
        lambda f, s: ["proteins", "/dev/zero", "--out", str(f / "m.csv")], 2,
        r"/dev/zero is a device"),
    "resources/dev_zero_cells": Case(
        lambda f, s: ["classify", "/dev/zero", "--rules", str(h.rules(f)), "-o",
                      str(f / "o.csv")], 2, r"/dev/zero is a device"),
    "resources/deep_geojson": Case(
        lambda f, s: ["regions", str(h.cells_table(f, s)), str(h.deep_json(f / "d.geojson")),
                      "-o", str(f / "o.csv")], 2, r"nested 100001 levels deep"),
    "resources/deep_rules_json": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(h.deep_json(f / "g.json", wrap="rules")), "-o", str(f / "o.csv")], 2,
        r"gating file g\.json is nested 100001 levels deep"),
    "resources/rule_5000_parentheses": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(h.rules(f, "T: " + "(" * 5000 + "CD8+" + ")" * 5000 + "\n")),
                      "-o", str(f / "o.csv")], 2, r"nests more than 32 levels"),
    "resources/rule_5000_not": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(h.rules(f, "T: " + "not " * 5000 + "CD8+\n")),
                      "-o", str(f / "o.csv")], 2, r"nests more than 32 levels"),
    "resources/rule_5000_terms": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules",
                      str(h.rules(f, "T: " + " and ".join(["CD8+"] * 5000) + "\n")),
                      "-o", str(f / "o.csv")], 2, r"has 5000 markers \(at most 1000\)"),
    "resources/labels_negative": Case(_labels_lmd({-3: SQ, 5: SQ2}), 2,
                                      r"negative id -3"),
    "resources/labels_id_2_40": Case(_labels_lmd({2**40: SQ, 5: SQ2}, np.uint64), 2,
                                     r"id 1099511627776, above 4,294,967,295"),
    "resources/labels_sparse_4e9": Case(_labels_lmd({4_000_000_000: SQ, 5: SQ2}, np.uint32),
                                        2, r"2 cell\(s\) with ids up to 4,000,000,000"),
    "resources/file_over_cap": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules", str(h.rules(f)), "-o",
                      str(f / "o.csv")], 2, r"cell table cells\.csv is .* more than",
        env={"NAPARI_DVP_MAX_FILE_GB": "0.000001"}),
    "resources/zarr_declares_1e10_px": Case(_zarr_declared, 2,
                                            r"huge\.zarr declares 100000x100000 pixels"),
    "resources/bad_env_cap": Case(
        lambda f, s: ["classify", str(h.cells_table(f, s)), "--rules", str(h.rules(f)), "-o",
                      str(f / "o.csv")], 2, r"NAPARI_DVP_MAX_FILE_GB='nan'",
        env={"NAPARI_DVP_MAX_FILE_GB": "nan"}),
})


# ============================================================================ item 6: exit codes
def _readonly(folder: Path, src: Path) -> list[str]:
    h.sample(folder, src)
    (folder / "ro").mkdir()
    return ["measure", str(folder / "s.ome.tif"), str(folder / "s_labels.tif"), "--out",
            str(folder / "ro" / "c.csv")]


CASES.update({
    "exit/read_only_folder": Case(_readonly, 2, r"cannot write in .*ro \(read-only"),
    "exit/unknown_option": Case(lambda f, s: ["classify", "--no-such-option"], 2,
                                r"^napari-dvp classify: error: .*see napari-dvp classify --help"),
    "exit/missing_required": Case(lambda f, s: ["export-lmd"], 2,
                                  r"the following arguments are required"),
})


# ============================================================================ the runner
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_case(name, src, tmp_path, capsys, monkeypatch):
    case = CASES[name]
    folder = tmp_path / "case"
    folder.mkdir()
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    if name == "exit/read_only_folder":
        # MOCK of a read-only filesystem: this suite runs as root, whom chmod does not stop
        real = os.access
        ro = folder / "ro"
        monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False
                            if Path(p) == ro and mode & os.W_OK else real(p, mode, *a, **k))
    argv = case.build(folder, src)
    capsys.readouterr()
    before = h.snapshot(folder)
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    after = h.snapshot(folder)
    lines = err.splitlines()
    if case.rc == 0:
        assert rc == 0, err
    else:
        assert rc == case.rc, err
        assert len(lines) == 1, err
        assert lines[0].startswith("napari-dvp ") and "Traceback" not in err, err
        assert len(lines[0]) < 400, lines[0]
        assert re.search(case.message, lines[0], re.IGNORECASE), (case.message, lines[0])
    allowed = {o.rstrip("/") for o in case.outputs}
    moved = {p for p in h.changed(before, after)
             if not any(p.rstrip("/") == o or p.startswith(o + "/") for o in allowed)}
    assert moved == set(), f"files outside the declared outputs changed: {sorted(moved)}"
    if case.check:
        case.check(folder)


def test_corpus_covers_every_item():
    items = {n.split("/")[0] for n in CASES}
    assert items == {"code", "out", "inject", "numbers", "resources", "exit"}
    assert len(CASES) >= 60


# ============================================================================ in-process extras
def test_outputs_appear_together_or_not_at_all(src, tmp_path, capsys, monkeypatch):
    """score writes three CSVs and an .h5ad: a failure in the last leaves none of them."""
    folder = tmp_path / "case"
    folder.mkdir()
    argv = _score(folder, src, "--h5ad", str(folder / "p.h5ad"))
    before = h.snapshot(folder)

    def boom(adata, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr("anndata.AnnData.write_h5ad", boom)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    assert h.snapshot(folder) == before


def test_interrupt_in_process_leaves_nothing(src, tmp_path, capsys, monkeypatch):
    """Ctrl-C (KeyboardInterrupt) while the export writes: exit 130, one line, no output."""
    folder = tmp_path / "case"
    folder.mkdir()
    argv = _sample_lmd(folder, src)
    before = h.snapshot(folder)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("napari_dvp.core.lmd.export.write_leica_xml", interrupted)
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0]
    assert h.snapshot(folder) == before


def test_interrupt_during_commit_is_deferred(src, tmp_path, capsys, monkeypatch):
    """A SIGINT that lands while outputs are moved in place waits until they all are."""
    import signal

    from napari_dvp.core import outputs

    folder = tmp_path / "case"
    folder.mkdir()
    argv = _sample_lmd(folder, src)
    real_swap = outputs.Outputs._swap_in

    def swap_with_signal(self):
        os.kill(os.getpid(), signal.SIGINT)  # delivered in the middle of the commit
        real_swap(self)

    monkeypatch.setattr(outputs.Outputs, "_swap_in", swap_with_signal)
    assert main(argv) == 130
    assert (folder / "lmd" / "manifest.csv").is_file()  # complete, not half
    assert [p.name for p in folder.iterdir() if "partial" in p.name] == []


def test_trusted_pickle_loads_with_a_warning(src, tmp_path, capsys):
    """--trust opens an old joblib classifier (one the user made) and says what it did."""
    import joblib

    from napari_dvp.core.classes.classifier import load_classifier

    folder = tmp_path
    clf = load_classifier(h.classifier(folder, src))
    model = clf.model
    from sklearn.ensemble import RandomForestClassifier

    table = pd.read_csv(folder / "cells.csv")
    sk = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        table[clf.features].to_numpy(np.float32), np.where(table["mean_CD8"] > 400, "hi", "lo"))
    joblib.dump({"format": "napari-dvp cell classifier", "features": clf.features,
                 "classes": ["hi", "lo"], "n_examples": 30, "n_estimators": 5,
                 "max_depth": None, "random_state": 0, "model": sk}, folder / "old.joblib")
    assert model is not None
    argv = ["classify", str(folder / "cells.csv"), "--classifier", str(folder / "old.joblib"),
            "-o", str(folder / "o.csv")]
    assert main(argv) == 2
    assert "--trust" in capsys.readouterr().err
    assert main([*argv, "--trust"]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "pickle" in err
    assert set(pd.read_csv(folder / "o.csv")["class"]) <= {"hi", "lo"}


def test_napari_readers_never_raise(tmp_path, monkeypatch):
    """Hostile files given to napari: None and a notification, never an exception."""
    from napari_dvp import _geojson_io, _lmd_reader, _reader

    warned: list[str] = []
    monkeypatch.setattr(_reader, "_warn", warned.append)
    xml = tmp_path / "cut.xml"
    xml.write_text("<ImageData><GlobalCoordinates>1</GlobalCoordinates>"
                   "<X_CalibrationPoint_1>0</X_CalibrationPoint_1><ShapeCount>1</ShapeCount>"
                   "<Shape_1><PointCount>1e99</PointCount><X_1>1</X_1><Y_1>1</Y_1></Shape_1>"
                   "</ImageData>")
    # a file this plugin reads but cannot open: a reader that shows one error, adds nothing
    import napari.utils.notifications as notes

    monkeypatch.setattr(notes, "show_error", warned.append)
    for hook, path in ((_lmd_reader.napari_get_reader, xml),
                       (_geojson_io.get_reader, h.deep_json(tmp_path / "deep.geojson"))):
        reader = hook(str(path))
        assert reader is None or reader(str(path)) in ([], [(None,)])
    assert sum(("cut.xml" in w) or ("deep.geojson" in w) for w in warned) == 2
    fifo = _fifo(tmp_path, "fifo.ome.tif")
    assert _reader.get_reader(str(fifo)) is None
    assert _reader.get_reader(str(h.huge_claim_ome(tmp_path))) is None

    def bug(path):
        raise RuntimeError("a bug")

    monkeypatch.setattr(_reader, "open_image", bug)
    assert _reader.get_reader(str(tmp_path / "claim.ome.tif")) is None
    assert len(warned) >= 3 and any("RuntimeError" in w for w in warned)
    assert all("\n" not in w for w in warned)


def test_project_check_can_ask_about_executable_content(tmp_path):
    """The project engineer's `project check` asks this function (no project code here)."""
    from napari_dvp.core.classes.classifier import classifier_to_bytes, is_executable_payload

    assert is_executable_payload(h.evil_joblib(tmp_path).read_bytes())
    assert is_executable_payload(h.evil_pickle(tmp_path, "p", 2).read_bytes())
    assert is_executable_payload(h.evil_npz(tmp_path).read_bytes())
    assert not is_executable_payload(os.urandom(4096))
    assert not is_executable_payload(b"")
    from napari_dvp.core.classes.classifier import CellClassifier

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"cell_id": np.arange(1, 41), "mean_A": rng.random(40)})
    clf = CellClassifier(n_estimators=3).train(table, {i: "ab"[i % 2] for i in range(1, 41)})
    assert not is_executable_payload(classifier_to_bytes(clf))
    assert not (tmp_path / h.PAYLOAD).exists()


def test_classifier_file_predicts_exactly_like_the_forest(src, tmp_path):
    """The data-only file gives scikit-learn's probabilities exactly (both walkers)."""
    from napari_dvp.core.classes.classifier import CellClassifier, load_classifier

    rng = np.random.default_rng(3)
    n = 3000
    table = pd.DataFrame({"cell_id": np.arange(1, n + 1), "mean_A": rng.random(n) * 100,
                          "mean_B": rng.normal(0, 50, n), "area_um2": rng.random(n) * 80})
    ex = {i: ("x" if table.mean_A[i - 1] > 50 else "y") if i % 3 else "z" for i in range(1, 150)}
    clf = CellClassifier(n_estimators=30).train(table, ex)
    from napari_dvp.core.classes.classifier import save_classifier

    save_classifier(tmp_path / "c.npz", clf)
    back = load_classifier(tmp_path / "c.npz", table)
    x = clf._matrix(table)
    want = clf.model.predict_proba(x)
    assert np.array_equal(back.model.predict_proba(x), want)
    assert np.array_equal(back.model.predict_proba_numpy(x), want)
    shutil.rmtree(tmp_path)
