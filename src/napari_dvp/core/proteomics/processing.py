"""Processing of a protein matrix: log2 (when needed), normalisation, valid-value filter,
optional imputation (clearly marked), per-protein z-scores across samples.

All functions take and return :class:`anndata.AnnData` with ``obs`` = samples and
``var`` = proteins; ``X`` stays NaN where a value is missing unless imputation was
asked for, in which case ``layers["imputed"]`` is ``True`` for every filled value
and ``uns["processing"]["imputed_values"]`` counts them.

Choices (each recorded in ``uns["processing"]``):

* **log2**: is the input already log2? ``"auto"`` uses the reader's decision
  (``uns["log2"]``, see :mod:`.logscale`), ``"yes"`` / ``"no"`` state it.
* **normalise**: ``"median"`` (each sample shifted so its median equals the median of
  all sample medians), ``"quantile"`` (every sample gets the same distribution, the mean
  of the samples' quantile functions; missing values allowed as in limma's
  ``normalizeQuantiles``: each sample's observed values are placed on the common
  quantile grid by linear interpolation), ``"none"``.
* **valid-value filter**: keep a protein measured in at least ``min_valid`` of the
  samples of **at least one group** (``valid_mode="group"``, groups from the
  ``valid_groups`` obs column(s), default ``class``: the field's rule, so markers of a
  minority cell type survive) or of all samples (``valid_mode="global"``). Both counts
  are recorded.
* **impute**: ``"none"`` (default), ``"downshift"`` (Perseus: per sample
  N(mean - 1.8 sd, (0.3 sd)^2)), ``"knn"`` (k nearest proteins by nan-Euclidean
  distance over the samples, scikit-learn's ``KNNImputer``; Troyanskaya et al. 2001).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .logscale import decide_log2

NORMALISE = ("median", "quantile", "none")
IMPUTE = ("none", "downshift", "knn")
VALID_MODES = ("group", "global")


@dataclass(frozen=True)
class ProcessingParams:
    """How to process intensities.

    Attributes
    ----------
    log2
        Is the input already log2? ``"auto"`` (from the reader / the values), ``"yes"``,
        ``"no"``.
    normalise
        ``"median"``, ``"quantile"`` or ``"none"``.
    min_valid
        Fraction of samples a protein must be measured in (per group or overall).
    valid_mode
        ``"group"``: in at least one group; ``"global"``: over all samples.
    valid_groups
        obs column(s) defining the groups, comma-separated (``"class"``,
        ``"class,region"``).
    impute
        ``"none"``, ``"downshift"`` or ``"knn"`` (``True`` means downshift).
    seed
        Random seed of the down-shift imputation.
    knn_k
        Neighbours of the kNN imputation.
    """

    log2: str = "auto"
    normalise: str = "median"
    min_valid: float = 0.7
    valid_mode: str = "group"
    valid_groups: str = "class"
    impute: str = "none"
    seed: int = 0
    knn_k: int = 5

    def __post_init__(self) -> None:
        if self.impute is True or self.impute is False:
            object.__setattr__(self, "impute", "downshift" if self.impute else "none")
        if self.log2 is True or self.log2 is False:
            object.__setattr__(self, "log2", "yes" if self.log2 else "no")


def _matrix(adata: ad.AnnData) -> np.ndarray:
    X = adata.X
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.array(X, dtype=np.float64)


def log2_transform(X: np.ndarray) -> np.ndarray:
    """log2 of positive values; zeros, negatives and NaN become NaN."""
    out = np.full(X.shape, np.nan)
    pos = np.isfinite(X) & (X > 0)
    out[pos] = np.log2(X[pos])
    return out


def median_normalise(L: np.ndarray) -> np.ndarray:
    """Shift each sample (row) so its median log2 value equals the median of all medians."""
    med = _safe_median(L)
    return L - med + np.median(med)


def _safe_median(L: np.ndarray) -> np.ndarray:
    med = np.full((L.shape[0], 1), np.nan)
    ok = np.isfinite(L).any(axis=1)
    med[ok, 0] = np.nanmedian(L[ok], axis=1)
    med[~ok, 0] = np.nanmedian(med[ok, 0]) if ok.any() else 0.0
    return med


def quantile_normalise(L: np.ndarray) -> np.ndarray:
    """Quantile normalisation of samples (rows), missing values allowed (see module doc).

    With complete data and no ties this is the classic algorithm (Bolstad et al. 2003):
    sort each sample, average the sorted samples, give each value the average of its rank.
    """
    n_s = L.shape[0]
    ok = np.isfinite(L)
    counts = ok.sum(axis=1)
    m = int(counts.max()) if n_s else 0
    out = np.full(L.shape, np.nan)
    if m == 0:
        return out
    grid = np.linspace(0.0, 1.0, m) if m > 1 else np.array([0.5])
    ref = np.zeros(m)
    used = 0
    for i in range(n_s):
        if counts[i] == 0:
            continue
        x = np.sort(L[i, ok[i]])
        pos = np.linspace(0.0, 1.0, counts[i]) if counts[i] > 1 else np.array([0.5])
        ref += np.interp(grid, pos, x)
        used += 1
    ref /= used
    for i in range(n_s):
        if counts[i] == 0:
            continue
        v = L[i, ok[i]]
        rank = pd.Series(v).rank(method="average").to_numpy() - 1.0
        pos = rank / (counts[i] - 1) if counts[i] > 1 else np.full(1, 0.5)
        out[i, ok[i]] = np.interp(pos, grid, ref)
    return out


def valid_fraction(L: np.ndarray) -> np.ndarray:
    """Fraction of samples with a value, per protein (column)."""
    return np.isfinite(L).mean(axis=0)


def group_labels(obs: pd.DataFrame, columns: str) -> np.ndarray | None:
    """One label per sample from the obs column(s) (comma-separated); ``None`` if absent."""
    cols = [c.strip() for c in str(columns).split(",") if c.strip()]
    if not cols or any(c not in obs.columns for c in cols):
        return None
    lab = obs[cols[0]].astype(str)
    for c in cols[1:]:
        lab = lab + " · " + obs[c].astype(str)
    return lab.to_numpy(dtype=object)


def valid_by_group(L: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Largest per-group fraction of samples with a value, per protein."""
    ok = np.isfinite(L).astype(np.float64)
    codes, uniq = pd.factorize(labels)
    onehot = np.zeros((len(uniq), L.shape[0]))
    onehot[codes, np.arange(L.shape[0])] = 1.0
    frac = (onehot @ ok) / onehot.sum(axis=1, keepdims=True)
    return frac.max(axis=0)


