"""Sample plan: which cells (or region pieces) go into which sample (= one well, one MS run).

A plan is a :class:`pandas.DataFrame`, one row per sample, with the columns
:data:`PLAN_COLUMNS`:

``sample_id`` (str), ``class``, ``region``, ``replicate`` (int, from 1),
``well`` ("" = assign at export), ``n_cells``, ``area_um2`` (total cell or
region area), ``cell_ids`` (tuple of int), ``kind`` ("cells" or "region"),
``geometry`` (region samples: shapely geometry in pixels, x=col, y=row; else None).

Three ways to make one, which can be combined with :func:`combine_plans`:

* :func:`plan_samples` pools eligible cells of each class x region into
  replicate samples of a target area or cell count;
* :func:`plan_from_table` reads a plain ``cell_id,sample[,well]`` table;
* :func:`region_samples` makes drawn regions samples of their own, tiled into
  pieces of at most ``max_piece_um2``.

Cells never selected: ``qc_status == "rejected"``; cells with a raised QC flag
(``qc_*`` boolean columns) unless a person accepted them; cells in a region
named ``exclude``.

This module pools cells; :mod:`.plan_common`, :mod:`.plan_io` and
:mod:`.region_plan` hold the rest, all importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..cells.columns import AREA_UM2, CELL_ID, CLASS, COL, REGION, ROW
from ..errors import DvpInputError
from .plan_common import ANY, EXCLUDE_REGION, PLAN_COLUMNS, combine_plans, eligible_mask, empty_plan
from .plan_io import plan_from_table, read_selection
from .region_plan import region_samples, tile_geometry

__all__ = [
    "ANY",
    "EXCLUDE_REGION",
    "PLAN_COLUMNS",
    "PlanOptions",
    "combine_plans",
    "eligible_mask",
    "empty_plan",
    "plan_from_table",
    "plan_samples",
    "read_selection",
    "region_samples",
    "tile_geometry",
    "touching_pairs",
]


@dataclass
class PlanOptions:
    """How cells are pooled into samples.

    Attributes
    ----------
    target_area_um2
        Total cell area per sample (µm²); used when ``target_cells`` is None.
    target_cells
        Number of cells per sample (overrides the area target).
    replicates
        Samples per class x region group.
    mode
        ``"spread"``: cells drawn at random across the tissue;
        ``"contiguous"``: each sample is a compact patch of neighbouring cells.
    skip_touching
        Leave out cells that touch another candidate cell (each cut holds
        one cell; needs the labels image).
    exclude_flagged
        Leave out cells with a raised QC flag unless accepted.
    allow_short
        With too few cells for every replicate to reach the target, share the
        cells equally among the replicates (with a warning) instead of making
        only the replicates that reach it.
    seed
        Random seed ("spread" mode, seeds of patches).
    """

    target_area_um2: float | None = 50_000.0
    target_cells: int | None = None
    replicates: int = 1
    mode: str = "spread"
    skip_touching: bool = False
    exclude_flagged: bool = True
    allow_short: bool = True
    seed: int = 0


def touching_pairs(labels: np.ndarray) -> np.ndarray:
    """``(k, 2)`` unique pairs of different labels (> 0) that share an edge or corner."""
    lab = np.asarray(labels)
    pairs = []
    for a, b in ((lab[:, :-1], lab[:, 1:]), (lab[:-1, :], lab[1:, :]),
                 (lab[:-1, :-1], lab[1:, 1:]), (lab[:-1, 1:], lab[1:, :-1])):
        m = (a != b) & (a > 0) & (b > 0)
        if m.any():
            p = np.stack([a[m], b[m]], 1).astype(np.int64)
            pairs.append(np.sort(p, axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(pairs), axis=0)


def _area(cells: pd.DataFrame) -> np.ndarray:
    if AREA_UM2 not in cells:
        raise DvpInputError("cell table has no 'area_um2' column; measure the cells first")
    return cells[AREA_UM2].to_numpy(dtype=float)


BALANCE_TOLERANCE = 0.10  #: replicates of a group should differ by at most this share


def _cut_points(cum: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Indices splitting a cumulative weight at each target (nearest, at least one item each)."""
    out = []
    prev = 0
    for t in targets:
        k = int(np.searchsorted(cum, t))  # first index reaching t
        if k > prev and k < len(cum) and abs(cum[k - 1] - t) <= abs(cum[k] - t):
            k -= 1  # the item before is nearer to the target
        k = min(max(k + 1, prev + 1), len(cum))
        out.append(k)
        prev = k
    return np.asarray(out, dtype=np.int64)


