"""Matching MS runs to LMD samples, with messy run names."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.proteomics.matching import (
    apply_matches,
    match_runs,
    normalise_well,
    read_manifest,
    set_match,
)


def _manifest(ids=("S1", "S2", "S3", "TEN_kera_07"), wells=("A1", "B12", "P24", "C3")):
    return pd.DataFrame({"sample_id": list(ids), "well": list(wells),
                         "class": ["keratinocyte", "CD8 T cell", "macrophage", "fibroblast"],
                         "region": ["epidermis", "dermis", "dermis", "blister"],
                         "replicate": [1, 1, 1, 2], "n_cells": [2, 1, 1, 1],
                         "area_um2": [10.0, 5.0, 5.0, 5.0], "n_shapes": [2, 1, 1, 1],
                         "cell_ids": ["1;2", "3", "4", "5"]})


def test_normalise_well():
    assert normalise_well("a01") == "A1"
    assert normalise_well("P24") == "P24"
    assert normalise_well("Q1") is None and normalise_well("A25") is None
    assert normalise_well("A0") is None and normalise_well("TEN") is None


def test_match_messy_names():
    runs = ["S1",                                   # exact
            "D:\\data\\2024\\TEN_S2_rep1.d",         # sample id token inside a path
            "/mnt/raw/20240101_plate1_P24_DIA.raw",  # well token (no sample id)
            "D:\\x\\run_b012.d",  # zero-padded well B12 = S2 too: conflict
            "ten-kera-07.raw",                       # multi-token sample id, other separators
            "blank_01.d",                            # nothing
            "mix_A1_C3.d"]                           # two wells -> ambiguous
    t = match_runs(runs, _manifest()).set_index("run")
    assert t.loc["S1", ["sample_id", "rule", "status"]].tolist() == ["S1", "exact", "matched"]
    assert t.loc["/mnt/raw/20240101_plate1_P24_DIA.raw", "sample_id"] == "S3"
    assert t.loc["/mnt/raw/20240101_plate1_P24_DIA.raw", "rule"] == "well in name"
    assert t.loc["ten-kera-07.raw", "sample_id"] == "TEN_kera_07"
    assert t.loc["ten-kera-07.raw", "rule"] == "sample id in name"
    assert t.loc["blank_01.d", "status"] == "unmatched"
    assert t.loc["mix_A1_C3.d", "status"] == "ambiguous"
    assert "S1" in t.loc["mix_A1_C3.d", "reason"] and "TEN_kera_07" in t.loc["mix_A1_C3.d",
                                                                             "reason"]
    # two runs for S2 -> both flagged, none silently kept
    for run in ("D:\\data\\2024\\TEN_S2_rep1.d", "D:\\x\\run_b012.d"):
        assert t.loc[run, "status"] == "conflict"
        assert "S2" in t.loc[run, "reason"]


def test_sample_token_does_not_match_prefix():
    t = match_runs(["S10", "S1_x"], _manifest(ids=("S1", "S2", "S3", "S4")))
    assert t["status"].tolist() == ["unmatched", "matched"]


def test_manual_correction_and_apply(tmp_path):
    man = _manifest()
    runs = ["D:\\r\\TEN_A1.d", "D:\\r\\TEN_B12.d", "D:\\r\\TEN_B12_reinject.d", "blank.d"]
    t = match_runs(runs, man)
    assert (t["status"] == "conflict").sum() == 2
    t = set_match(t, "D:\\r\\TEN_B12_reinject.d", "", man)
    assert t.set_index("run").loc["D:\\r\\TEN_B12.d", "status"] == "matched"
    t = set_match(t, "blank.d", "S3", man)
    assert t.set_index("run").loc["blank.d", "rule"] == "manual"
    X = np.arange(8, dtype=float).reshape(4, 2)
    adata = ad.AnnData(X=X, obs=pd.DataFrame({"run": runs}, index=runs),
                       var=pd.DataFrame(index=["P1", "P2"]))
    sub, report = apply_matches(adata, t, man)
    assert list(sub.obs_names) == ["S1", "S2", "S3"]
    assert list(sub.obs["class"]) == ["keratinocyte", "CD8 T cell", "macrophage"]
    np.testing.assert_array_equal(sub.X, X[[0, 1, 3]])
    assert report.unmatched_runs == ["D:\\r\\TEN_B12_reinject.d"]
    assert report.unmatched_samples == ["TEN_kera_07"]
    assert any("not matched" in line for line in report.lines())
    with pytest.raises(DvpInputError, match="not in the manifest"):
        set_match(t, "blank.d", "S99", man)


def test_zero_matches_and_bad_manifest(tmp_path):
    man = _manifest()
    t = match_runs(["foo.d", "bar.d"], man)
    adata = ad.AnnData(X=np.ones((2, 1)), obs=pd.DataFrame(index=["foo.d", "bar.d"]))
    with pytest.raises(DvpInputError, match="no MS run matched"):
        apply_matches(adata, t, man)
    p = tmp_path / "manifest.csv"
    man.drop(columns=["region", "cell_ids"]).to_csv(p, index=False)
    with pytest.raises(DvpInputError, match="lacks column"):
        read_manifest(p)
    man2 = pd.concat([man, man.iloc[:1]])
    man2.to_csv(p, index=False)
    with pytest.raises(DvpInputError, match="twice"):
        read_manifest(p)
    man.to_csv(p, index=False)
    back = read_manifest(p)
    assert back["cell_ids"].iloc[0] == "1;2" and back["sample_id"].iloc[0] == "S1"
    with pytest.raises(DvpInputError, match="does not exist"):
        read_manifest(tmp_path / "nope.csv")
