"""Figures of the protein results (matplotlib, no pyplot, no Qt): the dock widget shows
them in canvases, the demo and scripts save them as PNG.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure

DIVERGING = "RdBu_r"
SEQUENTIAL = "viridis"


def _fig(fig: Figure | None, size=(6.0, 3.6)) -> Figure:
    if fig is None:
        return Figure(figsize=size, dpi=100, layout="constrained")
    fig.clear()
    return fig


def bars_by_class_region(values: pd.Series, obs: pd.DataFrame, title: str = "",
                         fig: Figure | None = None) -> Figure:
    """Mean value (bar) and every sample (dot) per class, one bar per region."""
    fig = _fig(fig)
    ax = fig.add_subplot()
    df = pd.DataFrame({"v": values.reindex(obs.index).to_numpy(dtype=float),
                       "class": obs["class"].astype(str).to_numpy(),
                       "region": obs["region"].astype(str).to_numpy()}).dropna()
    classes = sorted(df["class"].unique())
    regions = sorted(df["region"].unique())
    width = 0.8 / max(len(regions), 1)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
    for k, reg in enumerate(regions):
        sub = df[df["region"] == reg]
        means = sub.groupby("class")["v"].mean().reindex(classes)
        x = np.arange(len(classes)) - 0.4 + width * (k + 0.5)
        ax.bar(x, means.to_numpy(), width * 0.9, label=reg, color=colours[k % 6], alpha=0.75)
        xi = x[np.searchsorted(classes, sub["class"].to_numpy())]
        ax.scatter(xi, sub["v"], s=10, color="k", zorder=3)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xticks(np.arange(len(classes)), classes, rotation=15)
    ax.set_ylabel(title or "value")
    ax.set_title(f"{title} by class and region" if title else "by class and region")
    ax.legend(title="region", fontsize=8, title_fontsize=8, frameon=False)
    return fig


def heatmap(z: pd.DataFrame, obs: pd.DataFrame, title: str = "", fig: Figure | None = None,
            max_proteins: int = 40, sort_by: tuple[str, ...] = ("class", "region"),
            order_proteins: bool = True) -> Figure:
    """Z-scores of proteins (rows) across samples (columns, sorted by ``sort_by``).

    ``z`` is samples x proteins (per-protein z-scores). The ``max_proteins`` with the
    largest mean |z| are shown unless ``order_proteins`` is False (then the first ones, in
    the given order: e.g. the most significant of a test).
    """
    fig = _fig(fig, (6.0, 4.2))
    ax = fig.add_subplot()
    keys = [c for c in sort_by if c in obs.columns]
    order = obs.sort_values(keys).index if keys else obs.index
    M = z.reindex(order)
    if order_proteins:
        top = M.abs().mean().sort_values(ascending=False).index[:max_proteins]
        M = M[top]
        M = M[M.mean().sort_values(ascending=False).index].T
    else:
        M = M.iloc[:, :max_proteins].T
    finite = np.isfinite(M.to_numpy())
    lim = float(np.nanmax(np.abs(M.to_numpy()))) if finite.any() else 1.0
    im = ax.imshow(M.to_numpy(), aspect="auto", cmap=DIVERGING,
                   norm=TwoSlopeNorm(0.0, -max(lim, 1e-6), max(lim, 1e-6)),
                   interpolation="nearest")
    ax.set_yticks(np.arange(len(M.index)), M.index, fontsize=5 if len(M.index) > 25 else 7)
    labels = [" · ".join(str(obs.at[s_, k]) for k in keys) if keys else str(s_) for s_ in order]
    ax.set_xticks(np.arange(len(order)), labels, rotation=90, fontsize=5)
    ax.set_title(title or "z-score heatmap", fontsize=9)
    fig.colorbar(im, ax=ax, label="z-score (per protein)", shrink=0.8)
    return fig


def volcano(cmp: pd.DataFrame, title: str = "", fig: Figure | None = None,
            highlight: set[str] | None = None, n_labels: int = 8) -> Figure:
    """log2 fold change vs -log10 p; ``highlight`` genes in red, the most significant named."""
    fig = _fig(fig)
    ax = fig.add_subplot()
    ok = cmp[np.isfinite(cmp["p"]) & np.isfinite(cmp["log2_fc"])]
    y = -np.log10(np.maximum(ok["p"].to_numpy(), 1e-300))
    hit = ok["gene"].str.upper().isin(highlight or set()).to_numpy()
    ax.scatter(ok["log2_fc"][~hit], y[~hit], s=6, color="0.6", label="other proteins",
               picker=True)
    if hit.any():
        ax.scatter(ok["log2_fc"][hit], y[hit], s=10, color="#c44e52",
                   label="interferon / JAK-STAT", picker=True)
    sig = ok.assign(y=y).nsmallest(n_labels, "p")
    for _, r in sig.iterrows():
        ax.annotate(r["gene"] or "?", (r["log2_fc"], r["y"]), fontsize=7,
                    xytext=(3, 2), textcoords="offset points")
    q05 = ok.loc[ok["q"] <= 0.05, "p"]
    if len(q05):
        ax.axhline(-np.log10(q05.max()), color="0.5", ls="--", lw=0.8)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel(f"-log10 p ({cmp.attrs.get('label', 'Welch t')})")
    ax.set_title(title or "volcano", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    fig.volcano_points = (ok.index.to_numpy(), ok["log2_fc"].to_numpy(), y)  # for picking
    return fig


def pca_plot(result, obs: pd.DataFrame, color_by: str = "class", title: str = "",
             fig: Figure | None = None) -> Figure:
    """Samples on PC1 x PC2, coloured by an obs column (class, region, patient …).

    ``result`` is a :class:`~.pca.PcaResult`.
    """
    fig = _fig(fig, (5.0, 4.0))
    ax = fig.add_subplot()
    sc = result.scores
    lab = obs[color_by].astype(str).reindex(sc.index) if color_by in obs.columns \
        else pd.Series("samples", index=sc.index)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
               "#8c8c8c", "#ccb974", "#64b5cd"]
    y = sc.iloc[:, 1] if sc.shape[1] > 1 else pd.Series(0.0, index=sc.index)
    for k, g in enumerate(sorted(lab.unique())):
        m = (lab == g).to_numpy()
        ax.scatter(sc.iloc[:, 0][m], y[m], s=22, color=colours[k % len(colours)], label=g,
                   edgecolor="k", linewidth=0.3)
    ev = [*result.explained, 0.0, 0.0]
    ax.set_xlabel(f"PC1 ({ev[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ev[1]:.0%} of variance)")
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    ax.set_title(title or f"PCA of samples, coloured by {color_by}", fontsize=9)
    ax.legend(fontsize=7, frameon=False, title=color_by, title_fontsize=7)
    return fig


def colorbar(label: str, vmin: float, vmax: float, cmap: str, fig: Figure | None = None,
             centred: bool = False) -> Figure:
    """A horizontal colour bar (the overlay's legend)."""
    fig = _fig(fig, (4.0, 0.9))
    ax = fig.add_subplot()
    norm = TwoSlopeNorm(0.0, vmin, vmax) if centred and vmin < 0 < vmax else \
        Normalize(vmin, vmax)
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=ax, orientation="horizontal",
                 label=label)
    return fig
