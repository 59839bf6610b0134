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
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ..cell_table import (
    AREA_UM2,
    CELL_ID,
    CLASS,
    COL,
    QC_ACCEPTED,
    QC_REJECTED,
    QC_STATUS,
    REGION,
    ROW,
)
from ..errors import DvpInputError, one_line

PLAN_COLUMNS = ["sample_id", "class", "region", "replicate", "well", "n_cells", "area_um2",
                "cell_ids", "kind", "geometry"]
EXCLUDE_REGION = "exclude"
ANY = "*"  #: wildcard for class or region in a group


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
        Keep a last replicate that does not reach the target (with a warning)
        instead of leaving it out.
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


def empty_plan() -> pd.DataFrame:
    """A plan with no samples."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in PLAN_COLUMNS})


def eligible_mask(cells: pd.DataFrame, exclude_flagged: bool = True) -> np.ndarray:
    """Boolean mask of cells that may be cut (not rejected, not excluded, not QC-flagged)."""
    ok = np.ones(len(cells), dtype=bool)
    status = cells[QC_STATUS].astype(str) if QC_STATUS in cells else None
    if status is not None:
        ok &= (status != QC_REJECTED).to_numpy()
    if REGION in cells:
        ok &= (cells[REGION].astype(str).str.lower() != EXCLUDE_REGION).to_numpy()
    if exclude_flagged:
        flags = [c for c in cells.columns
                 if c.startswith("qc_") and c != QC_STATUS and cells[c].dtype == bool]
        if flags:
            flagged = cells[flags].to_numpy().any(axis=1)
            accepted = (status == QC_ACCEPTED).to_numpy() if status is not None else False
            ok &= ~(flagged & ~accepted)
    return ok


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


def _pool(idx: np.ndarray, area: np.ndarray, xy: np.ndarray, opt: PlanOptions,
          rng: np.random.Generator) -> list[np.ndarray]:
    """Split candidate rows ``idx`` into up to ``replicates`` samples."""
    by_count = opt.target_cells is not None
    target = float(opt.target_cells if by_count else opt.target_area_um2)
    weight = np.ones(len(idx)) if by_count else area[idx]
    out: list[np.ndarray] = []
    if opt.mode == "contiguous":
        free = np.ones(len(idx), dtype=bool)
        pts = xy[idx]
        seed = int(rng.integers(len(idx)))
        for _ in range(opt.replicates):
            if not free.any():
                break
            fi = np.flatnonzero(free)
            d = np.linalg.norm(pts[fi] - pts[seed], axis=1)
            order = fi[np.argsort(d, kind="stable")]
            cum = np.cumsum(weight[order])
            n = int(np.searchsorted(cum, target) + 1)
            take = order[:n]
            out.append(idx[take])
            free[take] = False
            if free.any():  # next patch: the free cell farthest from all patches so far
                taken = np.flatnonzero(~free)
                dist, _ = cKDTree(pts[taken]).query(pts[free])
                seed = int(np.flatnonzero(free)[np.argmax(dist)])
        return out
    if opt.mode != "spread":
        raise DvpInputError(f"unknown pooling mode {opt.mode!r}; use 'spread' or 'contiguous'")
    perm = rng.permutation(len(idx))
    cum = np.cumsum(weight[perm])
    start = 0
    for _ in range(opt.replicates):
        if start >= len(perm):
            break
        base = cum[start - 1] if start else 0.0
        stop = min(int(np.searchsorted(cum - base, target)) + 1, len(perm))
        out.append(idx[perm[start:stop]])
        start = stop
    return out


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
        pools = _pool(idx, area, xy, opt, rng)
        for k, sel in enumerate(pools, start=1):
            reached = len(sel) if opt.target_cells is not None else float(area[sel].sum())
            if reached < target:
                msg = (f"{c} in {r}, replicate {k}: only {reached:,.0f} of {target:,.0f} {unit}")
                if not opt.allow_short:
                    warnings.append(msg + " (left out)")
                    continue
                warnings.append(msg)
            taken[sel] = True
            rows.append({"class": c if c != ANY else "+".join(sorted(set(cls[sel]) - {""})),
                         "region": r if r != ANY else "+".join(sorted(set(reg[sel]) - {""})),
                         "replicate": k, "well": "",
                         "n_cells": len(sel), "area_um2": float(area[sel].sum()),
                         "cell_ids": tuple(np.sort(ids[sel]).tolist()), "kind": "cells",
                         "geometry": None})
        if len(pools) < opt.replicates:
            warnings.append(f"{c} in {r}: cells for {len(pools)} of {opt.replicates} replicates")
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


def read_selection(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a ``cell_id,sample[,well]`` selection table (CSV, UTF-8) for :func:`plan_from_table`.

    Raises
    ------
    DvpInputError
        Missing, empty, binary, UTF-16 or otherwise unparsable file.
    """
    p = Path(path)
    if not p.is_file():
        raise DvpInputError(f"selection file {p} does not exist")
    head = p.read_bytes()[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise DvpInputError(f"selection {p.name} is not UTF-8 text (UTF-16 or binary); save it "
                            "as CSV (UTF-8)")
    try:
        return pd.read_csv(p, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DvpInputError(f"selection {p.name} is empty; list cell_id,sample rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DvpInputError(f"cannot read selection {p.name} as CSV "
                            f"({one_line(exc)[:120]})") from None


def plan_from_table(
    table: pd.DataFrame,
    cells: pd.DataFrame | None = None,
    label_ids: np.ndarray | None = None,
    exclude_flagged: bool = True,
) -> pd.DataFrame:
    """Plan from a plain ``cell_id,sample[,well]`` table (cells chosen elsewhere).

    Parameters
    ----------
    table
        Columns ``cell_id`` and ``sample`` (``sample_id`` accepted), optional ``well``.
    cells
        Cell table, for class/region/area and QC status of each cell (optional).
    label_ids
        Ids present in the labels image; cells not among them are an error.

    Raises
    ------
    DvpInputError
        Missing columns, unknown or repeated cells, empty selection, a sample
        whose cells are all rejected, or two wells for one sample.
    """
    t = table.rename(columns={c: c.strip().lower() for c in table.columns})
    if "sample" not in t and "sample_id" in t:
        t = t.rename(columns={"sample_id": "sample"})
    missing = [c for c in (CELL_ID, "sample") if c not in t]
    if missing:
        raise DvpInputError(
            f"selection table lacks column(s) {', '.join(missing)}; "
            "it needs columns cell_id,sample and optionally well"
        )
    t = t.dropna(subset=[CELL_ID, "sample"])
    if t.empty:
        raise DvpInputError("the selection is empty; list at least one cell_id with its sample")
    try:
        cid = pd.to_numeric(t[CELL_ID], errors="raise").to_numpy()
    except (TypeError, ValueError) as exc:
        raise DvpInputError("selection column cell_id must hold integer label values") from exc
    if (not np.isfinite(cid).all() or not np.all(np.equal(np.mod(cid, 1), 0))
            or (cid <= 0).any()):
        raise DvpInputError("selection column cell_id must hold positive integer label values")
    t = t.assign(**{CELL_ID: cid.astype(np.int64), "sample": t["sample"].astype(str).str.strip()})
    dup = t[CELL_ID].duplicated()
    if dup.any():
        raise DvpInputError(
            f"cell {int(t[CELL_ID][dup].iloc[0])} is listed more than once; "
            "a cell can go into one sample only"
        )
    if label_ids is not None:
        unknown = ~np.isin(t[CELL_ID].to_numpy(), np.asarray(label_ids))
        if unknown.any():
            bad = t[CELL_ID].to_numpy()[unknown]
            raise DvpInputError(
                f"{unknown.sum()} selected cell(s) do not exist in the labels image "
                f"(e.g. {', '.join(map(str, bad[:5]))}); check that selection and labels match"
            )
    well = t["well"].fillna("").astype(str).str.strip() if "well" in t else pd.Series(
        "", index=t.index)
    t = t.assign(well=well)
    info = None
    if cells is not None:
        info = cells.set_index(CELL_ID)
        if label_ids is None:
            unknown = ~t[CELL_ID].isin(info.index)
            if unknown.any():
                raise DvpInputError(
                    f"{unknown.sum()} selected cell(s) are not in the cell table "
                    f"(e.g. {int(t[CELL_ID][unknown].iloc[0])}); check the selection"
                )
        ok = pd.Series(eligible_mask(cells, exclude_flagged), index=info.index)
        t = t.assign(_ok=ok.reindex(t[CELL_ID]).fillna(True).to_numpy(dtype=bool))
    else:
        t = t.assign(_ok=True)
    rows = []
    warnings = []
    for sid, grp in t.groupby("sample", sort=False):
        wells = sorted(set(grp["well"]) - {""})
        if len(wells) > 1:
            raise DvpInputError(f"sample {sid!r} is given wells {', '.join(wells)}; one per sample")
        good = grp[grp["_ok"]]
        if good.empty:
            raise DvpInputError(
                f"all {len(grp)} cells of sample {sid!r} are rejected or excluded; "
                "drop the sample or review its cells"
            )
        if len(good) < len(grp):
            warnings.append(f"sample {sid}: {len(grp) - len(good)} rejected/excluded cell(s) "
                            "left out")
        ids = np.sort(good[CELL_ID].to_numpy())
        c = r = ""
        area = np.nan
        if info is not None:
            sub = info.reindex(ids)
            if CLASS in sub:
                c = "+".join(sorted(set(sub[CLASS].dropna().astype(str)) - {""}))
            if REGION in sub:
                r = "+".join(sorted(set(sub[REGION].dropna().astype(str)) - {""}))
            if AREA_UM2 in sub:
                area = float(sub[AREA_UM2].sum())
        rows.append({"sample_id": str(sid), "class": c, "region": r, "replicate": 1,
                     "well": wells[0] if wells else "", "n_cells": len(ids), "area_um2": area,
                     "cell_ids": tuple(ids.tolist()), "kind": "cells", "geometry": None})
    plan = pd.DataFrame(rows)[PLAN_COLUMNS]
    plan.attrs["warnings"] = warnings
    return plan


def tile_geometry(geom, max_piece_px2: float | None) -> np.ndarray:
    """Cut a polygon into pieces of at most ``max_piece_px2`` (square grid), vectorised."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    parts = parts[shapely.get_type_id(parts) == 3]
    if not max_piece_px2 or max_piece_px2 <= 0:
        return parts
    out = []
    for p in parts:
        if p.area <= max_piece_px2:
            out.append(np.array([p], dtype=object))
            continue
        side = float(np.sqrt(max_piece_px2))
        x0, y0, x1, y1 = p.bounds
        xs = np.arange(x0, x1, side)
        ys = np.arange(y0, y1, side)
        gx, gy = np.meshgrid(xs, ys)
        boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + side, gy.ravel() + side)
        pieces = shapely.intersection(boxes, p)
        pieces = shapely.get_parts(pieces)
        pieces = pieces[(shapely.get_type_id(pieces) == 3) & (shapely.area(pieces) > 0)]
        out.append(pieces)
    return np.concatenate(out) if out else np.empty(0, dtype=object)


def region_samples(
    regions: dict[str, object],
    names: Sequence[str],
    pixel_size_um: float,
    max_piece_um2: float | None = None,
    cells: pd.DataFrame | None = None,
    prefix: str = "R",
) -> pd.DataFrame:
    """Make each named region a sample, cut as its own polygon(s).

    Parameters
    ----------
    regions
        Region name -> shapely geometry (pixels, x=col, y=row).
    names
        Regions to collect.
    max_piece_um2
        Tile regions into pieces of at most this area (the LMD drops big pieces badly).
    cells
        Cell table: the manifest then lists the cells whose centre lies inside.
    """
    rows = []
    px2 = float(pixel_size_um) ** 2
    for n, name in enumerate(names, start=1):
        if name not in regions:
            raise DvpInputError(f"no region named {name!r}; known: {', '.join(map(str, regions))}")
        geom = regions[name]
        if geom is None or shapely.is_empty(geom) or shapely.area(geom) <= 0:
            raise DvpInputError(f"region {name!r} has no area; draw it as a polygon")
        pieces = tile_geometry(geom, max_piece_um2 / px2 if max_piece_um2 else None)
        ids: tuple[int, ...] = ()
        if cells is not None and len(cells):
            inside = shapely.contains_xy(shapely.union_all(pieces),
                                         cells[COL].to_numpy(float), cells[ROW].to_numpy(float))
            inside &= eligible_mask(cells, False)
            ids = tuple(np.sort(cells[CELL_ID].to_numpy()[inside]).tolist())
        rows.append({"sample_id": f"{prefix}{n:03d}", "class": "", "region": name,
                     "replicate": 1, "well": "", "n_cells": len(ids),
                     "area_um2": float(shapely.area(pieces).sum() * px2), "cell_ids": ids,
                     "kind": "region", "geometry": shapely.MultiPolygon(list(pieces))})
    plan = pd.DataFrame(rows)[PLAN_COLUMNS] if rows else empty_plan()
    plan.attrs["warnings"] = []
    return plan


def combine_plans(*plans: pd.DataFrame) -> pd.DataFrame:
    """Concatenate plans (e.g. cell samples + region samples); sample ids must stay unique.

    A cell listed by two cell samples is an error; a cell sample inside a region
    sample is fine (its cells are cut out of the region's pieces).
    """
    plans = [p for p in plans if p is not None and len(p)]
    if not plans:
        return empty_plan()
    plan = pd.concat(plans, ignore_index=True)[PLAN_COLUMNS]
    dup = plan["sample_id"].duplicated()
    if dup.any():
        raise DvpInputError(f"sample id {plan['sample_id'][dup].iloc[0]!r} is used twice; "
                            "rename one of the samples")
    cell_rows = plan[plan["kind"] == "cells"]
    all_ids = np.concatenate([np.asarray(c, dtype=np.int64) for c in cell_rows["cell_ids"]]
                             or [np.empty(0, np.int64)])
    if len(np.unique(all_ids)) != len(all_ids):
        raise DvpInputError("a cell is in two samples; a cell can go into one sample only")
    plan.attrs["warnings"] = [w for p in plans for w in p.attrs.get("warnings", [])]
    return plan
