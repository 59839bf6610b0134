"""Qt-free core of the Proteins dock: options, run list, groupings, one statistics run,
saving under the output policy, why painted samples are blank."""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from napari_dvp.commands._proteomics_args import add_processing, add_reading, processing_params
from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.proteomics import differential
from napari_dvp.core.proteomics.analysis import (
    blank_note,
    groupings,
    pending_rows,
    run_stats,
    save_stats,
    stats_outputs,
)
from napari_dvp.core.proteomics.options import ProcessOptions, ReadOptions, StatsOptions
from napari_dvp.core.proteomics.processing import ProcessingParams, process
from napari_dvp.core.proteomics.study import MATCH_HEADERS
from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix


def _run(gen):
    """Drive a progress generator; return its steps and its result."""
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            return steps, stop.value


@pytest.fixture(scope="module")
def proc(tmp_path_factory):
    from napari_dvp.core.proteomics.matching import apply_matches, match_runs
    from napari_dvp.core.proteomics.readers import read_proteomics

    rows = [{"sample_id": f"S{k:02d}", "well": f"B{k + 2}", "class": ["ker", "cd8", "mac"][k % 3],
             "region": ["epi", "derm"][k % 2], "patient": f"p{k // 3}", "cell_ids": str(k + 1)}
            for k in range(12)]
    man = pd.DataFrame(rows)
    path = tmp_path_factory.mktemp("dock") / "x.pg_matrix.tsv"
    write_pg_matrix(synthetic_pg_matrix(man, seed=2, n_proteins=400), path)
    data = read_proteomics(path)
    matched, _ = apply_matches(data, match_runs(data.obs_names, man), man)
    return process(matched, ProcessOptions().processing_params())


def test_dock_defaults_are_the_cli_and_core_defaults():
    parser = argparse.ArgumentParser()
    add_reading(parser)
    add_processing(parser)
    args = parser.parse_args([])
    assert ProcessOptions().processing_params() == processing_params(args) == ProcessingParams()
    read = ReadOptions()
    assert read.log2 == args.log2 and read.q_value == args.q_value
    assert read.keep_contaminants == args.keep_contaminants
    assert read.keep_decoys == args.keep_decoys
    assert read.read_kwargs()["aggregate"] == args.aggregate is None
    assert ReadOptions(aggregate=True).read_kwargs()["aggregate"] == "top3"
    assert StatsOptions().test == "limma" and ProcessOptions().min_members == 5
    with pytest.raises(DvpInputError, match="N"):
        ProcessOptions(min_valid_pct=120)
    with pytest.raises(DvpInputError, match="log2"):
        ReadOptions(log2="maybe")


def test_pending_rows_list_every_run():
    rows, runs = pending_rows(["D:\\x\\TEN_A1.d", "blank"])
    assert list(rows.columns) == list(MATCH_HEADERS)
    assert rows["MS run"].tolist() == ["TEN_A1", "blank"] and runs[0] == "D:\\x\\TEN_A1.d"
    assert set(rows["status"]) == {"no manifest"} and set(rows["sample"]) == {""}


def test_groupings_skip_identifiers(proc):
    g = groupings(proc.obs)
    assert g["class"] == ["cd8", "ker", "mac"] and g["region"] == ["derm", "epi"]
    assert "patient" in g and "well" not in g and "run" not in g


def test_run_stats_is_the_core_test_and_saves_together(proc, tmp_path):
    steps, res = _run(run_stats(proc, "class", "cd8", None, test="welch"))
    assert [s[:2] for s in steps] == [(0, 3), (1, 3), (2, 3)]
    ref = differential.compare(proc, "class", "cd8", None, test="welch")
    pd.testing.assert_frame_equal(res.table, ref)
    assert res.title == "cd8 vs all other samples (Welch t)"
    assert res.pca is not None and res.top_z.shape == (12, 40) and res.color_by == "class"
    _, by_patient = _run(run_stats(proc, "class", "cd8", "ker", color_by="patient"))
    assert by_patient.color_by == "patient" and by_patient.b == "ker"
    _, paired = _run(run_stats(proc, "class", "cd8", "ker", test="paired", pair_by="patient"))
    pd.testing.assert_frame_equal(paired.table, differential.compare(
        proc, "class", "cd8", "ker", test="paired", pair_by="patient"))
    assert res.meta["statistics"]["proteins_tested"] == int(np.isfinite(ref["p"]).sum())
    out = tmp_path / "r.csv"
    written = save_stats(out, res, inputs=[])
    assert written == stats_outputs(out, res)
    assert [p.name for p in written] == ["r.csv", "r.meta.json", "r.pca.csv", "r.volcano.png",
                                         "r.pca.png", "r.heatmap.png"]
    assert (tmp_path / "r.volcano.png").read_bytes()[:4] == b"\x89PNG"
    saved = pd.read_csv(out).set_index("protein_id")
    np.testing.assert_allclose(saved["p"], ref["p"], rtol=1e-12)
    assert json.loads((tmp_path / "r.meta.json").read_text())["statistics"]["test"] == "welch"
    with pytest.raises(DvpInputError, match="exists"):
        save_stats(out, res)
    _, anova = _run(run_stats(proc, "class", test="anova"))
    written = save_stats(out, anova, overwrite=True, figures=False)
    assert [p.name for p in written] == ["r.csv", "r.meta.json", "r.pca.csv", "r.tukey.csv"]
    assert "F" in pd.read_csv(out).columns
    with pytest.raises(DvpInputError, match=r"end in \.csv"):
        save_stats(tmp_path / "r.txt", res)


def test_run_stats_refuses_unknown_groups(proc):
    with pytest.raises(DvpInputError, match="not a class"):
        _run(run_stats(proc, "class", "nope"))
    with pytest.raises(DvpInputError, match="grouping"):
        _run(run_stats(proc, "colour", "a"))
    with pytest.raises(DvpInputError, match="group A"):
        _run(run_stats(proc, "class", None, test="limma"))


def test_blank_note_says_why():
    v = pd.Series([1.0, np.nan, np.nan], index=["a", "b", "c"])
    assert blank_note(v.fillna(0)) == ""
    assert blank_note(v) == ("2 of 3 samples blank — b: protein not measured; "
                             "c: protein not measured")
    why = pd.Series({"a": "", "b": "2 of 10 members measured (< 5)", "c": ""})
    assert "b: 2 of 10 members measured (< 5); c: no value" in blank_note(v, why)
    assert "(+1)" in blank_note(v, why, limit=1)


def test_process_options_map_to_processing_params():
    p = ProcessOptions(valid_mode="global", min_valid_pct=50, normalise="quantile",
                       impute="knn").processing_params()
    assert dataclasses.astuple(p)[:6] == ("auto", "quantile", 0.5, "global", "class", "knn")
    assert ProcessOptions(valid_groups="class,region").processing_params().valid_groups == \
        "class,region"
