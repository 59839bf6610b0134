"""What the Proteins dock shows and saves, Qt-free: the run list before a manifest,
the groupings a study offers, one statistics run (test + PCA + figure data), saving its
results under the output policy, and why a painted sample is blank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..csv_safe import write_csv
from ..errors import DvpInputError
from . import differential
from .outputs import check_outputs, json_writer, write_together
from .pca import PcaResult, pca
from .processing import values_frame
from .readers import metadata, run_label
from .study import MATCH_HEADERS

NOT_GROUPINGS = ("run", "run_label", "well", "n_cells", "area_um2", "n_shapes", "cell_ids")


def pending_rows(runs) -> tuple[pd.DataFrame, list[str]]:
    """Match-table rows (:data:`MATCH_HEADERS`) for runs read before any manifest."""
    runs = [str(r) for r in runs]
    rows = pd.DataFrame({"MS run": [run_label(r) for r in runs], "sample": "", "well": "",
                         "rule": "", "status": "no manifest"}, columns=list(MATCH_HEADERS))
    return rows, runs


def groupings(obs: pd.DataFrame) -> dict[str, list[str]]:
    """Sample annotations that split the samples into 2 or more groups (class, region,
    patient …), each with its sorted groups.
    """
    out = {}
    for col in obs.columns:
        if col in NOT_GROUPINGS:
            continue
        values = obs[col].astype(str)
        if 2 <= values.nunique() < len(obs):
            out[str(col)] = sorted(values.unique())
    return out


@dataclass
class StatsResult:
    """One statistics run: the per-protein table and what the figures need."""

    table: pd.DataFrame
    test: str
    group_by: str
    a: str | None
    b: str | None
    pair_by: str | None
    obs: pd.DataFrame
    top_z: pd.DataFrame
    color_by: str = "class"
    pca: PcaResult | None = None
    tukey: pd.DataFrame | None = None
    meta: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        """``"A vs B (test)"`` or ``"one-way ANOVA by class"``."""
        if self.test == "anova":
            return f"one-way ANOVA by {self.group_by}"
        return (f"{self.a} vs {self.b or 'all other samples'} "
                f"({differential.TEST_LABELS[self.test]})")

    def summary(self) -> str:
        """One line: proteins tested, how many with q <= 0.05."""
        st = self.meta["statistics"]
        return (f"{st['label']}: {st['proteins_tested']} proteins tested, "
                f"{st['q_below_0.05']} with BH q ≤ 0.05")


def run_stats(proc: ad.AnnData, group_by: str, a: str | None = None, b: str | None = None,
              test: str = "limma", pair_by: str | None = None, color_by: str | None = None,
              n_top: int = 40):
    """Compare groups (two-group ``test`` or ``"anova"``), PCA: a progress generator
    returning a :class:`StatsResult` (the same core functions as ``napari-dvp stats``).
    ``color_by`` colours the PCA (default ``group_by``).
    """
    color_by = color_by or group_by
    for col in (group_by, color_by):
        if col not in proc.obs.columns:
            raise DvpInputError(f"no sample annotation {col!r}; choose a grouping of the list")
    labels = set(proc.obs[group_by].astype(str))
    for g in (a, b):
        if g is not None and g not in labels:
            raise DvpInputError(f"group {g!r} is not a {group_by} of the samples; choose from "
                                f"{', '.join(sorted(labels))}")
    if test != "anova" and not a:
        raise DvpInputError(f"{test} compares two groups: choose group A")
    yield 0, 3, "testing every protein…"
    tukey = None
    if test == "anova":
        table, tukey = differential.anova(proc, group_by)
    else:
        table = differential.compare(proc, group_by, a, b, test=test, pair_by=pair_by)
    yield 1, 3, "PCA of the samples…"
    try:
        pc = pca(proc, n_components=3)
    except DvpInputError:
        pc = None
    yield 2, 3, "heatmap…"
    top = table.sort_values("p").index[:n_top]
    z = values_frame(proc, "z")[top]
    genes = proc.var.loc[top, "gene"].astype(str).to_numpy()
    z.columns = np.where(genes != "", genes, top.to_numpy(dtype=object))
    meta = metadata(proc)
    meta["statistics"] = {"test": test, "label": differential.TEST_LABELS[test],
                          "group_by": group_by, "a": a,
                          "b": b or ("all other samples" if a else None), "pair_by": pair_by,
                          "proteins_tested": int(np.isfinite(table["p"]).sum()),
                          "q_below_0.05": int((table["q"] <= 0.05).sum())}
    if pc is not None:
        meta["pca"] = {"explained": [float(x) for x in pc.explained],
                       "proteins_used": len(pc.loadings)}
    return StatsResult(table, test, group_by, a, b, pair_by, proc.obs.copy(), z, color_by, pc,
                       tukey, meta)


def stats_outputs(path: str | Path, result: StatsResult, figures: bool = True) -> list[Path]:
    """Files :func:`save_stats` writes for ``path``: results, meta, PCA, Tukey and the
    figures (``NAME.volcano.png`` for two groups, ``NAME.pca.png``, ``NAME.heatmap.png``).
    """
    out = Path(path)
    stem = out.with_suffix("")
    names = ["meta.json", "pca.csv" if result.pca is not None else "",
             "tukey.csv" if result.tukey is not None else ""]
    if figures:
        names += ["volcano.png" if result.test != "anova" else "",
                  "pca.png" if result.pca is not None else "", "heatmap.png"]
    return [out] + [Path(f"{stem}.{n}") for n in names if n]


def _figure(result: StatsResult, kind: str):
    from . import plots
    from .genesets import interferon_genes

    if kind == "volcano":
        return plots.volcano(result.table, result.title, highlight=interferon_genes())
    if kind == "pca":
        return plots.pca_plot(result.pca, result.obs, result.color_by)
    return plots.heatmap(result.top_z, result.obs, f"{len(result.top_z.columns)} most "
                         f"significant proteins\n{result.title}", sort_by=(result.group_by,),
                         order_proteins=False)


def save_stats(path: str | Path, result: StatsResult, inputs=(), overwrite: bool = False,
               figures: bool = True) -> list[Path]:
    """Write the results table (+ meta, PCA, Tukey, figures) together under the output
    policy (:func:`stats_outputs` names the files).

    Raises
    ------
    DvpInputError
        ``path`` is not a .csv, an output exists (and not ``overwrite``) or is an input.
    """
    out = Path(path)
    if out.suffix.lower() != ".csv":
        raise DvpInputError(f"{out.name} must end in .csv")
    paths = stats_outputs(out, result, figures)
    check_outputs(paths, inputs=inputs, overwrite=overwrite)
    writers = {paths[0]: lambda t: write_csv(result.table.reset_index(names="protein_id"), t),
               paths[1]: json_writer(result.meta)}
    for p in paths[2:]:
        if p.suffix == ".png":
            fig = _figure(result, p.name.rsplit(".", 2)[-2])
            writers[p] = lambda t, f=fig: f.savefig(t, format="png")
        elif p.name.endswith(".pca.csv"):
            cols = [c for c in dict.fromkeys([result.group_by, "class", "region", "run"])
                    if c in result.obs.columns]
            frame = result.obs[cols].join(result.pca.scores).reset_index()
            writers[p] = lambda t, f=frame: write_csv(f, t)
        else:
            writers[p] = lambda t: write_csv(result.tukey, t)
    return write_together(writers, inputs, command="stats", overwrite=overwrite)


def blank_note(values: pd.Series, reasons: pd.Series | None = None, limit: int = 4) -> str:
    """Why samples have no painted value: ``""`` when every sample has one."""
    blank = values.index[~np.isfinite(values.to_numpy(dtype=float))]
    if not len(blank):
        return ""
    if reasons is None:
        why = {s: "protein not measured" for s in blank}
    else:
        why = {s: (reasons.get(s, "") or "no value") for s in blank}
    shown = "; ".join(f"{s}: {why[s]}" for s in list(blank)[:limit])
    more = f" … (+{len(blank) - limit})" if len(blank) > limit else ""
    return f"{len(blank)} of {len(values)} samples blank — {shown}{more}"
