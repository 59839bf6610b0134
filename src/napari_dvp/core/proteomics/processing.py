"""Processing of a protein matrix: log2, median normalisation, valid-value filter,
optional imputation (clearly marked), per-protein z-scores across samples.

All functions take and return :class:`anndata.AnnData` with ``obs`` = samples and
``var`` = proteins; ``X`` stays NaN where a value is missing unless imputation was
asked for, in which case ``layers["imputed"]`` is ``True`` for every filled value
and ``uns["processing"]["imputed_values"]`` counts them.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import DvpInputError


@dataclass(frozen=True)
class ProcessingParams:
    """How to process intensities.

    Attributes
    ----------
    log2
        Take log2 of intensities (turn off for data that are already log2).
    normalise
        ``"median"``: shift every sample so its median equals the overall median;
        ``"none"``: leave as is.
    min_valid
        Keep proteins measured (not missing) in at least this fraction of samples.
    impute
        Fill missing values from a down-shifted normal distribution (Perseus style:
        shift 1.8 sd, width 0.3 sd per sample). Off by default.
    seed
        Random seed of the imputation.
    """

    log2: bool = True
    normalise: str = "median"
    min_valid: float = 0.5
    impute: bool = False
    seed: int = 0


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


def valid_fraction(L: np.ndarray) -> np.ndarray:
    """Fraction of samples with a value, per protein (column)."""
    return np.isfinite(L).mean(axis=0)


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


def zscore(L: np.ndarray) -> np.ndarray:
    """Per-protein z-score across samples (rows), ignoring NaN; constant proteins give NaN."""
    n = np.isfinite(L).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nanmean(np.where(n > 0, L, 0.0), axis=0)
        sd = np.sqrt(np.nansum((L - mu) ** 2, axis=0) / np.maximum(n - 1, 1))
        z = (L - mu) / np.where((sd > 0) & (n >= 2), sd, np.nan)
    return z


def process(adata: ad.AnnData, params: ProcessingParams | None = None) -> ad.AnnData:
    """Run log2 -> normalisation -> valid-value filter -> (imputation) -> z-scores.

    Returns
    -------
    anndata.AnnData
        A copy with ``X`` = processed log2 values, ``layers["z"]`` = z-scores,
        ``layers["imputed"]`` (bool) and ``uns["processing"]`` (parameters and counts).

    Raises
    ------
    DvpInputError
        If fewer than two samples are given or no protein passes the filter.
    """
    params = params or ProcessingParams()
    if params.normalise not in ("median", "none"):
        raise DvpInputError(f"normalisation {params.normalise!r} is unknown; use median or none")
    if not 0 <= params.min_valid <= 1:
        raise DvpInputError(f"valid-value fraction {params.min_valid} must be between 0 and 1")
    if adata.n_obs < 2:
        raise DvpInputError(f"only {adata.n_obs} sample(s); z-scores need at least two samples")
    X = _matrix(adata)
    L = log2_transform(X) if params.log2 else np.where(np.isfinite(X), X, np.nan)
    if params.normalise == "median":
        L = median_normalise(L)
    keep = (valid_fraction(L) >= params.min_valid) & np.isfinite(L).any(axis=0)
    if not keep.any():
        raise DvpInputError(f"no protein is measured in {params.min_valid:.0%} of the samples; "
                            "lower the valid-value fraction")
    L = L[:, keep]
    imputed = np.zeros(L.shape, dtype=bool)
    if params.impute:
        L, imputed = impute_downshift(L, seed=params.seed)
    out = ad.AnnData(X=L, obs=adata.obs.copy(), var=adata.var.iloc[np.flatnonzero(keep)].copy(),
                     uns=dict(adata.uns))
    out.layers["z"] = zscore(L)
    out.layers["imputed"] = imputed
    out.var["valid_fraction"] = valid_fraction(np.where(imputed, np.nan, L))
    out.uns["processing"] = {**asdict(params), "proteins_in": int(adata.n_vars),
                             "proteins_kept": int(keep.sum()),
                             "imputed_values": int(imputed.sum())}
    return out


def values_frame(adata: ad.AnnData, layer: str | None = None) -> pd.DataFrame:
    """Samples x proteins DataFrame of ``X`` (or a layer) with protein ids as columns."""
    M = adata.layers[layer] if layer else adata.X
    return pd.DataFrame(np.asarray(M, dtype=np.float64), index=adata.obs_names.copy(),
                        columns=adata.var_names.copy())
