"""Scores per sample: single proteins, gene sets (honest about coverage), group comparisons.

Gene-set members are found among **all** genes of every protein group (``Genes`` split on
``;``), after mapping previous HGNC symbols to today's symbols on both sides
(:mod:`.aliases`; ``DDX58`` in a gene set finds ``RIGI`` in a newer FASTA). When several
groups carry a member gene, the one measured in most samples is used; a group carrying
two members counts once.

A set is scored **in a sample** only when at least ``min_members`` (default 5) of its
member groups have a value in that sample; otherwise that sample's score is blank and
``reasons`` says why. Sets whose genes found / genes in set is below ``min_coverage``
are not scored at all. ``coverage`` reports, per set, the genes found, the measured
members per sample (min / median / max), how many samples were scored and why not.

Methods: ``"mean_z"`` (default): the mean of the member groups' per-protein z-scores in
the sample; ``"ulm"`` / ``"zscore"``: decoupler on the z-score matrix of all protein
groups (missing z = 0) with the member groups as targets; the same per-sample blanking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .aliases import canonical
from .differential import bh_adjust, compare
from .genesets import GeneSet

__all__ = ["METHODS", "SetScores", "bh_adjust", "compare_groups", "decoupler_scores",
           "find_protein", "gene_set_scores", "match_protein", "nan_mean", "protein_values",
           "search_proteins", "set_members"]
METHODS = ("mean_z", "ulm", "zscore")
MIN_MEMBERS = 5


@dataclass
class SetScores:
    """Gene-set scores per sample and the truth about their coverage.

    Attributes
    ----------
    scores
        Samples x sets, NaN where a sample has too few measured members or the set is
        not scored.
    coverage
        One row per set: ``set, label, n_in_set, n_found, coverage, n_groups,
        members_min, members_median, members_max, samples_scored, samples_blank, scored,
        note, proteins, renamed``.
    members
        Samples x sets: member groups with a value in that sample.
    reasons
        Samples x sets: why a score is blank (``""`` where scored).
    """

    scores: pd.DataFrame
    coverage: pd.DataFrame
    members: pd.DataFrame = field(default_factory=pd.DataFrame)
    reasons: pd.DataFrame = field(default_factory=pd.DataFrame)


def _gene_table(adata: ad.AnnData) -> pd.DataFrame:
    """Long table (gene, symbol as written, protein position, n valid) of every gene of
    every protein group; ``gene`` is the approved (canonical) symbol."""
    genes = adata.var["genes"].astype(str).where(adata.var["genes"].astype(str) != "",
                                                 adata.var["gene"].astype(str))
    X = np.asarray(adata.X, float)
    long = pd.DataFrame({"written": genes.str.split(";").to_numpy(),
                         "pos": np.arange(adata.n_vars),
                         "n_valid": np.isfinite(X).sum(axis=0)})
    long = long.explode("written")
    long["written"] = long["written"].astype(str).str.strip().str.upper()
    long = long[(long["written"] != "") & (long["written"] != "NAN")]
    long["gene"] = canonical(long["written"].to_numpy())
    return long


def set_members(adata: ad.AnnData, gene_set: GeneSet, long: pd.DataFrame | None = None
                ) -> tuple[np.ndarray, list[str]]:
    """Protein positions (columns of ``adata``) of a set's members and the genes found
    (approved symbols)."""
    pos, found, _ = _members(adata, gene_set, long)
    return pos, found


def _members(adata, gene_set: GeneSet, long=None):
    long = _gene_table(adata) if long is None else long
    wanted = pd.Series(canonical(gene_set.genes), index=list(gene_set.genes))
    hit = long[long["gene"].isin(set(wanted))]
    best = hit.sort_values(["n_valid", "pos"], ascending=[False, True]).drop_duplicates("gene")
    renamed = sorted({f"{old}->{new}" for old, new in wanted.items() if old != new
                      and new in set(best["gene"])}
                     | {f"{w}->{g}" for w, g in zip(best["written"], best["gene"], strict=True)
                        if w != g})
    return np.unique(best["pos"].to_numpy(dtype=int)), sorted(best["gene"]), renamed


def nan_mean(M: np.ndarray, axis: int = 1) -> np.ndarray:
    """Mean over finite values (NaN where there is none), without warnings."""
    ok = np.isfinite(M)
    n = ok.sum(axis=axis)
    s = np.where(ok, M, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def gene_set_scores(adata: ad.AnnData, gene_sets: Mapping[str, GeneSet], *,
                    min_coverage: float = 0.1, min_members: int = MIN_MEMBERS,
                    method: str = "mean_z", layer: str = "z") -> SetScores:
    """Score every sample for every gene set.

    Parameters
    ----------
    adata
        Processed data (``layers["z"]`` from :func:`~.processing.process`).
    gene_sets
        ``{name: GeneSet}`` (bundled or from a GMT).
    min_coverage
        Minimum fraction of a set's genes found in the data for the set to be scored.
    min_members
        Minimum member groups with a value in a sample for that sample to get a score.
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
    if int(min_members) < 1:
        raise DvpInputError(f"minimum measured members {min_members} must be at least 1")
    Z = np.asarray(adata.layers[layer] if layer else adata.X, dtype=np.float64)
    long = _gene_table(adata)
    rows, cols, members, reasons, member_pos = [], {}, {}, {}, {}
    for name, gs in gene_sets.items():
        pos, found, renamed = _members(adata, gs, long)
        cov = len(found) / len(gs.genes)
        m = np.isfinite(Z[:, pos]).sum(axis=1) if len(pos) else np.zeros(adata.n_obs, int)
        set_ok = cov >= min_coverage and len(pos) > 0
        sample_ok = set_ok & (m >= min_members)
        if not len(pos):
            note = "no member protein in the data"
        elif cov < min_coverage:
            note = f"coverage {cov:.0%} below the minimum {min_coverage:.0%}"
        elif not sample_ok.any():
            note = (f"no sample has {min_members} measured members (at most {int(m.max())} of "
                    f"{len(pos)})")
        elif not sample_ok.all():
            note = (f"blank in {int((~sample_ok).sum())} of {adata.n_obs} samples: fewer than "
                    f"{min_members} measured members")
        else:
            note = ""
        why = np.where(sample_ok, "", np.where(
            m < min_members, [f"{k} of {len(pos)} members measured (< {min_members})"
                              for k in m], note))
        if not set_ok:
            why = np.full(adata.n_obs, note, dtype=object)
        rows.append((name, gs.label, len(gs.genes), len(found), cov, len(pos),
                     int(m.min()), float(np.median(m)), int(m.max()), int(sample_ok.sum()),
                     int((~sample_ok).sum()), bool(sample_ok.any()), note, ";".join(found),
                     ";".join(renamed)))
        values = nan_mean(Z[:, pos]) if len(pos) and method == "mean_z" \
            else np.full(adata.n_obs, np.nan)
        cols[name] = np.where(sample_ok, values, np.nan)
        members[name] = m
        reasons[name] = why
        member_pos[name] = pos
    coverage = pd.DataFrame(rows, columns=[
        "set", "label", "n_in_set", "n_found", "coverage", "n_groups", "members_min",
        "members_median", "members_max", "samples_scored", "samples_blank", "scored", "note",
        "proteins", "renamed"])
    if (coverage["n_found"] == 0).all():
        names = ", ".join(coverage["set"][:3])
        hint = " (the file has no gene names)" if (adata.var["gene"] == "").all() else ""
        raise DvpInputError(f"gene set(s) {names} have no protein in the data{hint}; check "
                            "that genes are given as symbols (e.g. STAT1) or choose other sets")
    idx = adata.obs_names.copy()
    scores = pd.DataFrame(cols, index=idx)
    members_df = pd.DataFrame(members, index=idx)
    if method != "mean_z":
        ok = [r.set for r in coverage.itertuples() if r.scored]
        if ok:
            dec = _decoupler(adata, {k: member_pos[k] for k in ok}, method, layer)
            for k in ok:
                keep = members_df[k].to_numpy() >= min_members
                scores[k] = np.where(keep, dec[k].reindex(idx).to_numpy(), np.nan)
    return SetScores(scores=scores, coverage=coverage, members=members_df,
                     reasons=pd.DataFrame(reasons, index=idx))


