"""Differential abundance per protein: the tests a DVP paper uses, vectorised over proteins.

All functions take log2 values (samples x proteins, NaN = missing) and use, per
protein, the samples that have a value.

* **Welch t** (unequal variances, Welch-Satterthwaite df) and **Student t** (pooled
  variance, df = n_a + n_b - 2): as :func:`scipy.stats.ttest_ind`.
* **paired t**: samples of A and B matched by a key (patient, replicate); the mean of
  the differences over its standard error, df = pairs - 1 (:func:`scipy.stats.ttest_rel`).
* **moderated t** (limma, Smyth 2004, *Stat Appl Genet Mol Biol* 3:3): the pooled
  residual variances s_g^2 (d_g = n_a + n_b - 2 residual df per protein) are shrunk
  towards a prior s_0^2 with d_0 prior df, both estimated from all proteins by moment
  matching of log s_g^2 (limma's ``fitFDist``: e_g = log s_g^2 - digamma(d_g/2) +
  log(d_g/2); trigamma(d_0/2) = var(e) - mean(trigamma(d_g/2)); s_0^2 = exp(mean(e) +
  digamma(d_0/2) - log(d_0/2))). Posterior variance s~_g^2 = (d_0 s_0^2 + d_g s_g^2) /
  (d_0 + d_g); t~ = (mean_a - mean_b) / (s~_g sqrt(1/n_a + 1/n_b)) with d_0 + d_g df
  (capped at the pooled df, as limma). Zero variances are offset to 1e-5 x median as
  limma does.
* **one-way ANOVA** (F test; :func:`scipy.stats.f_oneway`) and **Tukey HSD**
  (Tukey-Kramer for unequal group sizes; p from the studentized range distribution, as
  :func:`scipy.stats.tukey_hsd`) for the most significant proteins (the studentized
  range is slow to evaluate: about 10 ms per value).
* **Benjamini-Hochberg** q-values over the proteins tested.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
from scipy import special, stats

from ..errors import DvpInputError

TESTS = ("limma", "welch", "student", "paired", "anova")
TEST_LABELS = {"limma": "moderated t (limma)", "welch": "Welch t", "student": "Student t",
               "paired": "paired t", "anova": "one-way ANOVA"}


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values; NaN stays NaN."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    n = int(ok.sum())
    if n:
        pv = p[ok]
        order = np.argsort(pv)
        ranked = pv[order] * n / np.arange(1, n + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        out = np.empty(n)
        out[order] = np.minimum(ranked, 1.0)
        q[ok] = out
    return q


def moments(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: number of values, mean, sample variance (ddof 1) ignoring NaN."""
    ok = np.isfinite(M)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, M, 0.0).sum(axis=0) / n
        var = np.where(ok, (M - mean) ** 2, 0.0).sum(axis=0) / (n - 1)
    return n, mean, var


