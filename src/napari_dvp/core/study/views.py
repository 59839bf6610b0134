"""Study-level figures: pathway heatmap by condition x cell type x patient, PCA, volcano."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DvpInputError

GROUP_KEYS = ("condition", "class", "patient")


def group_means(values: pd.DataFrame, obs: pd.DataFrame,
                keys: tuple[str, ...] = GROUP_KEYS) -> pd.DataFrame:
    """Mean of each column per (condition, class, patient), columns = groups (sorted)."""
    missing = [k for k in keys if k not in obs.columns]
    if missing:
        raise DvpInputError(f"the samples lack {', '.join(missing)}; load the MS matrix with "
                            "the study manifest")
    key = obs[list(keys)].astype(str).agg(" · ".join, axis=1).reindex(values.index)
    with np.errstate(all="ignore"):
        return values.groupby(key.to_numpy()).mean().T


def zscore_rows(M: pd.DataFrame) -> pd.DataFrame:
    """Z-score every row (protein or pathway) across the columns."""
    mu = M.mean(axis=1)
    sd = M.std(axis=1, ddof=1).replace(0, np.nan)
    return M.sub(mu, axis=0).div(sd, axis=0)


def heatmap_figure(Z: pd.DataFrame, title: str, label: str = "z-score (per row)"):
    """Rows x groups heatmap (diverging, centred on 0)."""
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(5.0, 0.32 * Z.shape[1] + 3.0), max(3.0, 0.16 * Z.shape[0] + 2.2)),
                 dpi=100, layout="constrained")
    ax = fig.add_subplot()
    lim = float(np.nanmax(np.abs(Z.to_numpy()))) if np.isfinite(Z.to_numpy()).any() else 1.0
    im = ax.imshow(Z.to_numpy(), aspect="auto", cmap="RdBu_r",
                   norm=TwoSlopeNorm(0.0, -max(lim, 1e-6), max(lim, 1e-6)),
                   interpolation="nearest")
    ax.set_yticks(np.arange(Z.shape[0]), Z.index, fontsize=6 if Z.shape[0] > 20 else 8)
    ax.set_xticks(np.arange(Z.shape[1]), Z.columns, rotation=90, fontsize=6)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    return fig


def pathway_heatmap(ps, max_rows: int = 40):
    """Pathway scores by condition x cell type x patient (z-scored per pathway) and the
    interferon members' z-scores by the same groups (z-scored per protein).

    Returns
    -------
    (scores_z, proteins_z, fig_pathways, fig_proteins)
    """
    from ..proteomics.genesets import interferon_genes
    from ..proteomics.processing import values_frame

    obs = ps.processed.obs
    cov = ps.scores.coverage
    scored = cov.loc[cov["scored"], "set"].tolist()
    if not scored:
        raise DvpInputError("no gene set is scored; load a matrix with more proteins")
    S = ps.scores.scores[scored].rename(columns=dict(zip(cov["set"], cov["label"],
                                                         strict=True)))
    sz = zscore_rows(group_means(S, obs))
    X = values_frame(ps.processed)
    genes = ps.processed.var["gene"].astype(str)
    ifn = genes.str.upper().isin({g.upper() for g in interferon_genes()}).to_numpy()
    P = X.loc[:, ifn]
    P.columns = genes[ifn].to_numpy()
    pz = zscore_rows(group_means(P, obs))
    pz = pz.loc[pz.abs().mean(axis=1).sort_values(ascending=False).index[:max_rows]]
    return (sz, pz, heatmap_figure(sz, "pathway scores by condition · cell type · patient"),
            heatmap_figure(pz, "interferon / JAK-STAT proteins by condition · cell type · "
                               "patient"))


def pca_figure(ps):
    """PCA of the samples: two panels coloured by condition and by cell type."""
    from matplotlib.figure import Figure

    from ..proteomics.pca import pca

    res = pca(ps.processed, n_components=2, layer="z")
    fig = Figure(figsize=(10.0, 4.2), dpi=100, layout="constrained")
    sub = fig.subfigures(1, 2)
    from ..proteomics.plots import pca_plot

    pca_plot(res, ps.processed.obs, "condition", "PCA of samples by condition", fig=sub[0])
    pca_plot(res, ps.processed.obs, "class", "PCA of samples by cell type", fig=sub[1])
    return res, fig


def volcano_figure(cmp: pd.DataFrame):
    """Volcano of one comparison with the interferon / JAK-STAT genes highlighted."""
    from ..proteomics.genesets import interferon_genes
    from ..proteomics.plots import volcano

    a = cmp.attrs
    title = (f"{a.get('a')} vs {a.get('b')} · {a.get('cell_type')} · {a.get('label')} "
             f"({a.get('n_patients_a')} vs {a.get('n_patients_b')} patients)")
    return volcano(cmp, title, highlight={g.upper() for g in interferon_genes()})


def comparison_stem(cmp: pd.DataFrame) -> str:
    """``<A>_vs_<B>_<cell type>`` (spaces as underscores) for file names."""
    a = cmp.attrs
    return f"{a.get('a')}_vs_{a.get('b')}_{a.get('cell_type')}".replace(" ", "_")


def write_comparison(cmp: pd.DataFrame, folder, stem: str | None = None) -> list:
    """Write a comparison's table (``<stem>.csv``) and volcano (``<stem>_volcano.png``)."""
    from pathlib import Path

    from ..csv_safe import write_csv

    folder, stem = Path(folder), stem or comparison_stem(cmp)
    write_csv(cmp.reset_index(), folder / f"{stem}.csv", index=False)
    volcano_figure(cmp).savefig(folder / f"{stem}_volcano.png")
    return [folder / f"{stem}.csv", folder / f"{stem}_volcano.png"]
