"""Reference implementations, written from the published formulas, one protein at a time.

They share no code with napari_dvp.core.proteomics: loops instead of vectorisation,
scipy root finding instead of Newton's method, library calls (scipy, statsmodels,
scikit-learn) wherever a library computes the same thing.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats


def finite(x):
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


def welch(A, B):
    """scipy's Welch t-test per column (NaN where a group has < 2 values)."""
    t, p = [], []
    for j in range(A.shape[1]):
        a, b = finite(A[:, j]), finite(B[:, j])
        if len(a) < 2 or len(b) < 2:
            t.append(np.nan)
            p.append(np.nan)
            continue
        r = stats.ttest_ind(a, b, equal_var=False)
        t.append(r.statistic)
        p.append(r.pvalue)
    return np.array(t), np.array(p)


def student(A, B):
    t, p = [], []
    for j in range(A.shape[1]):
        a, b = finite(A[:, j]), finite(B[:, j])
        if len(a) < 2 or len(b) < 2:
            t.append(np.nan)
            p.append(np.nan)
            continue
        r = stats.ttest_ind(a, b, equal_var=True)
        t.append(r.statistic)
        p.append(r.pvalue)
    return np.array(t), np.array(p)


def limma_reference(A, B):
    """Moderated t from Smyth (2004), sections 3-6: per-protein residual variance s2 with
    d = n_a + n_b - 2 df; prior by moments of log s2 (d0 from trigamma(d0/2) = var(e) -
    mean(trigamma(d/2)) solved with brentq); posterior variance; t with d + d0 df
    capped at the pooled df."""
    n_p = A.shape[1]
    s2, d, diff, unscaled = (np.full(n_p, np.nan) for _ in range(4))
    for j in range(n_p):
        a, b = finite(A[:, j]), finite(B[:, j])
        if len(a) < 2 or len(b) < 2:
            continue
        d[j] = len(a) + len(b) - 2
        s2[j] = (((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / d[j]
        diff[j] = a.mean() - b.mean()
        unscaled[j] = np.sqrt(1 / len(a) + 1 / len(b))
    ok = np.isfinite(s2)
    x = s2[ok].copy()
    med = np.median(x)
    x = np.maximum(x, 1e-5 * med)
    dd = d[ok]
    e = [np.log(v) - special.digamma(k / 2) + np.log(k / 2) for v, k in zip(x, dd, strict=True)]
    e = np.array(e)
    evar = e.var(ddof=1) - np.mean([special.polygamma(1, k / 2) for k in dd])
    if evar > 0:
        half = optimize.brentq(lambda y: special.polygamma(1, y) - evar, 1e-8, 1e8, xtol=1e-14,
                               rtol=1e-14)
        d0 = 2 * half
        s0 = np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2))
    else:
        d0, s0 = np.inf, np.exp(e.mean())
    t = np.full(n_p, np.nan)
    p = np.full(n_p, np.nan)
    pooled = np.nansum(d)
    for j in np.flatnonzero(ok):
        post = (d0 * s0 + d[j] * s2[j]) / (d0 + d[j]) if np.isfinite(d0) else s0
        t[j] = diff[j] / (np.sqrt(post) * unscaled[j])
        df = min(d[j] + d0, pooled)
        p[j] = 2 * stats.t.sf(abs(t[j]), df)
    return t, p, s0, d0


def quantile_reference(L):
    """Quantile normalisation: textbook for complete data; with missing values each
    sample's sorted values define its quantile function on [0, 1] (a single value sits
    at 0.5), the reference is the mean of those functions on a grid of max(n) points,
    and each value takes the reference at its (average) rank position."""
    out = np.full(L.shape, np.nan)
    n = [int(np.isfinite(r).sum()) for r in L]
    m = max(n)
    grid = np.array([i / (m - 1) for i in range(m)])
    curves = []
    for r, k in zip(L, n, strict=True):
        if k == 0:
            continue
        xs = np.sort(finite(r))
        pos = np.array([i / (k - 1) for i in range(k)]) if k > 1 else np.array([0.5])
        curves.append(np.interp(grid, pos, xs))
    ref = np.mean(curves, axis=0)
    for i, (r, k) in enumerate(zip(L, n, strict=True)):
        if k == 0:
            continue
        idx = np.flatnonzero(np.isfinite(r))
        ranks = stats.rankdata(r[idx])  # average ties
        where = (ranks - 1) / (k - 1) if k > 1 else np.array([0.5])
        out[i, idx] = np.interp(where, grid, ref)
    return out


def knn_reference(L, k):
    """kNN imputation (Troyanskaya 2001 as in scikit-learn): a missing value of protein j
    in sample s is the mean of sample s's values of the k proteins nearest to j (nan-
    Euclidean distance over the samples both have, scaled by all/common) among those
    that have a value in s."""
    P = L.T  # proteins x samples
    out = P.copy()
    n_feat = P.shape[1]
    for j in range(P.shape[0]):
        miss = np.flatnonzero(~np.isfinite(P[j]))
        if not len(miss):
            continue
        dist = np.full(P.shape[0], np.inf)
        for i in range(P.shape[0]):
            if i == j:
                continue
            both = np.isfinite(P[j]) & np.isfinite(P[i])
            if both.any():
                dist[i] = np.sqrt(n_feat / both.sum() * ((P[j, both] - P[i, both]) ** 2).sum())
        for s in miss:
            cand = [i for i in np.argsort(dist, kind="stable")
                    if np.isfinite(P[i, s]) and np.isfinite(dist[i])][:k]
            out[j, s] = np.mean(P[cand, s]) if cand else np.nanmean(P[:, s])
    return out.T