def _decoupler(adata: ad.AnnData, member_pos: Mapping[str, np.ndarray], method: str,
               layer: str | None, tmin: int = 1) -> pd.DataFrame:
    try:
        import decoupler as dc
    except ImportError:
        raise DvpInputError(f"method {method!r} needs decoupler; install it with "
                            "`pip install decoupler` or use mean_z") from None
    Z = np.asarray(adata.layers[layer] if layer else adata.X, dtype=np.float64)
    feats = np.array([f"g{j}" for j in range(adata.n_vars)], dtype=object)
    mat = pd.DataFrame(np.nan_to_num(Z, nan=0.0), index=adata.obs_names.astype(str),
                       columns=feats)
    net = pd.DataFrame([(name, feats[p]) for name, pos in member_pos.items() for p in pos],
                       columns=["source", "target"])
    fn = {"ulm": dc.mt.ulm, "zscore": dc.mt.zscore}[method]
    try:
        es, _pv = fn(data=mat, net=net, tmin=tmin)
    except ValueError as exc:  # degenerate data (e.g. a sample without variance)
        raise DvpInputError(f"decoupler's {method} cannot score these data ({exc}); use "
                            "--method mean_z") from None
    return es


def decoupler_scores(adata: ad.AnnData, gene_sets: Mapping[str, GeneSet], method: str = "ulm",
                     layer: str = "z", tmin: int = 3) -> pd.DataFrame:
    """decoupler ``ulm`` or ``zscore`` enrichment per sample (missing z-scores set to 0).

    Features are the protein groups; a set's targets are its member groups (all genes of a
    group count, previous symbols mapped; see :func:`set_members`).
    """
    long = _gene_table(adata)
    pos = {name: set_members(adata, gs, long)[0] for name, gs in gene_sets.items()}
    return _decoupler(adata, pos, method, layer, tmin=tmin)