def _p_two_sided(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    ok = np.isfinite(t) & np.isfinite(df) & (df > 0)
    p = np.full(t.shape, np.nan)
    p[ok] = 2 * stats.t.sf(np.abs(t[ok]), df[ok])
    return p


def welch_t(A: np.ndarray, B: np.ndarray, min_values: int = 2) -> dict[str, np.ndarray]:
    """Welch t-test per column of ``A`` (samples of group a) vs ``B``."""
    (na, ma, va), (nb, mb, vb) = moments(A), moments(B)
    with np.errstate(invalid="ignore", divide="ignore"):
        se2 = va / na + vb / nb
        t = (ma - mb) / np.sqrt(se2)
        df = se2 ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    bad = (na < min_values) | (nb < min_values) | ~np.isfinite(t)
    t, df = np.where(bad, np.nan, t), np.where(bad, np.nan, df)
    return {"mean_a": ma, "mean_b": mb, "n_a": na, "n_b": nb, "t": t, "df": df,
            "p": _p_two_sided(t, df)}


def student_t(A: np.ndarray, B: np.ndarray, min_values: int = 2) -> dict[str, np.ndarray]:
    """Student t-test (pooled variance) per column."""
    (na, ma, va), (nb, mb, vb) = moments(A), moments(B)
    df = (na + nb - 2).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sp2 = ((na - 1) * va + (nb - 1) * vb) / df
        t = (ma - mb) / np.sqrt(sp2 * (1.0 / na + 1.0 / nb))
    bad = (na < min_values) | (nb < min_values) | ~np.isfinite(t)
    t, df = np.where(bad, np.nan, t), np.where(bad, np.nan, df)
    return {"mean_a": ma, "mean_b": mb, "n_a": na, "n_b": nb, "t": t, "df": df,
            "p": _p_two_sided(t, df)}


def paired_t(A: np.ndarray, B: np.ndarray, min_pairs: int = 2) -> dict[str, np.ndarray]:
    """Paired t-test per column; row i of ``A`` is paired with row i of ``B``."""
    D = A - B
    n, md, vd = moments(D)
    df = (n - 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = md / np.sqrt(vd / n)
    bad = (n < min_pairs) | ~np.isfinite(t)
    t, df = np.where(bad, np.nan, t), np.where(bad, np.nan, df)
    both = np.isfinite(A) & np.isfinite(B)
    ma = np.where(both, A, 0).sum(0) / np.maximum(both.sum(0), 1)
    mb = np.where(both, B, 0).sum(0) / np.maximum(both.sum(0), 1)
    ma, mb = np.where(n > 0, ma, np.nan), np.where(n > 0, mb, np.nan)
    return {"mean_a": ma, "mean_b": mb, "n_a": n, "n_b": n, "t": t, "df": df,
            "p": _p_two_sided(t, df)}


def trigamma_inverse(x: np.ndarray | float) -> np.ndarray:
    """Solve trigamma(y) = x for y > 0 (Newton's method, Smyth 2004 / limma)."""
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.full(x.shape, np.nan)
    big, small = x > 1e7, x < 1e-6
    y[big] = 1.0 / np.sqrt(x[big])
    y[small] = 1.0 / x[small]
    mid = ~big & ~small & (x > 0)
    if mid.any():
        xm = x[mid]
        ym = 0.5 + 1.0 / xm
        for _ in range(50):
            tri = special.polygamma(1, ym)
            dif = tri * (1.0 - tri / xm) / special.polygamma(2, ym)
            ym = ym + dif
            if np.max(-dif / ym) < 1e-8:
                break
        y[mid] = ym
    return y


def fit_f_dist(s2: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """Prior (s0^2, d0) of the residual variances by limma's moment matching (fitFDist)."""
    ok = np.isfinite(s2) & np.isfinite(df) & (df > 1e-15) & (s2 > -1e-15)
    x, d = np.maximum(s2[ok], 0.0), df[ok]
    if len(x) < 2:
        raise DvpInputError("the moderated t-test needs at least two proteins with a variance; "
                            "use --test welch")
    m = float(np.median(x))
    m = 1.0 if m == 0 else m
    x = np.maximum(x, 1e-5 * m)
    e = np.log(x) - special.digamma(d / 2) + np.log(d / 2)
    emean = float(e.mean())
    evar = float(((e - emean) ** 2).sum() / (len(e) - 1)) - float(special.polygamma(1, d / 2)
                                                                   .mean())
    if evar > 0:
        d0 = float(2 * trigamma_inverse(evar)[0])
        s0 = float(np.exp(emean + special.digamma(d0 / 2) - np.log(d0 / 2)))
    else:
        d0, s0 = np.inf, float(np.exp(emean))
    return s0, d0


def moderated_t(A: np.ndarray, B: np.ndarray, min_values: int = 2) -> dict[str, np.ndarray]:
    """limma-style moderated t per column (two groups, see the module docstring)."""
    (na, ma, va), (nb, mb, vb) = moments(A), moments(B)
    d = (na + nb - 2).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = ((na - 1) * np.where(na > 1, va, 0) + (nb - 1) * np.where(nb > 1, vb, 0)) / d
    usable = (na >= min_values) & (nb >= min_values) & (d >= 1) & np.isfinite(s2)
    s2 = np.where(usable, s2, np.nan)
    d = np.where(usable, d, np.nan)
    s0, d0 = fit_f_dist(s2, d)
    if np.isfinite(d0):
        s2_post = (d0 * s0 + d * s2) / (d0 + d)
        df_total = d + d0
    else:
        s2_post = np.where(usable, s0, np.nan)
        df_total = np.full(d.shape, np.inf)
    df_total = np.minimum(df_total, np.nansum(d))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (ma - mb) / np.sqrt(s2_post * (1.0 / na + 1.0 / nb))
    t = np.where(usable, t, np.nan)
    df_total = np.where(usable, df_total, np.nan)
    return {"mean_a": ma, "mean_b": mb, "n_a": na, "n_b": nb, "t": t, "df": df_total,
            "p": _p_two_sided(t, df_total), "s2": s2, "s2_post": s2_post,
            "prior_s2": np.full(len(t), s0), "prior_df": np.full(len(t), d0)}


def one_way_anova(M: np.ndarray, labels: np.ndarray, min_values: int = 2
                  ) -> dict[str, np.ndarray]:
    """One-way ANOVA F test per column; groups with fewer than ``min_values`` values are
    left out for that protein; at least two groups must remain."""
    codes, groups = pd.factorize(np.asarray(labels, dtype=object))
    k_all = len(groups)
    ok = np.isfinite(M)
    n_g = np.zeros((k_all, M.shape[1]))
    s_g = np.zeros((k_all, M.shape[1]))
    V = np.where(ok, M, 0.0)
    for g in range(k_all):
        rows = codes == g
        n_g[g] = ok[rows].sum(axis=0)
        s_g[g] = V[rows].sum(axis=0)
    use = n_g >= min_values
    n_g, s_g = n_g * use, s_g * use
    k = use.sum(axis=0)
    N = n_g.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_g = s_g / n_g
        grand = s_g.sum(axis=0) / N
        ssb = np.nansum(n_g * (mean_g - grand) ** 2, axis=0)
        inside = ok & use[codes, :]
        dev = np.where(inside, M - np.nan_to_num(mean_g)[codes, :], 0.0)
        ssw = (dev ** 2).sum(axis=0)
        dfb, dfw = k - 1, N - k
        F = (ssb / dfb) / (ssw / dfw)
    bad = (k < 2) | (dfw < 1) | ~np.isfinite(F)
    F = np.where(bad, np.nan, F)
    p = np.full(F.shape, np.nan)
    good = ~bad
    p[good] = stats.f.sf(F[good], dfb[good], dfw[good])
    means = np.where(use, mean_g, np.nan)
    return {"F": F, "df_between": np.where(bad, np.nan, dfb),
            "df_within": np.where(bad, np.nan, dfw), "p": p, "groups": np.asarray(groups),
            "group_means": means, "group_n": n_g, "mse": np.where(bad, np.nan, ssw / dfw)}


def tukey_hsd(M: np.ndarray, labels: np.ndarray, columns, min_values: int = 2) -> pd.DataFrame:
    """Tukey-Kramer HSD for the given columns: one row per protein and pair of groups.

    Returns
    -------
    pandas.DataFrame
        ``column, group_a, group_b, diff (a - b), q_stat, p_adj``.
    """
    columns = np.asarray(columns, dtype=int)
    res = one_way_anova(M[:, columns], labels, min_values)
    groups = res["groups"]
    rows = []
    for j, col in enumerate(columns):
        if not np.isfinite(res["F"][j]):
            continue
        n, m = res["group_n"][:, j], res["group_means"][:, j]
        present = np.flatnonzero(n >= min_values)
        k, dfw, mse = len(present), res["df_within"][j], res["mse"][j]
        for ai, a in enumerate(present):
            for b in present[ai + 1:]:
                diff = m[a] - m[b]
                se = np.sqrt(mse / 2 * (1 / n[a] + 1 / n[b]))
                q = abs(diff) / se
                rows.append((int(col), groups[a], groups[b], diff, q,
                             float(stats.studentized_range.sf(q, k, dfw))))
    return pd.DataFrame(rows, columns=["column", "group_a", "group_b", "diff", "q_stat",
                                       "p_adj"])


# ----------------------------------------------------------------------------- AnnData level
def _labels(adata: ad.AnnData, groups) -> np.ndarray:
    if isinstance(groups, str):
        if groups not in adata.obs.columns:
            raise DvpInputError(f"no sample annotation {groups!r}; choose one of "
                                f"{', '.join(map(str, adata.obs.columns))}")
        return adata.obs[groups].astype(str).to_numpy(dtype=object)
    lab = np.asarray(groups, dtype=object)
    if lab.shape != (adata.n_obs,):
        raise DvpInputError("one group label per sample is needed")
    return lab


def _values(adata: ad.AnnData, layer: str | None) -> np.ndarray:
    return np.asarray(adata.layers[layer] if layer else adata.X, dtype=np.float64)


def compare(adata: ad.AnnData, groups, a: str, b: str | None = None, *, test: str = "limma",
            pair_by: str | None = None, layer: str | None = None, min_values: int = 2
            ) -> pd.DataFrame:
    """Two-group comparison per protein (log2 values), with BH q-values.

    Parameters
    ----------
    adata
        Processed data (log2 in ``X``).
    groups
        obs column name or one label per sample.
    a, b
        Group labels; ``b=None`` compares ``a`` with all other samples.
    test
        ``"limma"`` (moderated t), ``"welch"``, ``"student"`` or ``"paired"``.
    pair_by
        obs column pairing samples of ``a`` and ``b`` (paired test only).

    Returns
    -------
    pandas.DataFrame
        Index protein id: ``gene, log2_fc (a - b), mean_a, mean_b, n_a, n_b, t, df, p, q``
        (limma also ``s2, s2_post, prior_s2, prior_df``); ``attrs``: test, groups.
    """
    if test not in TESTS or test == "anova":
        raise DvpInputError(f"two-group test {test!r} is unknown; use limma, welch, student "
                            "or paired")
    lab = _labels(adata, groups)
    ma = lab == a
    mb = (lab != a) if b is None else (lab == b)
    if b is not None and not mb.any():
        raise DvpInputError(f"group {b!r} has no sample; choose from {', '.join(sorted(set(lab)))}")
    if ma.sum() < 2 or mb.sum() < 2:
        raise DvpInputError(f"each group needs at least two samples (have {int(ma.sum())} and "
                            f"{int(mb.sum())}); choose larger groups")
    M = _values(adata, layer)
    if test == "paired":
        if not pair_by:
            raise DvpInputError("the paired t-test needs --pair-by (the sample annotation that "
                                "pairs A with B, e.g. patient)")
        key = _labels(adata, pair_by)
        ka, kb = pd.Index(key[ma]), pd.Index(key[mb])
        if ka.has_duplicates or kb.has_duplicates:
            dup = (ka[ka.duplicated()] if ka.has_duplicates else kb[kb.duplicated()])[0]
            raise DvpInputError(f"{pair_by} {dup!r} occurs twice in one group; a paired test "
                                "needs one sample per group and pair")
        common = ka.intersection(kb)
        if len(common) < 2:
            raise DvpInputError(f"only {len(common)} pair(s) share a {pair_by}; a paired test "
                                "needs at least two")
        ia = np.flatnonzero(ma)[ka.get_indexer(common)]
        ib = np.flatnonzero(mb)[kb.get_indexer(common)]
        res = paired_t(M[ia], M[ib], min_pairs=min_values)
    else:
        fn = {"limma": moderated_t, "welch": welch_t, "student": student_t}[test]
        res = fn(M[ma], M[mb], min_values=min_values)
    out = pd.DataFrame({"gene": adata.var["gene"].to_numpy(),
                        "log2_fc": res["mean_a"] - res["mean_b"], **res},
                       index=adata.var_names.copy())
    out["q"] = bh_adjust(out["p"].to_numpy())
    out.attrs.update({"test": test, "label": TEST_LABELS[test], "a": a,
                      "b": "all other samples" if b is None else b})
    return out


def anova(adata: ad.AnnData, groups, *, layer: str | None = None, min_values: int = 2,
          posthoc_top: int = 50, posthoc_q: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One-way ANOVA per protein (BH q) and Tukey HSD for the most significant ones.

    Tukey HSD is computed for at most ``posthoc_top`` proteins with q <= ``posthoc_q``
    (lowest p first).

    Returns
    -------
    (table, tukey)
        ``table``: index protein id, ``gene, F, df_between, df_within, p, q`` and the mean
        of every group; ``tukey``: ``protein_id, gene, group_a, group_b, diff, q_stat,
        p_adj``.
    """
    lab = _labels(adata, groups)
    if len(set(lab)) < 2:
        raise DvpInputError("ANOVA needs at least two groups of samples")
    M = _values(adata, layer)
    res = one_way_anova(M, lab, min_values)
    table = pd.DataFrame({"gene": adata.var["gene"].to_numpy(), "F": res["F"],
                          "df_between": res["df_between"], "df_within": res["df_within"],
                          "p": res["p"]}, index=adata.var_names.copy())
    table["q"] = bh_adjust(table["p"].to_numpy())
    for g, row in zip(res["groups"], res["group_means"], strict=True):
        table[f"mean {g}"] = row
    table.attrs.update({"test": "anova", "label": TEST_LABELS["anova"]})
    sig = table[table["q"] <= posthoc_q].sort_values("p").head(max(int(posthoc_top), 0))
    cols = adata.var_names.get_indexer(sig.index)
    tk = tukey_hsd(M, lab, cols, min_values) if len(cols) else pd.DataFrame(
        columns=["column", "group_a", "group_b", "diff", "q_stat", "p_adj"])
    tk.insert(0, "protein_id", adata.var_names[tk["column"].to_numpy(dtype=int)])
    tk.insert(1, "gene", adata.var["gene"].to_numpy()[tk["column"].to_numpy(dtype=int)])
    return table, tk.drop(columns="column")
