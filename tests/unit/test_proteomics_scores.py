"""Processing and scores against independent computations (numpy by hand, scipy, decoupler)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.proteomics.genesets import GeneSet, bundled_gene_sets, parse_gmt, read_gmt
from napari_dvp.core.proteomics.processing import ProcessingParams, process
from napari_dvp.core.proteomics.scores import (
    bh_adjust,
    compare_groups,
    decoupler_scores,
    gene_set_scores,
    protein_values,
    search_proteins,
    set_members,
)


def _adata(seed=0, n_s=8, n_p=40, missing=0.1):
    rng = np.random.default_rng(seed)
    X = np.exp2(rng.normal(20, 2, (n_s, n_p)))
    X[rng.random(X.shape) < missing] = np.nan
    genes = [f"G{i}" for i in range(n_p)]
    genes[0], genes[1], genes[2] = "STAT1", "STAT3;STAT3B", "JAK1"
    var = pd.DataFrame({"protein_ids": genes, "protein_names": "", "gene": [g.split(";")[0]
                        for g in genes], "genes": genes, "description": ""},
                       index=[f"P{i}" for i in range(n_p)])
    obs = pd.DataFrame({"class": ["keratinocyte"] * (n_s // 2) + ["macrophage"] * (n_s // 2)},
                       index=[f"S{i}" for i in range(n_s)])
    return ad.AnnData(X=X, obs=obs, var=var)


def _by_hand(X, min_valid):
    L = np.log2(X)
    med = np.array([np.median(r[np.isfinite(r)]) for r in L])
    L = L - med[:, None] + np.median(med)
    keep = np.array([np.isfinite(c).mean() >= min_valid for c in L.T])
    L = L[:, keep]
    Z = np.empty_like(L)
    for j in range(L.shape[1]):
        col = L[:, j]
        ok = np.isfinite(col)
        Z[:, j] = (col - col[ok].mean()) / col[ok].std(ddof=1)
    return L, Z, keep


def test_process_matches_hand_computation():
    a = _adata()
    p = process(a, ProcessingParams(min_valid=0.8, valid_mode="global"))
    L, Z, keep = _by_hand(a.X, 0.8)
    np.testing.assert_allclose(p.X, L)
    np.testing.assert_allclose(p.layers["z"], Z)
    assert p.n_vars == keep.sum() < a.n_vars
    assert not p.layers["imputed"].any() and p.uns["processing"]["imputed_values"] == 0


def test_imputation_is_marked():
    a = _adata(missing=0.2)
    p = process(a, ProcessingParams(min_valid=0.5, impute=True, seed=3))
    assert np.isfinite(p.X).all()
    mask = p.layers["imputed"]
    assert mask.sum() == p.uns["processing"]["imputed_values"] > 0
    ref = process(a, ProcessingParams(min_valid=0.5))
    np.testing.assert_array_equal(mask, ~np.isfinite(ref.X))
    # imputed values sit low (down-shifted distribution)
    assert np.nanmean(p.X[mask]) < np.nanmean(p.X[~mask]) - 1


def test_process_bad_inputs():
    a = _adata()
    with pytest.raises(DvpInputError, match="at least two"):
        process(a[:1])
    with pytest.raises(DvpInputError, match="lower the valid-value"):
        process(_adata(missing=0.9), ProcessingParams(min_valid=1.0))
    with pytest.raises(DvpInputError, match="normalisation"):
        process(a, ProcessingParams(normalise="vsn"))


def test_gene_set_mean_z_vs_numpy():
    a = _adata()
    p = process(a, ProcessingParams(min_valid=0.0))
    gs = {"JS": GeneSet("JS", "test", ("STAT1", "STAT3", "JAK1", "NOPE1", "NOPE2")),
          "low": GeneSet("low", "test", ("G5", *tuple(f"X{i}" for i in range(20))))}
    res = gene_set_scores(p, gs, min_coverage=0.3, min_members=3)
    Z = p.layers["z"][:, [0, 1, 2]]
    n = np.isfinite(Z).sum(axis=1)
    expect = np.array([row[np.isfinite(row)].mean() if k >= 3 else np.nan
                       for row, k in zip(Z, n, strict=True)])
    assert (n < 3).any() and (n == 3).any()  # the data exercise both branches
    np.testing.assert_allclose(res.scores["JS"].to_numpy(), expect)
    np.testing.assert_array_equal(res.members["JS"].to_numpy(), n)
    assert all(("2 of 3 members measured" in r) == (k == 2)
               for r, k in zip(res.reasons["JS"], n, strict=True))
    cov = res.coverage.set_index("set")
    assert cov.loc["JS", "n_found"] == 3 and cov.loc["JS", "coverage"] == pytest.approx(0.6)
    assert cov.loc["JS", "proteins"] == "JAK1;STAT1;STAT3"
    assert not cov.loc["low", "scored"] and "below the minimum" in cov.loc["low", "note"]
    assert res.scores["low"].isna().all()
    with pytest.raises(DvpInputError, match="no protein in the data"):
        gene_set_scores(p, {"none": GeneSet("none", "", ("XYZ1", "XYZ2"))})


def test_duplicate_gene_groups_use_most_measured():
    a = _adata(missing=0.0)
    a.var.loc["P5", ["gene", "genes"]] = ["STAT1", "STAT1"]
    a.X[:3, 0] = np.nan  # P0 (STAT1) measured less often than P5
    pos, found = set_members(a, GeneSet("s", "", ("STAT1",)))
    assert list(pos) == [5] and found == ["STAT1"]


def test_decoupler_ulm_and_zscore_vs_numpy():
    pytest.importorskip("decoupler")
    a = _adata(n_p=60, missing=0.0)
    p = process(a, ProcessingParams(min_valid=0.0))
    gs = {"A": GeneSet("A", "", ("G10", "G11", "G12", "G13", "G14")),
          "B": GeneSet("B", "", ("G20", "G21", "G22", "G23"))}
    ulm = decoupler_scores(p, gs, "ulm")
    zs = decoupler_scores(p, gs, "zscore")
    Z = p.layers["z"]
    for name, members in (("A", [10, 11, 12, 13, 14]), ("B", [20, 21, 22, 23])):
        x = np.zeros(Z.shape[1])
        x[members] = 1.0
        for i in range(Z.shape[0]):
            fit = stats.linregress(x, Z[i])
            assert ulm.loc[p.obs_names[i], name] == pytest.approx(fit.slope / fit.stderr,
                                                                  rel=1e-6)
            y = Z[i]
            expect = (y[members].mean() - y.mean()) * np.sqrt(len(members)) / y.std(ddof=1)
            assert zs.loc[p.obs_names[i], name] == pytest.approx(expect, rel=1e-3, abs=1e-6)
    via = gene_set_scores(p, gs, method="ulm", min_coverage=0.5, min_members=4).scores
    np.testing.assert_allclose(via[["A", "B"]].to_numpy(), ulm[["A", "B"]].to_numpy())


def test_welch_and_bh_vs_scipy():
    a = _adata(n_s=10, missing=0.15)
    p = process(a, ProcessingParams(min_valid=0.0))
    ga = np.arange(10) < 5
    res = compare_groups(p, ga, ~ga)
    for j in range(p.n_vars):
        xa, xb = p.X[ga, j], p.X[~ga, j]
        xa, xb = xa[np.isfinite(xa)], xb[np.isfinite(xb)]
        row = res.iloc[j]
        if len(xa) < 2 or len(xb) < 2:
            assert np.isnan(row["p"])
            continue
        ref = stats.ttest_ind(xa, xb, equal_var=False)
        assert row["t"] == pytest.approx(ref.statistic)
        assert row["p"] == pytest.approx(ref.pvalue)
        assert row["log2_fc"] == pytest.approx(xa.mean() - xb.mean())
    ok = np.isfinite(res["p"].to_numpy())
    np.testing.assert_allclose(res["q"].to_numpy()[ok],
                               stats.false_discovery_control(res["p"].to_numpy()[ok]))
    np.testing.assert_allclose(bh_adjust(np.array([0.01, np.nan, 0.04])), [0.02, np.nan, 0.04])
    by_id = compare_groups(p, list(p.obs_names[:5]), list(p.obs_names[5:]))
    np.testing.assert_allclose(by_id["t"], res["t"])
    with pytest.raises(DvpInputError, match="at least two"):
        compare_groups(p, ga & (np.arange(10) < 1), ~ga)


def test_protein_values_and_search():
    p = process(_adata(), ProcessingParams(min_valid=0.0))
    v = protein_values(p, "stat3")
    np.testing.assert_allclose(v.to_numpy(), p.layers["z"][:, 1])
    assert v.name == "STAT3"
    assert protein_values(p, "P2", layer=None).name == "JAK1"
    assert search_proteins(p, "stat")[:2] == ["STAT1", "STAT3"]
    with pytest.raises(DvpInputError, match="not in the data"):
        protein_values(p, "NOPE")


def test_bundled_and_user_gmt(tmp_path):
    sets = bundled_gene_sets()
    assert set(sets) == {"HALLMARK_IL6_JAK_STAT3_SIGNALING", "HALLMARK_INTERFERON_ALPHA_RESPONSE",
                         "HALLMARK_INTERFERON_GAMMA_RESPONSE",
                         "REACTOME_Interferon_alpha_beta_signaling",
                         "REACTOME_Interferon_gamma_signaling"}
    assert len(sets["HALLMARK_INTERFERON_GAMMA_RESPONSE"].genes) == 200
    assert "CC BY" in sets["HALLMARK_IL6_JAK_STAT3_SIGNALING"].description
    assert sets["HALLMARK_INTERFERON_GAMMA_RESPONSE"].label == "IFN-γ response score"
    gmt = tmp_path / "mine.gmt"
    gmt.write_text("MY_SET\tmine\tstat1\tSTAT3\n\n#comment\nOTHER\tx\tJAK1\n")
    mine = read_gmt(gmt)
    assert mine["MY_SET"].genes == ("STAT1", "STAT3")
    with pytest.raises(DvpInputError, match="not a GMT line"):
        parse_gmt("A B C\n")
    with pytest.raises(DvpInputError, match="twice"):
        parse_gmt("A\td\tX\nA\td\tY\n")
    with pytest.raises(DvpInputError, match="does not exist"):
        read_gmt(tmp_path / "missing.gmt")
