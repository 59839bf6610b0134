"""Group comparisons as in the TEN paper: condition vs condition within a cell type.

The unit of replication is the **patient**: several samples of one patient's slide are
not independent, so by default (``design="auto"``)

* when at least two patients have samples of both conditions (e.g. lesional vs
  non-lesional skin of the same patient), the patient means are compared with a
  **paired t-test** (pairs = patients);
* otherwise (each patient has one condition: TEN patients vs MDE patients) the replicate
  samples are averaged per patient and the patient means compared with the **moderated
  t-test** (limma), patients being the replicates.

``design="ols"`` fits, per protein, an ordinary least-squares model ``value ~ condition +
patient`` (statsmodels; patient as a blocking factor, needs patients with both
conditions); ``design="samples"`` treats every sample as independent (shown for
comparison; it overstates the evidence when a patient gives several samples). ANOVA
across all conditions uses patient means too. p-values are BH-adjusted over proteins
(:func:`napari_dvp.core.proteomics.differential.bh_adjust`).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import DvpInputError

DESIGNS = ("auto", "paired", "patient-mean", "ols", "samples")


def _subset(adata: ad.AnnData, cell_type: str | None, conditions) -> ad.AnnData:
    obs = adata.obs
    for col in ("condition", "patient", "class"):
        if col not in obs.columns:
            raise DvpInputError(f"the samples lack a {col!r} annotation; load the MS matrix "
                                "with the study manifest")
    m = obs["condition"].astype(str).isin(list(conditions)).to_numpy()
    if cell_type is not None:
        if cell_type not in set(obs["class"].astype(str)):
            raise DvpInputError(f"no sample of cell type {cell_type!r}; choose one of "
                                f"{', '.join(sorted(set(obs['class'].astype(str))))}")
        m &= (obs["class"].astype(str) == cell_type).to_numpy()
    return adata[m].copy()


def patient_means(adata: ad.AnnData) -> ad.AnnData:
    """Mean log2 value per patient x condition x class (NaN-aware), as AnnData."""
    obs = adata.obs
    key = (obs["patient"].astype(str) + "|" + obs["condition"].astype(str) + "|"
           + obs["class"].astype(str))
    X = pd.DataFrame(np.asarray(adata.X, dtype=float), index=adata.obs_names)
    with np.errstate(all="ignore"):
        means = X.groupby(key.to_numpy()).mean()
    parts = means.index.to_series().str.split("|", expand=True)
    new_obs = pd.DataFrame({"patient": parts[0].to_numpy(), "condition": parts[1].to_numpy(),
                            "class": parts[2].to_numpy(),
                            "n_samples": key.value_counts().reindex(means.index).to_numpy()},
                           index=means.index.astype(str))
    return ad.AnnData(X=means.to_numpy(), obs=new_obs, var=adata.var.copy())


def _ols(adata: ad.AnnData, a: str, b: str) -> pd.DataFrame:
    import statsmodels.api as sm

    obs = adata.obs
    cond = (obs["condition"].astype(str) == a).astype(float).to_numpy()
    pat = pd.get_dummies(obs["patient"].astype(str), drop_first=True, dtype=float).to_numpy()
    M = np.asarray(adata.X, dtype=float)
    rows = []
    for j in range(M.shape[1]):
        y = M[:, j]
        ok = np.isfinite(y)
        X = np.column_stack([np.ones(ok.sum()), cond[ok], pat[ok]])
        X = X[:, np.linalg.svd(X, compute_uv=False) > -1]
        if ok.sum() <= np.linalg.matrix_rank(X) or cond[ok].min() == cond[ok].max():
            rows.append((np.nan, np.nan, np.nan, np.nan))
            continue
        fit = sm.OLS(y[ok], X).fit()
        rows.append((fit.params[1], fit.tvalues[1], fit.df_resid, fit.pvalues[1]))
    r = np.array(rows, dtype=float)
    return pd.DataFrame({"log2_fc": r[:, 0], "t": r[:, 1], "df": r[:, 2], "p": r[:, 3]},
                        index=adata.var_names.copy())


def choose_design(adata: ad.AnnData, a: str, b: str) -> str:
    """``paired`` when >= 2 patients have both conditions, else ``patient-mean``."""
    obs = adata.obs
    both = (obs.groupby(obs["patient"].astype(str))["condition"]
            .agg(lambda c: {a, b} <= set(c.astype(str))))
    return "paired" if int(both.sum()) >= 2 else "patient-mean"


def compare_conditions(adata: ad.AnnData, a: str, b: str, cell_type: str | None = None,
                       design: str = "auto") -> pd.DataFrame:
    """Condition ``a`` vs ``b`` per protein (within ``cell_type``), with BH q-values.

    Returns
    -------
    pandas.DataFrame
        Index protein id: ``gene, log2_fc (a - b), t, df, p, q`` and, for the t-tests,
        ``mean_a, mean_b, n_a, n_b``; ``attrs``: ``a, b, cell_type, design, label,
        n_patients_a, n_patients_b``.
    """
    from ..proteomics.differential import bh_adjust, compare

    if design not in DESIGNS:
        raise DvpInputError(f"design {design!r} is unknown; use {', '.join(DESIGNS)}")
    if a == b:
        raise DvpInputError("compare two different conditions")
    sub = _subset(adata, cell_type, (a, b))
    cond = sub.obs["condition"].astype(str)
    for g in (a, b):
        if not (cond == g).any():
            raise DvpInputError(f"no {g} sample{' of ' + cell_type if cell_type else ''}; "
                                "choose conditions that were measured")
    if design == "auto":
        design = choose_design(sub, a, b)
    pts = sub.obs.groupby(cond)["patient"].nunique()
    if design == "ols":
        out = _ols(sub, a, b)
        out.insert(0, "gene", sub.var["gene"].to_numpy())
        out["q"] = bh_adjust(out["p"].to_numpy())
        label = "OLS value ~ condition + patient"
    elif design == "samples":
        out = compare(sub, "condition", a, b, test="limma")
        label = "moderated t over samples (replicates as independent)"
    else:
        pm = patient_means(sub)
        if design == "paired":
            out = compare(pm, "condition", a, b, test="paired", pair_by="patient")
            label = "paired t on patient means"
        else:
            out = compare(pm, "condition", a, b, test="limma")
            label = "moderated t on patient means"
    out.attrs.update({"a": a, "b": b, "cell_type": cell_type or "all cell types",
                      "design": design, "label": label,
                      "n_patients_a": int(pts.get(a, 0)), "n_patients_b": int(pts.get(b, 0))})
    return out


def anova_conditions(adata: ad.AnnData, cell_type: str | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One-way ANOVA across all conditions (patient means) within a cell type, + Tukey."""
    from ..proteomics.differential import anova

    conds = sorted(set(adata.obs["condition"].astype(str)))
    pm = patient_means(_subset(adata, cell_type, conds))
    with np.errstate(invalid="ignore", divide="ignore"):  # proteins left with no df
        table, tukey = anova(pm, "condition")
    table.attrs.update({"cell_type": cell_type or "all cell types",
                        "label": "one-way ANOVA on patient means"})
    return table, tukey


