"""Agreement of napari-dvp's proteomics statistics with reference implementations, and the
effect of the per-group valid-value filter, on the demo data and a real public matrix.

Data:

* **demo**: ``core/proteomics/synthetic.py`` for 24 LMD samples (4 classes x 2 regions x
  3 replicates; the paired test pairs a patient's classes), seeds 0-4 (mean and worst
  over the seeds);
* **real**: ``../shared/data/proteomics/diann_report.pg_matrix.tsv`` (DIA-NN, 10 protein
  groups x 20 runs, MannLabs/alphapeptstats test file); groups S1-S10 vs S11-S20, and
  three groups S1-7 / S8-14 / S15-20 for ANOVA.
* **real_maxquant**: ``../shared/data/proteomics/maxquant_proteinGroups.txt`` (MaxQuant
  LFQ, 773 protein groups x 10 runs after removing reverse / contaminant / site-only
  groups, 37 % of the values measured; MannLabs/alphapeptstats test file); its own
  design, the 5 ``AC`` runs vs the 5 ``UT`` runs, and for ANOVA AC / UT805-815 /
  UT821-822 (no gene names in this file: no set scores).

References (the same numbers in, the maximum absolute difference out): scipy
(``ttest_ind``, ``ttest_rel``, ``f_oneway``, ``tukey_hsd``, ``linregress`` for decoupler's
ulm), statsmodels (``multipletests`` BH), scikit-learn (PCA), and the implementations written
from the published formulas in ``tests/unit/_proteomics_reference.py`` (limma moderated t,
quantile normalisation, kNN imputation on the first 150 proteins, mean-z set score).

Run: ``.venv/bin/python bench/bench_proteomics_agreement.py [n_seeds]`` (5); writes
``bench/results/proteomics_agreement.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.decomposition import PCA
from statsmodels.stats.multitest import multipletests

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.proteomics import differential as dfx
from napari_dvp.core.proteomics.genesets import GeneSet, bundled_gene_sets
from napari_dvp.core.proteomics.matching import apply_matches, match_runs
from napari_dvp.core.proteomics.pca import pca
from napari_dvp.core.proteomics.processing import (
    ProcessingParams,
    impute_knn,
    process,
    quantile_normalise,
)
from napari_dvp.core.proteomics.readers import read_proteomics
from napari_dvp.core.proteomics.scores import gene_set_scores
from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))
from _proteomics_reference import (  # noqa: E402
    knn_reference,
    limma_reference,
    quantile_reference,
    student,
    welch,
)

KNN_PROTEINS = 150
REAL = ROOT.parent / "shared" / "data" / "proteomics" / "diann_report.pg_matrix.tsv"
REAL_MQ = ROOT.parent / "shared" / "data" / "proteomics" / "maxquant_proteinGroups.txt"


def _maxdiff(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    same_nan = np.isnan(a) == np.isnan(b)
    if not same_nan.all():
        return float("inf")
    ok = np.isfinite(a)
    return float(np.max(np.abs(a[ok] - b[ok]))) if ok.any() else 0.0


def _manifest() -> pd.DataFrame:
    rows, k = [], 0
    for cls in ("keratinocyte", "CD8 T cell", "macrophage", "fibroblast"):
        for reg in ("epidermis", "blister"):
            for rep in range(3):
                rows.append({"sample_id": f"TEN_{k:02d}",
                             "well": f"{'CDEFGHIJ'[k // 3]}{3 + k % 3}", "class": cls,
                             "region": reg, "replicate": rep + 1,
                             "patient": f"pt_{reg}_{rep}", "cell_ids": str(k + 1)})
                k += 1
    return pd.DataFrame(rows)


def _agreement(proc, groups_col, a, b, anova_col, pair_by=None, sets=None, min_members=5):
    M, lab = proc.X, proc.obs[groups_col].astype(str).to_numpy()
    A, B = M[lab == a], M[lab == b]
    out = {}
    for test, ref in (("welch", welch), ("student", student)):
        r = dfx.compare(proc, groups_col, a, b, test=test)
        t, p = ref(A, B)
        ok = np.isfinite(p)
        out[f"{test}_t"] = _maxdiff(r["t"], t)
        out[f"{test}_p"] = _maxdiff(r["p"], p)
        out[f"{test}_bh_q"] = _maxdiff(r["q"].to_numpy()[ok], multipletests(p[ok],
                                                                            method="fdr_bh")[1])
    r = dfx.compare(proc, groups_col, a, b, test="limma")
    t, p, _, _ = limma_reference(A, B)
    out["limma_t"], out["limma_p"] = _maxdiff(r["t"], t), _maxdiff(r["p"], p)
    if pair_by:
        r = dfx.compare(proc, groups_col, a, b, test="paired", pair_by=pair_by)
        key = proc.obs[pair_by].astype(str).to_numpy()
        ka, kb = list(key[lab == a]), list(key[lab == b])
        common = [k for k in ka if k in kb]
        PA = A[[ka.index(k) for k in common]]
        PB = B[[kb.index(k) for k in common]]
        ref_t = []
        for j in range(M.shape[1]):
            both = np.isfinite(PA[:, j]) & np.isfinite(PB[:, j])
            ref_t.append(stats.ttest_rel(PA[both, j], PB[both, j]).statistic
                         if both.sum() >= 2 else np.nan)
        out["paired_t"] = _maxdiff(r["t"], ref_t)
    table, tukey = dfx.anova(proc, anova_col, posthoc_top=5, posthoc_q=1.0)
    glab = proc.obs[anova_col].astype(str).to_numpy()
    ref_f = []
    for j in range(M.shape[1]):
        gs = [M[glab == g, j][np.isfinite(M[glab == g, j])] for g in pd.unique(glab)]
        gs = [g for g in gs if len(g) >= 2]
        ref_f.append(stats.f_oneway(*gs).statistic if len(gs) >= 2 else np.nan)
    out["anova_F"] = _maxdiff(table["F"], ref_f)
    worst = 0.0
    for pid, sub in tukey.groupby("protein_id"):
        j = proc.var_names.get_loc(pid)
        names = list(pd.unique(glab))
        vals = [M[glab == g, j][np.isfinite(M[glab == g, j])] for g in names]
        ref = stats.tukey_hsd(*vals)
        for row in sub.itertuples():
            i, k = names.index(row.group_a), names.index(row.group_b)
            worst = max(worst, abs(row.p_adj - ref.pvalue[i, k]), abs(row.diff -
                                                                      ref.statistic[i, k]))
    out["tukey_p_and_diff"] = worst
    complete = np.isfinite(M).all(axis=0)
    if complete.sum() >= 3:
        res = pca(proc, n_components=2)
        sk = PCA(n_components=2, svd_solver="full").fit_transform(M[:, complete])
        sign = np.sign(np.sum(res.scores.to_numpy() * sk, axis=0))
        out["pca_scores"] = _maxdiff(res.scores.to_numpy(), sk * sign)
    out["quantile_norm"] = _maxdiff(quantile_normalise(M), quantile_reference(M))
    sub = M[:, :KNN_PROTEINS]  # the reference loops in Python: a subset of the proteins
    knn, _ = impute_knn(sub, k=3)
    out["knn_impute"] = _maxdiff(knn, knn_reference(sub, 3))
    if sets:
        sc = gene_set_scores(proc, sets, min_members=min_members, min_coverage=0.0)
        Z = proc.layers["z"]
        worst = 0.0
        for name in sets:
            from napari_dvp.core.proteomics.scores import set_members

            pos, _ = set_members(proc, sets[name])
            n = np.isfinite(Z[:, pos]).sum(axis=1)
            ref = np.array([np.nanmean(row) if k >= min_members else np.nan
                            for row, k in zip(Z[:, pos], n, strict=True)])
            worst = max(worst, _maxdiff(sc.scores[name], ref))
        out["mean_z_scores"] = worst
        try:
            ulm = gene_set_scores(proc, sets, method="ulm", min_members=min_members,
                                  min_coverage=0.0)
        except DvpInputError as exc:  # decoupler refuses degenerate (tiny) data
            out["ulm_scores"] = f"not computed: {exc}"
            return out
        worst = 0.0
        Zf = np.nan_to_num(Z)
        for name in sets:
            from napari_dvp.core.proteomics.scores import set_members

            pos, _ = set_members(proc, sets[name])
            n = np.isfinite(Z[:, pos]).sum(axis=1)
            x = np.zeros(Z.shape[1])
            x[pos] = 1.0
            ref = []
            for i in range(Z.shape[0]):
                fit = stats.linregress(x, Zf[i])
                ref.append(fit.slope / fit.stderr if n[i] >= min_members else np.nan)
            worst = max(worst, _maxdiff(ulm.scores[name], ref))
        out["ulm_scores"] = worst
    return out


def _filter_effect(matched, group_col):
    g = process(matched, ProcessingParams(valid_groups=group_col)).uns["processing"]
    return {"proteins_in": g["proteins_in"], "kept_per_group_70": g["proteins_kept_per_group_rule"],
            "kept_global_70": g["proteins_kept_global_rule"],
            "kept_global_50": process(matched, ProcessingParams(
                valid_mode="global", min_valid=0.5)).n_vars}


def main() -> None:
    import tempfile

    results = {"demo": {}, "real": {}}
    man = _manifest()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 5):
            path = write_pg_matrix(synthetic_pg_matrix(man, seed=seed), Path(tmp) / f"d{seed}.tsv")
            a = read_proteomics(path)
            m, _ = apply_matches(a, match_runs(a.obs_names, man), man)
            proc = process(m, ProcessingParams())
            agr = _agreement(proc, "class", "CD8 T cell", "keratinocyte", "class",
                             pair_by="patient", sets=bundled_gene_sets())
            results["demo"][f"seed{seed}"] = {"agreement": agr,
                                              "filter": _filter_effect(m, "class")}
    if REAL.is_file():
        a = read_proteomics(REAL)
        a.obs["half"] = ["first" if int(r[1:]) <= 10 else "second" for r in a.obs_names]
        a.obs["third"] = [("S1-7", "S8-14", "S15-20")[min((int(r[1:]) - 1) // 7, 2)]
                          for r in a.obs_names]
        proc = process(a, ProcessingParams(valid_groups="half", min_valid=0.5))
        genes = [g for g in proc.var["gene"] if g][:8]
        sets = {"REAL8": GeneSet("REAL8", "", tuple(genes))}
        results["real"] = {"agreement": _agreement(proc, "half", "first", "second", "third",
                                                   sets=sets, min_members=3),
                           "filter": _filter_effect(a, "half"),
                           "log2": a.uns["log2"], "shape": list(a.shape)}
    if REAL_MQ.is_file():
        a = read_proteomics(REAL_MQ)
        a.obs["design"] = [r[:2] for r in a.obs_names]
        a.obs["three"] = ["AC" if r.startswith("AC") else "UT1" if r < "UT816" else "UT2"
                          for r in a.obs_names]
        proc = process(a, ProcessingParams(valid_groups="design", min_valid=0.5))
        results["real_maxquant"] = {
            "agreement": _agreement(proc, "design", "AC", "UT", "three"),
            "filter": _filter_effect(a, "design"), "log2": a.uns["log2"],
            "shape": list(a.shape), "proteins_tested": int(proc.n_vars)}
    keys = sorted(results["demo"]["seed0"]["agreement"])
    summary = {k: {"demo_mean": float(np.mean([results["demo"][s]["agreement"][k]
                                               for s in results["demo"]])),
                   "demo_worst": float(np.max([results["demo"][s]["agreement"][k]
                                               for s in results["demo"]])),
                   "real": results["real"].get("agreement", {}).get(k),
                   "real_maxquant": results.get("real_maxquant", {}).get("agreement", {})
                   .get(k)} for k in keys}
    results["summary"] = summary
    for k, v in summary.items():
        real, mq = (x if not isinstance(x, float) else f"{x:.2e}"
                    for x in (v["real"], v["real_maxquant"]))
        print(f"{k:20s} demo mean {v['demo_mean']:.2e} worst {v['demo_worst']:.2e}  "
              f"real DIA-NN {real}  real MaxQuant {mq}")
    for s, r in results["demo"].items():
        print(s, r["filter"])
    if results["real"]:
        print("real", results["real"]["filter"], results["real"]["log2"]["detail"])
    if "real_maxquant" in results:
        r = results["real_maxquant"]
        print("real MaxQuant", r["shape"], "tested", r["proteins_tested"], r["filter"],
              r["log2"]["detail"])
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / "proteomics_agreement.json").write_text(json.dumps(results, indent=2, default=str)
                                                   + "\n")


if __name__ == "__main__":
    main()
