"""Scores per sample: single proteins, gene sets (mean z with coverage), group comparisons.

Gene-set score (default ``"mean_z"``): for every sample, the mean of the
per-protein z-scores of the set's member proteins found in the data (missing
values ignored). A member gene is found when it is one of a protein group's
genes; when several groups carry it, the one measured in most samples is used,
and a group carrying two members counts once. Coverage = genes found / genes in
the set; sets below ``min_coverage`` get no score (NaN) and say why.

Alternatives ``"ulm"`` and ``"zscore"`` call decoupler (optional dependency) on
the z-score matrix (missing z = 0) with the same sets as a ``source/target`` net.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DvpInputError
from .genesets import GeneSet

METHODS = ("mean_z", "ulm", "zscore")


@dataclass
class SetScores:
    """Gene-set scores per sample and the coverage of each set.

    Attributes
    ----------
    scores
        Samples x sets (columns = set names), NaN where a set is below min coverage.
    coverage
        One row per set: ``set, label, n_in_set, n_found, coverage, scored, note, proteins``.
    """

    scores: pd.DataFrame
    coverage: pd.DataFrame


def _gene_table(adata: ad.AnnData) -> pd.DataFrame:
    """Long table (gene, protein position, n valid) of every gene of every protein group."""
    genes = adata.var["genes"].astype(str).where(adata.var["genes"].astype(str) != "",
                                                 adata.var["gene"].astype(str))
    long = pd.DataFrame({"gene": genes.str.upper().str.split(";").to_numpy(),
                         "pos": np.arange(adata.n_vars),
                         "n_valid": np.isfinite(np.asarray(adata.X, float)).sum(axis=0)})
    long = long.explode("gene")
    long["gene"] = long["gene"].str.strip()
    return long[long["gene"] != ""]


def set_members(adata: ad.AnnData, gene_set: GeneSet) -> tuple[np.ndarray, list[str]]:
    """Protein positions (columns of ``adata``) of a set's members and the genes found."""
    long = _gene_table(adata)
    hit = long[long["gene"].isin(gene_set.genes)]
    best = hit.sort_values(["n_valid", "pos"], ascending=[False, True]).drop_duplicates("gene")
    return np.unique(best["pos"].to_numpy(dtype=int)), sorted(best["gene"])