def recovery(cmp: pd.DataFrame, planted: set[str], alpha: float = 0.05,
             direction: int = 1) -> dict:
    """How well a comparison found a planted effect.

    Returns
    -------
    dict
        ``planted_measured``, ``planted_found`` (q <= alpha, right sign), ``recall``,
        ``median_log2_fc_planted``, ``median_q_planted``, ``max_q_found``,
        ``false_positives`` (non-planted proteins with q <= alpha), ``non_planted``,
        ``false_positives_down`` (those with a negative fold change), ``fdp`` (false
        positives / all calls).
    """
    ok = cmp[np.isfinite(cmp["q"])]
    is_p = ok["gene"].astype(str).str.upper().isin({g.upper() for g in planted}).to_numpy()
    call = (ok["q"] <= alpha).to_numpy()
    right = np.sign(ok["log2_fc"].to_numpy()) == direction
    found = is_p & call & right
    fp = ~is_p & call
    n_calls = int(call.sum())
    return {"planted_measured": int(is_p.sum()), "planted_found": int(found.sum()),
            "recall": float(found.sum() / max(is_p.sum(), 1)),
            "median_log2_fc_planted": float(np.median(ok["log2_fc"][is_p])) if is_p.any()
            else float("nan"),
            "median_q_planted": float(np.median(ok["q"][is_p])) if is_p.any() else float("nan"),
            "max_q_found": float(ok["q"][found].max()) if found.any() else float("nan"),
            "false_positives": int(fp.sum()),
            "false_positives_down": int((fp & (ok["log2_fc"].to_numpy() < 0)).sum()),
            "non_planted": int((~is_p).sum()),
            "fdp": float(fp.sum() / n_calls) if n_calls else 0.0}