def _pool(idx: np.ndarray, area: np.ndarray, xy: np.ndarray, opt: PlanOptions,
          rng: np.random.Generator) -> tuple[list[np.ndarray], bool]:
    """Split candidate rows ``idx`` into up to ``replicates`` balanced samples.

    With enough cells every replicate reaches the target (overshooting by less
    than one cell). With too few, ``allow_short`` shares the cells equally among
    all replicates (each below the target); otherwise only the replicates that
    reach the target are made. Returns the samples and whether they are short.
    """
    by_count = opt.target_cells is not None
    target = float(opt.target_cells if by_count else opt.target_area_um2)
    weight = np.ones(len(idx)) if by_count else area[idx]
    total = float(weight.sum())
    n_rep = opt.replicates
    short = total < target * n_rep
    if short and not opt.allow_short:
        n_rep = int(total // target)
        short = False
    if n_rep == 0:
        return [], False
    share = total / n_rep if short else target
    out: list[np.ndarray] = []
    if opt.mode == "contiguous":
        free = np.ones(len(idx), dtype=bool)
        pts = xy[idx]
        seed = int(rng.integers(len(idx)))
        for r in range(n_rep):
            if not free.any():
                break
            fi = np.flatnonzero(free)
            d = np.linalg.norm(pts[fi] - pts[seed], axis=1)
            order = fi[np.argsort(d, kind="stable")]
            if short and r == n_rep - 1:
                take = order  # the last patch takes what is left
            else:
                cum = np.cumsum(weight[order])
                n = (int(_cut_points(cum, [share])[0]) if short
                     else int(np.searchsorted(cum, target) + 1))
                take = order[:n]
            out.append(idx[take])
            free[take] = False
            if free.any():  # next patch: the free cell farthest from all patches so far
                taken = np.flatnonzero(~free)
                dist, _ = cKDTree(pts[taken]).query(pts[free])
                seed = int(np.flatnonzero(free)[np.argmax(dist)])
        return out, short
    if opt.mode != "spread":
        raise DvpInputError(f"unknown pooling mode {opt.mode!r}; use 'spread' or 'contiguous'")
    perm = rng.permutation(len(idx))
    cum = np.cumsum(weight[perm])
    if short:  # equal shares, the last replicate takes the rest
        stops = np.r_[_cut_points(cum, share * np.arange(1, n_rep)), len(perm)]
    else:  # each replicate reaches the target
        stops = []
        start = 0
        for _ in range(n_rep):
            base = cum[start - 1] if start else 0.0
            stop = min(int(np.searchsorted(cum - base, target)) + 1, len(perm))
            stops.append(stop)
            start = stop
    start = 0
    for stop in stops:
        if stop > start:
            out.append(idx[perm[start:stop]])
        start = stop
    return out, short


def plan_samples(
    cells: pd.DataFrame,
    groups: Sequence[tuple[str, str]],
    options: PlanOptions | None = None,
    labels: np.ndarray | None = None,
    prefix: str = "S",
) -> pd.DataFrame:
    """Pool eligible cells of each (class, region) group into replicate samples.

    Parameters
    ----------
    cells
        Cell table with ``cell_id``, ``centroid_row``, ``centroid_col``,
        ``area_um2``, ``class`` and ``region`` (use ``"*"`` in a group for any
        class/region); ``qc_status`` and ``qc_*`` flags are honoured.
    groups
        ``[(class, region), …]`` to collect, e.g. ``[("keratinocyte", "epidermis")]``.
    options
        :class:`PlanOptions`.
    labels
        Labels image, needed only for ``skip_touching``.
    prefix
        Sample ids are ``f"{prefix}{n:03d}"``.

    Returns
    -------
    pandas.DataFrame
        The plan (:data:`PLAN_COLUMNS`); ``plan.attrs["warnings"]`` lists
        groups with too few cells.

    Raises
    ------
    DvpInputError
        Missing columns, no group, bad targets, or no eligible cell at all.
    """
    opt = options or PlanOptions()
    if not groups:
        raise DvpInputError("no class x region group chosen; pick at least one group to collect")
    if opt.replicates < 1:
        raise DvpInputError("replicates must be at least 1")
    if opt.target_cells is None and not (opt.target_area_um2 and opt.target_area_um2 > 0):
        raise DvpInputError("set a target area (µm²) or a target number of cells per sample")
    if opt.target_cells is not None and opt.target_cells < 1:
        raise DvpInputError("target number of cells must be at least 1")
    for col in (CELL_ID, ROW, COL):
        if col not in cells:
            raise DvpInputError(f"cell table lacks column {col!r}; measure the cells first")
    area = _area(cells) if opt.target_cells is None else (
        cells[AREA_UM2].to_numpy(dtype=float) if AREA_UM2 in cells else np.zeros(len(cells)))
    ok = eligible_mask(cells, opt.exclude_flagged)
    cls = cells[CLASS].astype(str).to_numpy() if CLASS in cells else np.full(len(cells), "")
    reg = cells[REGION].astype(str).to_numpy() if REGION in cells else np.full(len(cells), "")
    ids = cells[CELL_ID].to_numpy(dtype=np.int64)
    xy = cells[[COL, ROW]].to_numpy(dtype=float)
    in_group = [(ok & ((cls == c) | (c == ANY)) & ((reg == r) | (r == ANY))) for c, r in groups]
    if opt.skip_touching:
        if labels is None:
            raise DvpInputError("'skip touching cells' needs the labels image")
        cand = np.zeros(len(cells), dtype=bool)
        for m in in_group:
            cand |= m
        pairs = touching_pairs(labels)
        cid = ids[cand]
        both = np.isin(pairs, cid).all(axis=1)
        touching = np.unique(pairs[both])
        drop = np.isin(ids, touching)
        in_group = [m & ~drop for m in in_group]
    rng = np.random.default_rng(opt.seed)
    rows = []
    warnings: list[str] = []
    taken = np.zeros(len(cells), dtype=bool)
    target = opt.target_cells if opt.target_cells is not None else opt.target_area_um2
    unit = "cells" if opt.target_cells is not None else "µm²"
    for (c, r), m in zip(groups, in_group, strict=False):
        idx = np.flatnonzero(m & ~taken)
        if idx.size == 0:
            warnings.append(f"no eligible {c} cells in {r}")
            continue
        pools, short = _pool(idx, area, xy, opt, rng)
        sizes = np.array([len(sel) if opt.target_cells is not None else float(area[sel].sum())
                          for sel in pools])
        if short:
            warnings.append(
                f"{c} in {r}: too few cells for {opt.replicates} replicates of "
                f"{target:,.0f} {unit}; the replicates share them: only "
                f"{', '.join(f'{v:,.0f}' for v in sizes)} {unit}")
        if len(sizes) > 1 and (sizes.max() - sizes.min()) > BALANCE_TOLERANCE * sizes.max():
            warnings.append(
                f"{c} in {r}: replicates differ by "
                f"{100 * (sizes.max() - sizes.min()) / sizes.max():.0f} % "
                f"({sizes.min():,.0f}-{sizes.max():,.0f} {unit}); too few cells (or cells too "
                f"large) to balance them within {100 * BALANCE_TOLERANCE:.0f} %")
        for k, sel in enumerate(pools, start=1):
            taken[sel] = True
            rows.append({"class": c if c != ANY else "+".join(sorted(set(cls[sel]) - {""})),
                         "region": r if r != ANY else "+".join(sorted(set(reg[sel]) - {""})),
                         "replicate": k, "well": "",
                         "n_cells": len(sel), "area_um2": float(area[sel].sum()),
                         "cell_ids": tuple(np.sort(ids[sel]).tolist()), "kind": "cells",
                         "geometry": None})
        if len(pools) < opt.replicates:
            warnings.append(f"{c} in {r}: cells for {len(pools)} of {opt.replicates} replicates"
                            + ("" if opt.allow_short else " reaching the target (others left out)"))
    if not rows:
        raise DvpInputError(
            "no eligible cells in the chosen groups (rejected, QC-flagged and excluded cells "
            "are never cut); check the class/region choice"
        )
    plan = pd.DataFrame(rows)
    plan.insert(0, "sample_id", [f"{prefix}{n:03d}" for n in range(1, len(plan) + 1)])
    plan = plan[PLAN_COLUMNS]
    plan.attrs["warnings"] = warnings
    return plan
