"""The bad-input corpus: every broken file gives one clear line, never a traceback.

For every file under ``tests/data/bad/<kind>/`` (committed text files) and
every file :mod:`tests.data.make_bad_corpus` writes (binary ones, generated
once per session):

* the core reader of that kind raises :class:`DvpInputError` whose message is
  one line, shorter than 300 characters, and names the problem (``EXPECT``);
* the CLI command that reads that kind of file exits 2 with exactly one line
  on stderr, writes no output file (nor a temporary one) and leaves the input
  untouched.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_dvp.cli import main
from napari_dvp.core.errors import DvpInputError

from ._lmd_synth import make_tissue

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_bad_corpus", DATA / "make_bad_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _load_generator()

COMMITTED = sorted((d.name, p.name) for d in BAD.iterdir() if d.is_dir() for p in d.iterdir())
GENERATED = sorted((k, n) for k, names in corpus.GENERATED.items() for n in names)
CASES = COMMITTED + GENERATED
KINDS = ("image", "labels", "geojson", "lmd_xml", "proteomics", "manifest", "gmt", "selection",
         "gating", "classifier", "project", "cells")

#: what each message must mention (regular expression, case-insensitive)
EXPECT: dict[str, str] = {
    'cells/csv_named.parquet': 'parquet',
    'cells/class_with_tab.csv': "class 'a\\\\tb' in class_with_tab.csv \\(row 1\\) contains a tab",
    'cells/region_with_cr.csv': 'contains a carriage return',
    'classifier/child_loop.npz': 'damaged \\(a child index outside its tree\\)',
    'classifier/feature_out_of_range.npz': 'damaged \\(a feature index out of range\\)',
    'classifier/features_5.npz': 'damaged \\(features 5\\)',
    'classifier/nan_threshold.npz': 'damaged \\(a threshold that is not finite\\)',
    'classifier/object_array.npz': 'holds Python objects',
    'classifier/pickle_payload.joblib': 'is a pickle.*can run code',
    'classifier/pickle_payload_protocol0.npz': 'is a pickle.*can run code',
    'classifier/truncated.npz': 'not a napari-dvp classifier',
    'gating/class_name_tab_rules.txt': 'contains a tab',
    'gating/colour_1e400.json': 'malformed',
    'gating/colour_999.json': 'colour outside 0-255',
    'gating/nested_100000.json': 'nested 100001 levels deep',
    'gating/parentheses_5000_rules.txt': 'nests more than 32 levels',
    'gating/terms_5000_rules.txt': '5000 markers',
    'geojson/class_with_escape.geojson': 'control character U\\+001B',
    'geojson/nested_100000.geojson': 'nested 100001 levels deep',
    'image/ome_claims_1e6_squared.ome.tif': 'declares 1000000x1000000',
    'image/ome_sizec3_five_pages.ome.tif': 'declares 3 plane\\(s\\).*holds 5 page',
    'image/one_pixel.tif': 'only 1x1 pixels',
    'image/pages_3000_1x1.tif': 'holds 3000 pages',
    'image/planes_600.tif': 'holds 600 planes',
    'proteomics/gzip_bomb.pg_matrix.tsv.gz': 'decompression bomb',
    'cells/duplicate_ids.csv': 'more than once',
    'cells/duplicate_ids.tsv': 'more than once',
    'cells/empty.csv': 'EmptyData|empty',
    'cells/fractional_ids.csv': 'integers',
    'cells/garbage.parquet': 'parquet',
    'cells/json_named.csv': 'lacks column.*cell_id',
    'cells/latin1_classes.csv': 'utf-8',
    'cells/missing_id.csv': 'integers',
    'cells/nan_inf_ids.csv': 'integers',
    'cells/no_cell_id.csv': 'lacks column.*cell_id',
    'cells/ragged.csv': 'ParserError|tokeniz',
    'cells/text_ids.csv': 'integers',
    'cells/utf16_bom.csv': 'utf-8',
    'cells/zero_id.csv': '<= 0|background',
    'classifier/csv_named.joblib': 'not a napari-dvp classifier',
    'classifier/empty.joblib': 'not a napari-dvp classifier',
    'classifier/garbage.joblib': 'not a napari-dvp classifier',
    'classifier/other_payload.joblib': 'is a pickle',
    'classifier/truncated.joblib': 'is a pickle',
    'gating/bad_rule_expr.json': "cannot read 'CD8'",
    'gating/dangling_operator_rules.txt': 'incomplete',
    'gating/empty.json': 'not a gating JSON',
    'gating/garbage.json': 'not a gating JSON',
    'gating/garbage_rules.txt': 'not UTF-8',
    'gating/inf_threshold.json': 'finite',
    'gating/list.json': "no 'rules'",
    'gating/nan_threshold.json': 'finite',
    'gating/no_colon_rules.txt': "has no ':'",
    'gating/no_rules.json': "no 'rules'",
    'gating/rules_not_list.json': 'malformed',
    'gating/truncated.json': 'not a gating JSON',
    'gating/unknown_marker.json': 'mean_CD99',
    'gating/unknown_statistic.json': "statistic.*'maximum'",
    'gating/utf16_rules.txt': 'not UTF-8',
    'geojson/csv_named.geojson': 'not valid JSON',
    'geojson/empty.geojson': 'not valid JSON',
    'geojson/feature_without_type.geojson': 'not a GeoJSON Feature',
    'geojson/features_not_list.geojson': "without a 'features' list",
    'geojson/garbage.geojson': 'not UTF-8',
    'geojson/inf_coordinates.geojson': 'NaN, infinite',
    'geojson/latin1_classes.geojson': 'not UTF-8',
    'geojson/list_of_numbers.geojson': 'not GeoJSON',
    'geojson/nan_coordinates.geojson': 'NaN, infinite',
    'geojson/properties_not_mapping.geojson': 'not a mapping',
    'geojson/text_coordinates.geojson': 'unreadable geometry',
    'geojson/truncated.geojson': 'not valid JSON',
    'geojson/two_point_polygon.geojson': 'unreadable geometry.*4 coordinates',
    'geojson/unknown_geometry.geojson': 'unknown geometry type',
    'geojson/utf16_bom.geojson': 'not UTF-8',
    'gmt/comments_only.gmt': 'no gene set',
    'gmt/csv_named.gmt': 'not a GMT line',
    'gmt/duplicate_set.gmt': "'MINE' twice",
    'gmt/empty.gmt': 'no gene set',
    'gmt/garbage.gmt': 'not UTF-8|not a GMT line',
    'gmt/no_genes.gmt': 'not a GMT line',
    'gmt/no_tabs.gmt': 'not a GMT line',
    'gmt/utf16_bom.gmt': 'not UTF-8',
    'image/broken.zarr': 'not a readable zarr',
    'image/complex_pixels.tif': 'pixel type complex64',
    'image/corrupt_tiles.tif': 'could not be decoded',
    'image/csv_named.ome.tif': 'not a TIFF',
    'image/empty.ome.tif': 'empty',
    'image/empty.zarr': 'not a readable zarr',
    'image/garbage.jpg': 'not a readable JPG',
    'image/garbage.tif': 'not a TIFF',
    'image/huge_dims_strips.tif': 'declares 1000000x1000000',
    'image/huge_dims_tiles.tif': 'declares 1000000x1000000',
    'image/json_named.png': 'not a readable PNG',
    'image/png_named.ome.tif': 'not a TIFF',
    'image/truncated.ome.tif': 'truncated',
    'image/truncated.png': 'not a readable PNG',
    'image/zstack.tif': '5 Z planes',
    'labels/empty.tif': 'empty',
    'labels/float_values.tif': 'must be integers',
    'labels/header_only.tif': 'damaged',
    'labels/huge_dims.tif': 'declares 1000000x1000000',
    'labels/rgb.tif': '3 channels',
    'labels/text_named.tif': 'not a TIFF',
    'labels/truncated.tif': 'truncated',
    'labels/two_channels.ome.tif': '2 channels',
    'lmd_xml/bad_number.xml': "'abc', not a coordinate",
    'lmd_xml/billion_laughs.xml': 'entities.*refused',
    'lmd_xml/csv_named.xml': 'not a readable XML',
    'lmd_xml/empty.xml': 'not a readable XML',
    'lmd_xml/external_dtd.xml': 'calibration points',
    'lmd_xml/external_entity.xml': 'entities.*refused',
    'lmd_xml/garbage.xml': 'not a readable XML',
    'lmd_xml/huge_pointcount.xml': "PointCount '999999999999'",
    'lmd_xml/inf_coordinate.xml': 'not a coordinate',
    'lmd_xml/nan_coordinate.xml': 'not a coordinate',
    'lmd_xml/negative_pointcount.xml': "PointCount '-5'",
    'lmd_xml/no_calibration.xml': 'calibration points',
    'lmd_xml/text_pointcount.xml': "PointCount 'three'",
    'lmd_xml/truncated.xml': 'not a readable XML',
    'lmd_xml/utf16_truncated.xml': 'not a readable XML',
    'lmd_xml/wrong_root.xml': 'root <Shapes>',
    'manifest/blank_sample_id.csv': 'without sample_id',
    'manifest/duplicate_sample_ids.csv': "'TEN_A1' twice",
    'manifest/empty.csv': 'not a CSV',
    'manifest/garbage.csv': 'not a CSV',
    'manifest/header_only.csv': 'no sample',
    'manifest/json_named.csv': 'lacks column',
    'manifest/no_cell_ids.csv': 'lacks column\\(s\\) cell_ids;',
    'manifest/ragged.csv': 'without sample_id',
    'manifest/semicolon_separated.csv': 'lacks column',
    'manifest/utf16_bom.csv': 'not a CSV',
    'project/damaged_cell_table': 'checksum',
    'project/files_not_mapping': "'files' is not a mapping",
    'project/future_version': 'newer napari-dvp',
    'project/garbage_index': 'not readable JSON',
    'project/list_index': 'not a napari-dvp project',
    'project/missing_file': 'missing',
    'project/missing_labels': 'labels.g1.zarr.*missing',
    'project/nan_version': 'format_version',
    'project/no_index': 'no project.json',
    'project/path_escape': 'outside the project folder',
    'project/truncated_index': 'not readable JSON',
    'project/truncated_labels_chunk': 'damaged',
    'project/wrong_kind': 'not a napari-dvp project',
    'proteomics/all_nan_inf.tsv': 'no intensity',
    'proteomics/corrupt.h5ad': 'not a readable .h5ad',
    'proteomics/corrupt.parquet': 'parquet',
    'proteomics/diann_report_all_fail_q.tsv': 'q-value',
    'proteomics/duplicate_runs.pg_matrix.tsv': "'TEN_A1' more than once",
    'proteomics/empty.h5ad': 'not a readable .h5ad',
    'proteomics/empty.tsv': 'empty',
    'proteomics/garbage.tsv': 'not UTF-8',
    'proteomics/header_only.pg_matrix.tsv': 'no protein rows',
    'proteomics/json_named.tsv': 'no protein id column',
    'proteomics/latin1_genes.tsv': 'utf-8',
    'proteomics/maxquant_duplicate_runs.txt': 'more than once',
    'proteomics/numbers_only.tsv': 'no protein id column',
    'proteomics/ragged_quotes.tsv': 'could not be parsed',
    'proteomics/single_column.tsv': 'single column',
    'proteomics/spectronaut_long_no_quantity.tsv': 'PG.Quantity',
    'proteomics/text_values.tsv': 'no numeric column',
    'proteomics/truncated.parquet': 'parquet',
    'proteomics/truncated.pg_matrix.tsv.gz': 'could not be read|damaged',
    'proteomics/utf16_bom.pg_matrix.tsv': 'not UTF-8',
    'proteomics/wrong_anndata.h5ad': 'lacks protein annotations',
    'selection/duplicate_cells.csv': 'more than once',
    'selection/empty.csv': 'empty',
    'selection/fractional_ids.csv': 'positive integer',
    'selection/garbage.csv': 'not UTF-8',
    'selection/header_only.csv': 'empty',
    'selection/inf_cell_id.csv': 'positive integer',
    'selection/json_named.csv': 'lacks column',
    'selection/nan_ids.csv': 'empty',
    'selection/negative_ids.csv': 'positive integer',
    'selection/no_cell_id.csv': 'lacks column\\(s\\) cell_id;',
    'selection/no_sample.csv': 'lacks column\\(s\\) sample;',
    'selection/text_ids.csv': 'integer',
    'selection/two_wells_one_sample.csv': 'wells A1, B7',
    'selection/unknown_cells.csv': 'do not exist in the labels',
    'selection/utf16_bom.csv': 'not UTF-8',
}


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad-generated")
    corpus.write_generated(root)
    return root


@pytest.fixture(scope="session")
def good(tmp_path_factory):
    """Valid companion files for the CLI commands (labels, image, cells, proteins …)."""
    from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix
    from napari_dvp.core.slide import write_ome_tiff

    root = tmp_path_factory.mktemp("good")
    labels, cells = make_tissue(120)
    tifffile.imwrite(root / "labels.tif", labels)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 1000, (2, *labels.shape), dtype=np.uint16)
    write_ome_tiff(root / "image.ome.tif", img, ["DAPI", "CD8"], 0.5, tile=64)
    cells = cells[["cell_id", "centroid_row", "centroid_col"]].assign(
        mean_DAPI=rng.random(len(cells)) * 100, mean_CD8=rng.random(len(cells)) * 100)
    cells.to_csv(root / "cells.csv", index=False)
    (root / "rules.txt").write_text("CD8 T cell: CD8+\n", encoding="utf-8")
    classes = ["keratinocyte", "CD8 T cell", "macrophage", "fibroblast"]
    manifest = pd.DataFrame([{
        "sample_id": f"TEN_{k:02d}", "well": f"{'CDEF'[k // 4]}{3 + k % 4}",
        "class": classes[k % 4], "region": ["epidermis", "blister"][k // 8], "replicate": 1,
        "n_cells": 2, "area_um2": 50.0, "n_shapes": 2, "cell_ids": f"{2 * k + 1};{2 * k + 2}"}
        for k in range(8)])
    manifest.to_csv(root / "manifest.csv", index=False)
    write_pg_matrix(synthetic_pg_matrix(manifest, seed=1, n_proteins=200),
                    root / "TEN.pg_matrix.tsv")
    ids = np.unique(labels)
    return SimpleNamespace(root=root, labels=root / "labels.tif", label_ids=ids[ids > 0],
                           image=root / "image.ome.tif", cells_path=root / "cells.csv",
                           cells=cells, rules=root / "rules.txt",
                           manifest=root / "manifest.csv", proteins=root / "TEN.pg_matrix.tsv")


def case_path(kind: str, name: str, generated: Path) -> Path:
    committed = BAD / kind / name
    return committed if committed.exists() else generated / kind / name


# ----------------------------------------------------------------------------- core readers
def _gate(path: Path, good) -> None:
    from napari_dvp.core.classes.gating import apply_gating, default_thresholds, load_rules

    scheme = load_rules(path)
    cells = good.cells.copy()
    missing = [m for m in scheme.markers() if m not in scheme.thresholds]
    scheme.thresholds.update(default_thresholds(cells, missing, scheme.statistic))
    apply_gating(cells, scheme)


def _selection(path: Path, good) -> None:
    from napari_dvp.core.lmd import plan_from_table
    from napari_dvp.core.lmd.plan import read_selection

    plan_from_table(read_selection(path), label_ids=good.label_ids)


def _image(path: Path, good) -> None:
    from napari_dvp.core.slide import open_image

    open_image(path).close()


def _core(kind: str):
    from napari_dvp.core.cells.table_io import read_cell_table as read_table
    from napari_dvp.core.classes.classifier import load_classifier
    from napari_dvp.core.geojson import read_geojson
    from napari_dvp.core.lmd.leica_xml import read_leica_xml
    from napari_dvp.core.project import load_project
    from napari_dvp.core.proteomics.genesets import read_gmt
    from napari_dvp.core.proteomics.matching import read_manifest
    from napari_dvp.core.proteomics.readers import read_proteomics
    from napari_dvp.core.slide import open_labels

    return {
        "image": _image,
        "labels": lambda p, g: open_labels(p),
        "geojson": lambda p, g: read_geojson(p),
        "lmd_xml": lambda p, g: read_leica_xml(p),
        "proteomics": lambda p, g: read_proteomics(p),
        "manifest": lambda p, g: read_manifest(p),
        "gmt": lambda p, g: read_gmt(p),
        "selection": _selection,
        "gating": _gate,
        "classifier": lambda p, g: load_classifier(p, g.cells),
        "project": lambda p, g: load_project(p),
        "cells": lambda p, g: read_table(p),
    }[kind]


def _cli(kind: str, path: Path, good, out: Path) -> list[str] | None:
    p = str(path)
    return {
        "image": ["segment", p, "--out", str(out / "labels.tif")],
        "labels": ["measure", str(good.image), p, "--out", str(out / "cells.csv")],
        "geojson": ["regions", str(good.cells_path), p, "-o", str(out / "cells.csv")],
        "lmd_xml": None,  # no command reads LMD XML; the napari reader does (GUI test)
        "proteomics": ["proteins", p, "--out", str(out / "matrix.csv")],
        "manifest": ["score", str(good.proteins), "--manifest", p, "--out",
                     str(out / "scores.csv")],
        "gmt": ["score", str(good.proteins), "--manifest", str(good.manifest), "--gene-sets", p,
                "--out", str(out / "scores.csv")],
        "selection": ["export-lmd", "--labels", str(good.labels), "--selection", p,
                      "--calibration", "2,2;2,117;117,60", "--out", str(out / "lmd"),
                      "--pixel-size-um", "0.5"],
        "gating": ["classify", str(good.cells_path), "--rules", p, "-o", str(out / "c.csv")],
        "classifier": ["classify", str(good.cells_path), "--classifier", p, "-o",
                       str(out / "c.csv")],
        "project": ["project", "check", p],
        "cells": ["classify", p, "--rules", str(good.rules), "-o", str(out / "c.csv")],
    }[kind]


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _check_message(kind: str, name: str, message: str) -> None:
    assert "\n" not in message, message
    assert 0 < len(message) < 300, message
    assert "Traceback" not in message
    key = f"{kind}/{name}"
    assert key in EXPECT, f"add EXPECT[{key!r}] for: {message}"
    assert re.search(EXPECT[key], message, re.IGNORECASE), (EXPECT[key], message)


def test_corpus_size_and_coverage():
    assert len(CASES) >= 50
    by_kind = {k: sum(1 for kk, _ in CASES if kk == k) for k in KINDS}
    assert set(kk for kk, _ in CASES) == set(KINDS)
    assert all(n >= 3 for n in by_kind.values()), by_kind
    assert len(set(CASES)) == len(CASES), "a committed file shadows a generated one"


@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}/{n}" for k, n in CASES])
def test_core_reader_raises_one_clear_line(kind, name, generated, good):
    path = case_path(kind, name, generated)
    before = _digest(path)
    with pytest.raises(DvpInputError) as info:
        _core(kind)(path, good)
    _check_message(kind, name, str(info.value))
    assert _digest(path) == before, "a reader modified its input"


CLI_CASES = [(k, n) for k, n in CASES if k != "lmd_xml"]


@pytest.mark.parametrize(("kind", "name"), CLI_CASES, ids=[f"{k}/{n}" for k, n in CLI_CASES])
def test_cli_exits_2_with_one_line_and_writes_nothing(kind, name, generated, good, tmp_path,
                                                      capsys):
    path = case_path(kind, name, generated)
    out = tmp_path / "out"
    out.mkdir()
    before = _digest(path)
    rc = main(_cli(kind, path, good, out))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert rc == 2, captured.err
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("napari-dvp ") and ": error: " in lines[0]
    assert len(lines[0]) < 400
    assert list(out.rglob("*")) == [], "output (or a temporary file) was left behind"
    assert _digest(path) == before


SUBPROCESS_CASES = [("image", "huge_dims_tiles.tif"), ("proteomics", "utf16_bom.pg_matrix.tsv"),
                    ("selection", "duplicate_cells.csv"), ("project", "truncated_index")]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "name"), SUBPROCESS_CASES,
                         ids=[f"{k}/{n}" for k, n in SUBPROCESS_CASES])
def test_cli_subprocess_prints_no_traceback(kind, name, generated, good, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    argv = _cli(kind, case_path(kind, name, generated), good, out)
    proc = subprocess.run([sys.executable, "-m", "napari_dvp", *argv], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert list(out.rglob("*")) == []
