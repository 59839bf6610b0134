"""PCA of samples on their log2 protein values (for a plot coloured by class, region,
patient …).

Proteins with a value in every sample are used (after imputation, all of them); each is
centred on its mean (not scaled: log2 values share one unit). Components come from the
singular value decomposition, signed so that the largest loading of each is positive
(scikit-learn's convention), so results are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import DvpInputError


@dataclass
class PcaResult:
    """Sample scores, explained variance and loadings.

    Attributes
    ----------
    scores
        Samples x components (``PC1``, ``PC2`` …).
    explained
        Fraction of the variance explained per component.
    loadings
        Proteins used x components.
    """

    scores: pd.DataFrame
    explained: np.ndarray
    loadings: pd.DataFrame


def pca(adata: ad.AnnData, n_components: int = 2, layer: str | None = None) -> PcaResult:
    """Principal components of the samples (rows of ``adata``).

    Raises
    ------
    DvpInputError
        Fewer than 3 samples or 2 complete proteins.
    """
    M = np.asarray(adata.layers[layer] if layer else adata.X, dtype=np.float64)
    complete = np.isfinite(M).all(axis=0)
    if adata.n_obs < 3:
        raise DvpInputError(f"PCA needs at least 3 samples (have {adata.n_obs})")
    if complete.sum() < 2:
        raise DvpInputError(f"only {int(complete.sum())} protein(s) have a value in every "
                            "sample; impute missing values (--impute) or lower the filters "
                            "for a PCA")
    X = M[:, complete]
    Xc = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    k = int(min(n_components, len(S)))
    sign = np.sign(Vt[np.arange(len(S)), np.argmax(np.abs(Vt), axis=1)])
    sign[sign == 0] = 1.0
    U, Vt = U * sign, Vt * sign[:, None]
    var = S ** 2 / (adata.n_obs - 1)
    total = var.sum()
    names = [f"PC{i + 1}" for i in range(k)]
    return PcaResult(
        scores=pd.DataFrame(U[:, :k] * S[:k], index=adata.obs_names.copy(), columns=names),
        explained=var[:k] / total if total > 0 else np.zeros(k),
        loadings=pd.DataFrame(Vt[:k].T, index=adata.var_names[complete], columns=names))