def protein_values(adata: ad.AnnData, query: str, layer: str | None = "z") -> pd.Series:
    """Values of one protein per sample; ``query`` is a protein id or a gene symbol.

    The series is named by the gene that matched (``TMA7B`` for a ``TMA7;TMA7B`` group
    asked for as TMA7B; the approved symbol for a previous one), else the protein id.
    """
    pos, label = match_protein(adata, query)
    M = adata.layers[layer] if layer else adata.X
    return pd.Series(np.asarray(M, dtype=np.float64)[:, pos], index=adata.obs_names.copy(),
                     name=label)


def find_protein(adata: ad.AnnData, query: str) -> int:
    """Column position of a protein by id (exact) or gene symbol (case-insensitive)."""
    return match_protein(adata, query)[0]


def match_protein(adata: ad.AnnData, query: str) -> tuple[int, str]:
    """Column position and display label of a protein by id or gene symbol.

    Raises
    ------
    DvpInputError
        When neither a protein id nor a gene of any group (after mapping previous HGNC
        symbols) matches.
    """
    q = str(query).strip()
    if q in adata.var_names:
        pos = int(adata.var_names.get_loc(q))
        return pos, str(adata.var["gene"].iloc[pos] or q)
    long = _gene_table(adata)
    want = canonical([q])[0]
    hit = long[long["gene"] == want].sort_values(["n_valid", "pos"], ascending=[False, True])
    if hit.empty:
        raise DvpInputError(f"protein {q!r} is not in the data (after filtering); search by "
                            "gene name, e.g. STAT1")
    return int(hit["pos"].iloc[0]), str(hit["written"].iloc[0])


def search_proteins(adata: ad.AnnData, text: str, limit: int = 50) -> list[str]:
    """Gene names / protein ids containing ``text`` (case-insensitive), best first."""
    t = str(text).strip().upper()
    labels = pd.Series(np.where(adata.var["gene"] != "", adata.var["gene"], adata.var_names))
    up = labels.str.upper()
    hits = labels[up.str.contains(t, regex=False)] if t else labels
    rank = (~hits.str.upper().str.startswith(t)).astype(int) * 1000 + hits.str.len()
    return hits.iloc[np.argsort(rank.to_numpy(), kind="stable")].head(limit).tolist()


def compare_groups(adata: ad.AnnData, group_a, group_b, layer: str | None = None,
                   min_values: int = 2, test: str = "welch") -> pd.DataFrame:
    """Two-group test per protein between two sets of samples, with BH q-values.

    Parameters
    ----------
    adata
        Processed data (log2 values in ``X``).
    group_a, group_b
        Boolean masks over samples (or lists of sample ids).
    min_values
        Proteins with fewer valid values in either group get NaN statistics.
    test
        ``"welch"`` (default here), ``"student"`` or ``"limma"`` (moderated t); see
        :mod:`.differential`.

    Returns
    -------
    pandas.DataFrame
        Index protein id; ``gene, log2_fc (a - b), mean_a, mean_b, n_a, n_b, t, df, p, q``.
    """
    a, b = (_mask(adata, g) for g in (group_a, group_b))
    if a.sum() < 2 or b.sum() < 2:
        raise DvpInputError(f"each group needs at least two samples (have {int(a.sum())} and "
                            f"{int(b.sum())}); choose larger groups")
    if (a & b).any():
        raise DvpInputError("the two groups share samples; choose groups that do not overlap")
    labels = np.where(a, "a", np.where(b, "b", "-")).astype(object)
    return compare(adata, labels, "a", "b", test=test, layer=layer, min_values=min_values)


def _mask(adata: ad.AnnData, group) -> np.ndarray:
    g = np.asarray(group)
    if g.dtype == bool:
        if g.shape != (adata.n_obs,):
            raise DvpInputError("group mask length differs from the number of samples")
        return g
    return adata.obs_names.isin([str(x) for x in g])