def nan_mean(M: np.ndarray, axis: int = 1) -> np.ndarray:
    """Mean over finite values (NaN where there is none), without warnings."""
    ok = np.isfinite(M)
    n = ok.sum(axis=axis)
    s = np.where(ok, M, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def gene_set_scores(adata: ad.AnnData, gene_sets: Mapping[str, GeneSet], *,
                    min_coverage: float = 0.1, method: str = "mean_z", layer: str = "z"
                    ) -> SetScores:
    """Score every sample for every gene set.

    Parameters
    ----------
    adata
        Processed data (``layers["z"]`` from :func:`~.processing.process`).
    gene_sets
        ``{name: GeneSet}`` (bundled or from a GMT).
    min_coverage
        Minimum fraction of a set's genes found in the data for the set to be scored.
    method
        ``"mean_z"`` (default), or decoupler's ``"ulm"`` / ``"zscore"``.
    layer
        Layer holding per-protein z-scores.

    Raises
    ------
    DvpInputError
        If no set has any protein in the data, or the method is unknown/unavailable.
    """
    if method not in METHODS:
        raise DvpInputError(f"score method {method!r} is unknown; use {', '.join(METHODS)}")
    if not gene_sets:
        raise DvpInputError("no gene set given; use the bundled sets or a GMT file")
    Z = np.asarray(adata.layers[layer] if layer else adata.X, dtype=np.float64)
    rows, cols = [], {}
    for name, gs in gene_sets.items():
        pos, found = set_members(adata, gs)
        cov = len(found) / len(gs.genes)
        scored = cov >= min_coverage and len(pos) > 0
        note = "" if scored else (
            "no member protein in the data" if not len(pos)
            else f"coverage {cov:.0%} below the minimum {min_coverage:.0%}")
        rows.append((name, gs.label, len(gs.genes), len(found), cov, scored, note,
                     ";".join(found)))
        cols[name] = nan_mean(Z[:, pos]) if scored and method == "mean_z" \
            else np.full(adata.n_obs, np.nan)
    coverage = pd.DataFrame(rows, columns=["set", "label", "n_in_set", "n_found", "coverage",
                                           "scored", "note", "proteins"])
    if (coverage["n_found"] == 0).all():
        names = ", ".join(coverage["set"][:3])
        hint = " (the file has no gene names)" if (adata.var["gene"] == "").all() else ""
        raise DvpInputError(f"gene set(s) {names} have no protein in the data{hint}; check "
                            "that genes are given as symbols (e.g. STAT1) or choose other sets")
    scores = pd.DataFrame(cols, index=adata.obs_names.copy())
    if method != "mean_z":
        ok = coverage.loc[coverage["scored"], "set"].tolist()
        if ok:
            dec = decoupler_scores(adata, {k: gene_sets[k] for k in ok}, method, layer=layer)
            scores[dec.columns] = dec.reindex(index=scores.index)
    return SetScores(scores=scores, coverage=coverage)


def decoupler_scores(adata: ad.AnnData, gene_sets: Mapping[str, GeneSet], method: str = "ulm",
                     layer: str = "z", tmin: int = 3) -> pd.DataFrame:
    """decoupler ``ulm`` or ``zscore`` enrichment per sample (missing z-scores set to 0).

    Features are gene symbols (each protein group's first gene; a gene carried by several
    groups uses the one measured in most samples).
    """
    try:
        import decoupler as dc
    except ImportError:
        raise DvpInputError(f"method {method!r} needs decoupler; install it with "
                            "`pip install decoupler` or use mean_z") from None
    Z = np.asarray(adata.layers[layer] if layer else adata.X, dtype=np.float64)
    genes = adata.var["gene"].astype(str).str.upper().to_numpy()
    order = pd.DataFrame({"g": genes, "n": np.isfinite(Z).sum(axis=0), "pos": range(len(genes))})
    order = order[order["g"] != ""].sort_values(["n", "pos"], ascending=[False, True])
    order = order.drop_duplicates("g")
    mat = pd.DataFrame(np.nan_to_num(Z[:, order["pos"].to_numpy()], nan=0.0),
                       index=adata.obs_names.astype(str), columns=order["g"].to_numpy())
    net = pd.DataFrame([(name, g) for name, gs in gene_sets.items() for g in gs.genes],
                       columns=["source", "target"])
    fn = {"ulm": dc.mt.ulm, "zscore": dc.mt.zscore}[method]
    es, _pv = fn(data=mat, net=net, tmin=tmin)
    return es


def protein_values(adata: ad.AnnData, query: str, layer: str | None = "z") -> pd.Series:
    """Values of one protein per sample; ``query`` is a protein id or a gene symbol."""
    pos = find_protein(adata, query)
    M = adata.layers[layer] if layer else adata.X
    name = adata.var["gene"].iloc[pos] or adata.var_names[pos]
    return pd.Series(np.asarray(M, dtype=np.float64)[:, pos], index=adata.obs_names.copy(),
                     name=str(name))


def find_protein(adata: ad.AnnData, query: str) -> int:
    """Column position of a protein by id (exact) or gene symbol (case-insensitive)."""
    q = str(query).strip()
    if q in adata.var_names:
        return int(adata.var_names.get_loc(q))
    long = _gene_table(adata)
    hit = long[long["gene"] == q.upper()].sort_values(["n_valid", "pos"],
                                                       ascending=[False, True])
    if hit.empty:
        raise DvpInputError(f"protein {q!r} is not in the data (after filtering); search by "
                            "gene name, e.g. STAT1")
    return int(hit["pos"].iloc[0])


def search_proteins(adata: ad.AnnData, text: str, limit: int = 50) -> list[str]:
    """Gene names / protein ids containing ``text`` (case-insensitive), best first."""
    t = str(text).strip().upper()
    labels = pd.Series(np.where(adata.var["gene"] != "", adata.var["gene"], adata.var_names))
    up = labels.str.upper()
    hits = labels[up.str.contains(t, regex=False)] if t else labels
    rank = (~hits.str.upper().str.startswith(t)).astype(int) * 1000 + hits.str.len()
    return hits.iloc[np.argsort(rank.to_numpy(), kind="stable")].head(limit).tolist()


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


def compare_groups(adata: ad.AnnData, group_a, group_b, layer: str | None = None,
                   min_values: int = 2) -> pd.DataFrame:
    """Welch t-test per protein between two groups of samples, with BH q-values.

    Parameters
    ----------
    adata
        Processed data (log2 values in ``X``).
    group_a, group_b
        Boolean masks over samples (or lists of sample ids).
    min_values
        Proteins with fewer valid values in either group get NaN statistics.

    Returns
    -------
    pandas.DataFrame
        Index protein id; ``gene, log2_fc (a - b), mean_a, mean_b, n_a, n_b, t, p, q``.
    """
    a, b = (_mask(adata, g) for g in (group_a, group_b))
    if a.sum() < 2 or b.sum() < 2:
        raise DvpInputError(f"each group needs at least two samples (have {int(a.sum())} and "
                            f"{int(b.sum())}); choose larger groups")
    if (a & b).any():
        raise DvpInputError("the two groups share samples; choose groups that do not overlap")
    M = np.asarray(adata.layers[layer] if layer else adata.X, dtype=np.float64)
    stats_ = [_moments(M[g]) for g in (a, b)]
    (na, ma, va), (nb, mb, vb) = stats_
    with np.errstate(invalid="ignore", divide="ignore"):
        se2 = va / na + vb / nb
        t = (ma - mb) / np.sqrt(se2)
        df = se2 ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    bad = (na < min_values) | (nb < min_values) | ~np.isfinite(t)
    t = np.where(bad, np.nan, t)
    p = np.where(bad, np.nan, 2 * stats.t.sf(np.abs(np.nan_to_num(t)), np.nan_to_num(df, nan=1)))
    return pd.DataFrame({"gene": adata.var["gene"].to_numpy(), "log2_fc": ma - mb,
                         "mean_a": ma, "mean_b": mb, "n_a": na, "n_b": nb, "t": t, "p": p,
                         "q": bh_adjust(p)}, index=adata.var_names.copy())


def _mask(adata: ad.AnnData, group) -> np.ndarray:
    g = np.asarray(group)
    if g.dtype == bool:
        if g.shape != (adata.n_obs,):
            raise DvpInputError("group mask length differs from the number of samples")
        return g
    return adata.obs_names.isin([str(x) for x in g])


def _moments(M: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = np.isfinite(M)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, M, 0).sum(axis=0) / n
        var = np.where(ok, (M - mean) ** 2, 0).sum(axis=0) / (n - 1)
    return n, mean, var
