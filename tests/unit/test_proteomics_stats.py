"""Statistics, normalisation, imputation and PCA against scipy / statsmodels / scikit-learn
or reference implementations written from the published formulas (to 1e-6)."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.proteomics import differential as dfx
from napari_dvp.core.proteomics.pca import pca
from napari_dvp.core.proteomics.processing import (
    ProcessingParams,
    impute_downshift,
    impute_knn,
    median_normalise,
    process,
    quantile_normalise,
)

from ._proteomics_reference import knn_reference, limma_reference, quantile_reference, student
from ._proteomics_reference import welch as welch_ref

TOL = {"rtol": 1e-6, "atol": 1e-9}


def _log2(seed=0, n_s=12, n_p=300, missing=0.1, groups=("A", "B", "C")):
    rng = np.random.default_rng(seed)
    base = rng.normal(20, 2, n_p)
    lab = np.array([groups[i % len(groups)] for i in range(n_s)], dtype=object)
    L = base + rng.normal(0, rng.uniform(0.2, 1.0, n_p), (n_s, n_p))
    L[lab == groups[0], :30] += 1.5
    L[rng.random(L.shape) < missing] = np.nan
    var = pd.DataFrame({"protein_ids": "", "protein_names": "", "gene": [f"G{i}" for i in
                        range(n_p)], "genes": [f"G{i}" for i in range(n_p)], "description": ""},
                       index=[f"P{i}" for i in range(n_p)])
    obs = pd.DataFrame({"class": lab, "patient": [f"pt{i // len(groups)}" for i in range(n_s)]},
                       index=[f"S{i}" for i in range(n_s)])
    a = ad.AnnData(X=L, obs=obs, var=var)
    a.uns["log2"] = {"input_is_log2": True, "decided_by": "test", "detail": ""}
    return a


def test_welch_student_bh_vs_scipy_statsmodels():
    from statsmodels.stats.multitest import multipletests

    a = _log2()
    A, B = a.X[a.obs["class"] == "A"], a.X[a.obs["class"] == "B"]
    for test, ref in (("welch", welch_ref), ("student", student)):
        res = dfx.compare(a, "class", "A", "B", test=test)
        t, p = ref(A, B)
        np.testing.assert_allclose(res["t"], t, **TOL)
        np.testing.assert_allclose(res["p"], p, **TOL)
        ok = np.isfinite(p)
        bh = multipletests(p[ok], method="fdr_bh")[1]
        np.testing.assert_allclose(res["q"].to_numpy()[ok], bh, **TOL)
        assert res.attrs["test"] == test
    fc = dfx.compare(a, "class", "A", test="welch")  # A vs all others
    rest = a.X[a.obs["class"] != "A"]
    np.testing.assert_allclose(fc["log2_fc"], np.nanmean(A, 0) - np.nanmean(rest, 0), **TOL)


def test_paired_t_vs_scipy():
    a = _log2(seed=1, missing=0.05)
    res = dfx.compare(a, "class", "A", "B", test="paired", pair_by="patient")
    A = a.X[(a.obs["class"] == "A").to_numpy()]
    B = a.X[(a.obs["class"] == "B").to_numpy()]  # patients pt0..pt3 in the same order
    for j in range(a.n_vars):
        both = np.isfinite(A[:, j]) & np.isfinite(B[:, j])
        if both.sum() < 2:
            assert np.isnan(res["p"].iloc[j])
            continue
        r = stats.ttest_rel(A[both, j], B[both, j])
        assert res["t"].iloc[j] == pytest.approx(r.statistic, rel=1e-6)
        assert res["p"].iloc[j] == pytest.approx(r.pvalue, rel=1e-6)
    with pytest.raises(DvpInputError, match="pair-by"):
        dfx.compare(a, "class", "A", "B", test="paired")


def test_moderated_t_vs_reference_from_smyth_2004():
    for seed, missing in ((2, 0.0), (3, 0.15)):
        a = _log2(seed=seed, missing=missing)
        res = dfx.compare(a, "class", "A", "B", test="limma")
        A, B = a.X[a.obs["class"] == "A"], a.X[a.obs["class"] == "B"]
        t, p, s0, d0 = limma_reference(A, B)
        np.testing.assert_allclose(res["t"], t, **TOL)
        np.testing.assert_allclose(res["p"], p, **TOL)
        assert res["prior_s2"].iloc[0] == pytest.approx(s0, rel=1e-6)
        assert res["prior_df"].iloc[0] == pytest.approx(d0, rel=1e-6)
        assert np.isfinite(d0) and d0 > 0
    # shrinkage: a protein with a tiny variance gets a smaller |t| than with Student
    st = dfx.compare(a, "class", "A", "B", test="student")
    j = int(np.nanargmin(res["s2"]))
    assert abs(res["t"].iloc[j]) < abs(st["t"].iloc[j])


def test_trigamma_inverse():
    from scipy.special import polygamma

    x = np.array([1e-8, 0.01, 0.5, 3.0, 50.0, 1e8])
    y = dfx.trigamma_inverse(x)
    mid = (x > 1e-6) & (x < 1e7)
    np.testing.assert_allclose(polygamma(1, y[mid]), x[mid], rtol=1e-8)


def test_anova_and_tukey_vs_scipy_statsmodels():
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm
    from statsmodels.stats.multicomp import pairwise_tukeyhsd

    a = _log2(seed=4, n_s=15, n_p=120, missing=0.08)
    table, tukey = dfx.anova(a, "class", posthoc_top=3)
    lab = a.obs["class"].to_numpy()
    for j in range(a.n_vars):
        groups = [finite for g in ("A", "B", "C")
                  if len(finite := a.X[lab == g, j][np.isfinite(a.X[lab == g, j])]) >= 2]
        if len(groups) < 2:
            assert np.isnan(table["p"].iloc[j])
            continue
        r = stats.f_oneway(*groups)
        assert table["F"].iloc[j] == pytest.approx(r.statistic, rel=1e-6)
        assert table["p"].iloc[j] == pytest.approx(r.pvalue, rel=1e-6, abs=1e-12)
    j = 0
    ok = np.isfinite(a.X[:, j])
    df = pd.DataFrame({"y": a.X[ok, j], "g": lab[ok]})
    lm = anova_lm(ols("y ~ C(g)", data=df).fit())
    assert table["F"].iloc[j] == pytest.approx(lm["F"].iloc[0], rel=1e-6)
    assert len(tukey) == 3 * 3  # 3 proteins x 3 pairs
    for pid, sub in tukey.groupby("protein_id"):
        j = a.var_names.get_loc(pid)
        vals = {g: a.X[lab == g, j][np.isfinite(a.X[lab == g, j])] for g in ("A", "B", "C")}
        ref = stats.tukey_hsd(vals["A"], vals["B"], vals["C"])
        sm = pairwise_tukeyhsd(np.concatenate(list(vals.values())),
                               np.repeat(list(vals), [len(v) for v in vals.values()]))
        idx = {"A": 0, "B": 1, "C": 2}
        for r in sub.itertuples():
            i, k = idx[r.group_a], idx[r.group_b]
            assert r.diff == pytest.approx(ref.statistic[i, k], rel=1e-6)
            assert r.p_adj == pytest.approx(ref.pvalue[i, k], rel=1e-6, abs=1e-9)
            smd = dict(zip(zip(sm.groupsunique[sm._multicomp.pairindices[0]],
                               sm.groupsunique[sm._multicomp.pairindices[1]], strict=True),
                           sm.meandiffs, strict=True))
            key = (r.group_a, r.group_b) if (r.group_a, r.group_b) in smd else \
                (r.group_b, r.group_a)
            sign = -1 if key == (r.group_a, r.group_b) else 1  # statsmodels: b - a
            assert smd[key] == pytest.approx(sign * r.diff, rel=1e-6)


def test_median_and_quantile_normalisation_vs_reference():
    rng = np.random.default_rng(5)
    L = rng.normal(20, 2, (6, 50)) + rng.normal(0, 1, (6, 1))
    med = np.median(L, axis=1)
    np.testing.assert_allclose(median_normalise(L), L - med[:, None] + np.median(med), **TOL)
    # textbook quantile normalisation on complete data
    srt = np.sort(L, axis=1).mean(axis=0)
    ranks = np.argsort(np.argsort(L, axis=1), axis=1)
    np.testing.assert_allclose(quantile_normalise(L), srt[ranks], **TOL)
    L[rng.random(L.shape) < 0.2] = np.nan
    L[0, :3] = L[0, 3]  # ties
    np.testing.assert_allclose(quantile_normalise(L), quantile_reference(L), **TOL)


def test_downshift_and_knn_imputation_vs_reference():
    rng = np.random.default_rng(6)
    L = rng.normal(20, 2, (8, 40))
    L[rng.random(L.shape) < 0.15] = np.nan
    filled, mask = impute_downshift(L, seed=11)
    ref_rng = np.random.default_rng(11)
    mu, sd = np.nanmean(L, 1, keepdims=True), np.nanstd(L, 1, keepdims=True)
    draws = ref_rng.normal(mu - 1.8 * sd, 0.3 * sd, L.shape)
    np.testing.assert_allclose(filled[mask], draws[mask], **TOL)
    np.testing.assert_array_equal(filled[~mask], L[~mask])
    knn, kmask = impute_knn(L, k=3)
    np.testing.assert_allclose(knn, knn_reference(L, 3), **TOL)
    assert kmask.sum() == np.isnan(L).sum()


def test_pca_vs_sklearn():
    from sklearn.decomposition import PCA

    a = _log2(seed=7, missing=0.0)
    res = pca(a, n_components=3)
    sk = PCA(n_components=3, svd_solver="full").fit(a.X)
    np.testing.assert_allclose(res.explained, sk.explained_variance_ratio_, **TOL)
    ref = sk.transform(a.X)
    for k in range(3):  # components are defined up to sign
        s = np.sign(np.dot(res.scores.iloc[:, k], ref[:, k]))
        np.testing.assert_allclose(res.scores.iloc[:, k], s * ref[:, k], rtol=1e-6, atol=1e-8)
    b = _log2(seed=7, missing=0.3, n_p=5)
    with pytest.raises(DvpInputError, match="impute"):
        pca(b)


def test_process_choices_and_per_group_filter():
    a = _log2(seed=8, missing=0.0)
    a.X[a.obs["class"] != "A", :10] = np.nan  # 10 proteins measured only in class A (4 of 12)
    g = process(a, ProcessingParams(min_valid=0.7))
    glob = process(a, ProcessingParams(min_valid=0.7, valid_mode="global"))
    assert set(a.var_names[:10]) <= set(g.var_names)
    assert not set(a.var_names[:10]) & set(glob.var_names)
    pr = g.uns["processing"]
    assert pr["proteins_kept_per_group_rule"] == g.n_vars == a.n_vars
    assert pr["proteins_kept_global_rule"] == glob.n_vars == a.n_vars - 10
    assert "at least one of 3 class group" in pr["valid_rule"]
    assert not pr["log2_applied"] and pr["input_is_log2"]
    q = process(a, ProcessingParams(normalise="quantile", impute="knn", min_valid=0.3))
    assert q.uns["processing"]["imputed_values"] == int(q.layers["imputed"].sum()) > 0
    legacy = ProcessingParams(impute=True)
    assert legacy.impute == "downshift"
    with pytest.raises(DvpInputError, match="imputation"):
        process(a, ProcessingParams(impute="mice"))
