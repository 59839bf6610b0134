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
            max_proteins: int = 40) -> Figure:
    """Z-scores of a set's proteins (rows) across samples (columns, sorted by class/region)."""
    fig = _fig(fig, (6.0, 4.2))
    ax = fig.add_subplot()
    order = obs.sort_values(["class", "region"]).index
    M = z.reindex(order)
    top = M.abs().mean().sort_values(ascending=False).index[:max_proteins]
    M = M[top]
    M = M[M.mean().sort_values(ascending=False).index].T
    lim = float(np.nanmax(np.abs(M.to_numpy()))) if np.isfinite(M.to_numpy()).any() else 1.0
    im = ax.imshow(M.to_numpy(), aspect="auto", cmap=DIVERGING,
                   norm=TwoSlopeNorm(0.0, -max(lim, 1e-6), max(lim, 1e-6)),
                   interpolation="nearest")
    ax.set_yticks(np.arange(len(M.index)), M.index, fontsize=5 if len(M.index) > 25 else 7)
    labels = [f"{obs.at[s, 'class']} · {obs.at[s, 'region']}" for s in order]
    ax.set_xticks(np.arange(len(order)), labels, rotation=90, fontsize=5)
    ax.set_title(title or "z-score heatmap", fontsize=9)
    fig.colorbar(im, ax=ax, label="z-score", shrink=0.8)
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
    ax.set_ylabel("-log10 p (Welch)")
    ax.set_title(title or "volcano", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    fig.volcano_points = (ok.index.to_numpy(), ok["log2_fc"].to_numpy(), y)  # for picking
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
