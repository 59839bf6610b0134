"""Precursors -> protein groups, for reports without the engine's protein quantity.

Rule ``top3`` ("Hi3", Silva et al., Mol Cell Proteomics 2006): for every protein group
and run, the **mean of the 3 most intense precursors** measured in that run (of fewer
when fewer were measured). A precursor listed twice for one run counts once (its
largest value). When a report repeats one protein-group value on every precursor row,
top3 returns that value unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: aggregation name -> number of precursors averaged
AGGREGATES: dict[str, int] = {"top3": 3}


def top_n(pg: np.ndarray, run: np.ndarray, precursor: np.ndarray, value: np.ndarray,
          n: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of the ``n`` largest precursor values per (protein group, run).

    Parameters
    ----------
    pg, run, precursor
        Protein group, run and precursor id per row.
    value
        Precursor quantity per row (NaN / <= 0 = not measured).
    n
        Precursors averaged.

    Returns
    -------
    (ids, runs, values)
        Protein groups, runs (first-seen order) and the proteins x runs matrix (NaN where
        no precursor was measured).
    """
    pi, ids = pd.factorize(np.asarray(pg, dtype=object), sort=False)
    ri, runs = pd.factorize(np.asarray(run, dtype=object), sort=False)
    ki, _ = pd.factorize(np.asarray(precursor, dtype=object), sort=False)
    v = np.asarray(value, dtype=np.float64)
    ok = np.isfinite(v) & (v > 0)
    df = pd.DataFrame({"p": pi[ok], "r": ri[ok], "k": ki[ok], "v": v[ok]})
    df = df.groupby(["p", "r", "k"], sort=False)["v"].max().reset_index()
    df = df.sort_values(["p", "r", "v"], ascending=[True, True, False], kind="stable")
    df = df[df.groupby(["p", "r"], sort=False).cumcount() < n]
    mean = df.groupby(["p", "r"], sort=False)["v"].mean()
    out = np.full((len(ids), len(runs)), np.nan)
    out[mean.index.get_level_values(0), mean.index.get_level_values(1)] = mean.to_numpy()
    return np.asarray(ids, dtype=object), np.asarray(runs, dtype=object), out