def impute_downshift(L: np.ndarray, seed: int = 0, shift: float = 1.8, width: float = 0.3
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaNs per sample from N(mean - shift*sd, (width*sd)^2); returns (filled, mask)."""
    rng = np.random.default_rng(seed)
    mask = ~np.isfinite(L)
    with warnings.catch_warnings():  # a sample without any value: fall back to all values
        warnings.simplefilter("ignore", RuntimeWarning)
        mu = np.nanmean(L, axis=1, keepdims=True)
        sd = np.nanstd(L, axis=1, keepdims=True)
    empty = ~np.isfinite(mu[:, 0])
    mu[empty], sd[empty] = np.nanmean(L), np.nanstd(L)
    draws = rng.normal(mu - shift * sd, width * sd, size=L.shape)
    return np.where(mask, draws, L), mask


def impute_knn(L: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaNs from the ``k`` nearest proteins (nan-Euclidean over samples); a sample
    without any value stays empty. Returns (filled, mask of filled values)."""
    from sklearn.impute import KNNImputer

    out = L.copy()
    rows = np.isfinite(L).any(axis=1)  # samples with values (features of the imputer)
    if rows.sum() == 0:
        return out, np.zeros(L.shape, dtype=bool)
    sub = L[rows].T  # proteins x samples
    filled = KNNImputer(n_neighbors=int(k), weights="uniform").fit_transform(sub)
    out[rows] = filled.T
    mask = ~np.isfinite(L) & np.isfinite(out)
    return out, mask


def zscore(L: np.ndarray) -> np.ndarray:
    """Per-protein z-score across samples (rows), ignoring NaN; constant proteins give NaN."""
    n = np.isfinite(L).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nanmean(np.where(n > 0, L, 0.0), axis=0)
        sd = np.sqrt(np.nansum((L - mu) ** 2, axis=0) / np.maximum(n - 1, 1))
        z = (L - mu) / np.where((sd > 0) & (n >= 2), sd, np.nan)
    return z


def input_log2(adata: ad.AnnData, choice: str = "auto") -> dict:
    """The log2 state of ``adata``'s values: the reader's decision, or ``choice``."""
    state = adata.uns.get("log2")
    if str(choice) == "auto" and isinstance(state, dict) and "input_is_log2" in state:
        return dict(state)
    return decide_log2(_matrix(adata), choice, name="the protein table")


def process(adata: ad.AnnData, params: ProcessingParams | None = None) -> ad.AnnData:
    """Run (log2) -> normalisation -> valid-value filter -> (imputation) -> z-scores.

    Returns
    -------
    anndata.AnnData
        A copy with ``X`` = processed log2 values, ``layers["z"]`` = z-scores,
        ``layers["imputed"]`` (bool), ``var["valid_fraction"]`` and
        ``var["valid_fraction_best_group"]``, ``uns["processing"]`` (parameters and
        counts) and ``uns["log2"]`` (now log2).

    Raises
    ------
    DvpInputError
        If fewer than two samples are given, a choice is unknown, or no protein passes
        the filter.
    """
    params = params or ProcessingParams()
    if params.normalise not in NORMALISE:
        raise DvpInputError(f"normalisation {params.normalise!r} is unknown; use "
                            f"{', '.join(NORMALISE)}")
    if params.impute not in IMPUTE:
        raise DvpInputError(f"imputation {params.impute!r} is unknown; use {', '.join(IMPUTE)}")
    if params.valid_mode not in VALID_MODES:
        raise DvpInputError(f"valid-value filter {params.valid_mode!r} is unknown; use "
                            f"{', '.join(VALID_MODES)}")
    if not 0 <= params.min_valid <= 1:
        raise DvpInputError(f"valid-value fraction {params.min_valid} must be between 0 and 1")
    if adata.n_obs < 2:
        raise DvpInputError(f"only {adata.n_obs} sample(s); z-scores need at least two samples")
    state = input_log2(adata, params.log2)
    X = _matrix(adata)
    L = np.where(np.isfinite(X), X, np.nan) if state["input_is_log2"] else log2_transform(X)
    if params.normalise == "median":
        L = median_normalise(L)
    elif params.normalise == "quantile":
        L = quantile_normalise(L)
    frac_all = valid_fraction(L)
    labels = group_labels(adata.obs, params.valid_groups) if params.valid_mode == "group" \
        else None
    frac_group = valid_by_group(L, labels) if labels is not None else frac_all
    if params.valid_mode == "group" and labels is not None:
        n_groups = len(pd.unique(labels))
        rule = (f">= {params.min_valid:.0%} of the samples in at least one of {n_groups} "
                f"{params.valid_groups} group(s)")
        frac = frac_group
    else:
        rule = f">= {params.min_valid:.0%} of all samples"
        if params.valid_mode == "group":
            rule += f" (no {params.valid_groups!r} column: global rule used)"
        frac = frac_all
    measured = np.isfinite(L).any(axis=0)
    keep = (frac >= params.min_valid) & measured
    kept_global = int(((frac_all >= params.min_valid) & measured).sum())
    kept_group = int(((frac_group >= params.min_valid) & measured).sum())
    if not keep.any():
        raise DvpInputError(f"no protein is measured in {rule}; lower the valid-value fraction")
    L = L[:, keep]
    imputed = np.zeros(L.shape, dtype=bool)
    if params.impute == "downshift":
        L, imputed = impute_downshift(L, seed=params.seed)
    elif params.impute == "knn":
        L, imputed = impute_knn(L, k=params.knn_k)
    uns = dict(adata.uns)
    out = ad.AnnData(X=L, obs=adata.obs.copy(), var=adata.var.iloc[np.flatnonzero(keep)].copy(),
                     uns=uns)
    out.layers["z"] = zscore(L)
    out.layers["imputed"] = imputed
    out.var["valid_fraction"] = frac_all[keep]
    out.var["valid_fraction_best_group"] = frac_group[keep]
    out.uns["processing"] = {**asdict(params), "input_is_log2": bool(state["input_is_log2"]),
                             "log2_decided_by": str(state["decided_by"]),
                             "log2_applied": not bool(state["input_is_log2"]),
                             "valid_rule": rule, "proteins_in": int(adata.n_vars),
                             "proteins_kept": int(keep.sum()),
                             "proteins_kept_per_group_rule": kept_group,
                             "proteins_kept_global_rule": kept_global,
                             "imputed_values": int(imputed.sum())}
    out.uns["log2"] = {"input_is_log2": True, "decided_by": "processed by napari-dvp",
                       "detail": f"input: {state['decided_by']}, "
                                 f"{'already log2' if state['input_is_log2'] else 'log2 taken'}"}
    return out


def values_frame(adata: ad.AnnData, layer: str | None = None) -> pd.DataFrame:
    """Samples x proteins DataFrame of ``X`` (or a layer) with protein ids as columns."""
    M = adata.layers[layer] if layer else adata.X
    return pd.DataFrame(np.asarray(M, dtype=np.float64), index=adata.obs_names.copy(),
                        columns=adata.var_names.copy())
