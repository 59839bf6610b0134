"""The study plan on paper: plate-map CSVs and one picture per plate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..csv_safe import write_csv

COND_COLOURS = ["#c44e52", "#4c72b0", "#55a868", "#8172b3", "#dd8452", "#937860", "#da8bc3"]


def plate_map_long(plan: pd.DataFrame) -> pd.DataFrame:
    """One row per used well: ``plate, well, row, column, sample_id, kind, slide, patient,
    condition, class, region``, sorted by plate and well position."""
    cols = ["plate", "well", "sample_id", "kind", "slide", "patient", "condition", "class",
            "region"]
    out = plan[cols].copy()
    out.insert(2, "row", out["well"].str[0])
    out.insert(3, "column", out["well"].str[1:].astype(int))
    return out.sort_values(["plate", "row", "column"]).reset_index(drop=True)


def plate_grid(plan: pd.DataFrame, plate: int, fmt: str = "384") -> pd.DataFrame:
    """The plate as a grid of sample ids (core.lmd.collectors.plate_map)."""
    from ..lmd.collectors import make_collector, plate_map

    sub = plan[plan["plate"] == plate]
    return plate_map(dict(zip(sub["sample_id"], sub["well"], strict=True)), make_collector(fmt))


def plate_figure(plan: pd.DataFrame, plate: int, fmt: str = "384"):
    """A matplotlib figure of one plate: wells coloured by condition, marker per class,
    blanks (open circle) and QC (black diamond)."""
    from matplotlib.figure import Figure

    from ..lmd.collectors import PLATES

    nr, nc = PLATES[fmt]
    sub = plan[plan["plate"] == plate]
    fig = Figure(figsize=(0.32 * nc + 2.6, 0.32 * nr + 1.0), dpi=110)
    ax = fig.add_subplot()
    rr, cc = np.meshgrid(np.arange(nr), np.arange(nc), indexing="ij")
    ax.scatter(cc.ravel() + 1, rr.ravel(), s=60, facecolor="none", edgecolor="0.85", lw=0.6)
    conds = sorted(plan.loc[plan["kind"] == "sample", "condition"].unique())
    classes = sorted(plan.loc[plan["kind"] == "sample", "class"].unique())
    markers = "osD^vP*Xh"
    r = sub["well"].str[0].map(lambda s: ord(s) - 65).to_numpy()
    c = sub["well"].str[1:].astype(int).to_numpy()
    for i, cond in enumerate(conds):
        for j, cls in enumerate(classes):
            m = ((sub["kind"] == "sample") & (sub["condition"] == cond)
                 & (sub["class"] == cls)).to_numpy()
            if m.any():
                ax.scatter(c[m], r[m], s=55, marker=markers[j % len(markers)],
                           color=COND_COLOURS[i % len(COND_COLOURS)], edgecolor="k", lw=0.3,
                           label=f"{cond} · {cls}")
    for kind, style in (("blank", {"facecolor": "white", "edgecolor": "k", "marker": "o"}),
                        ("qc", {"color": "k", "marker": "D"})):
        m = (sub["kind"] == kind).to_numpy()
        if m.any():
            ax.scatter(c[m], r[m], s=45, label=kind, lw=0.8, **style)
    ax.set_xticks(np.arange(1, nc + 1))
    ax.set_xticklabels([str(k) for k in range(1, nc + 1)], fontsize=6)
    ax.set_yticks(np.arange(nr))
    ax.set_yticklabels([chr(65 + k) for k in range(nr)], fontsize=6)
    ax.set_ylim(nr - 0.5, -0.5)
    ax.set_xlim(0.4, nc + 0.6)
    ax.set_aspect("equal")
    n = int((sub["kind"] == "sample").sum())
    ax.set_title(f"plate {plate}: {n} samples, {len(sub) - n} blank/QC wells "
                 "(colour = condition, marker = cell type)", fontsize=8)
    ax.legend(fontsize=6, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def write_plan_files(plan: pd.DataFrame, folder: Path, fmt: str = "384") -> list[Path]:
    """Write ``study_plan.parquet`` (cell ids as ``"1;2;3"``), ``plan.csv``,
    ``plate_map.csv`` (long), ``plate_<n>_grid.csv`` and ``plate_<n>.png`` into ``folder``.
    """
    from .slides import PLAN_FILE

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    flat = plan.copy()
    flat["cell_ids"] = flat["cell_ids"].map(lambda t: ";".join(map(str, t)))
    flat.attrs = {}
    paths = [folder / PLAN_FILE, folder / "plan.csv", folder / "plate_map.csv"]
    flat.to_parquet(paths[0], index=False)
    write_csv(flat, paths[1], index=False)
    write_csv(plate_map_long(plan), paths[2], index=False)
    for p in sorted(plan["plate"].unique()):
        grid = folder / f"plate_{p}_grid.csv"
        write_csv(plate_grid(plan, int(p), fmt), grid, index=True)
        png = folder / f"plate_{p}.png"
        plate_figure(plan, int(p), fmt).savefig(png)
        paths += [grid, png]
    return paths


def read_plan(folder: Path) -> pd.DataFrame:
    """Read ``study_plan.parquet`` back (cell ids as tuples)."""
    from ..errors import DvpInputError
    from .slides import PLAN_FILE

    path = Path(folder) / PLAN_FILE
    if not path.is_file():
        raise DvpInputError(f"no study plan in {folder}; run `napari-dvp study plan` first")
    plan = pd.read_parquet(path)
    plan["cell_ids"] = plan["cell_ids"].fillna("").map(
        lambda s: tuple(int(v) for v in str(s).split(";") if v.strip()))
    return plan
