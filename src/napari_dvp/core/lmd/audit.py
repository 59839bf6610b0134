"""What was actually cut: per cell and per sample, checked on the final (rounded) shapes.

A selected cell counts as **cut** when at least :data:`FULL_CUT` of its area
lies inside the shapes of its own well (a protective gap along a neighbour of
another sample trims a little), **partial** when less does, and **lost** below
:data:`LOST_BELOW`; every cell that is not fully cut gets the reason
recorded while the shapes were built (see :data:`.shapes.CUT_REASONS`).
A cell of a region sample counts as cut when its centre lies in the region's
cut. Per sample: the cells cut, their area, the area of the shapes (margin
included), **purity** (area of the sample's own cells inside its cut / area of
its cut; cell samples only) and the area of unselected cells inside the cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from .shapes import CUT_REASONS, _union_groups

FULL_CUT = 0.90  #: share of a cell's area inside its well's shapes for it to count as cut
LOST_BELOW = 0.05  #: below this share a cell counts as lost (between the two: partial)
_PRIORITY = ("dropped", "shrunk", "other_cell", "enclosed", "region_carve", "small", "rounded")
_OUTLINE = "its cut outline runs through it (margin smaller than the outline simplification)"
_NOT_IN_REGION = "its centre is not inside the region's cut"


@dataclass
class CutAudit:
    """Result of :func:`audit_cuts`.

    Attributes
    ----------
    cells
        One row per planned cell: ``cell_id, sample`` (index), ``status``
        (``cut``/``partial``/``lost``), ``cut_fraction``, ``reason`` (text with
        ``{other}`` left for the caller to fill with a sample id),
        ``reason_kind``, ``reason_other`` (sample index or -1).
    samples
        One row per sample index: ``n_planned, n_cut, n_partial, n_lost,
        cell_area_px2, cut_area_px2, purity, foreign_area_px2,
        n_foreign_entered``.
    cut_ids
        Per sample: the ids of the cells actually cut (sorted).
    """

    cells: pd.DataFrame
    samples: pd.DataFrame
    cut_ids: list[np.ndarray]


def _reasons(polys: np.ndarray, owner: np.ndarray, cutters: np.ndarray, kind: np.ndarray,
             other: np.ndarray, target: np.ndarray, default: str
             ) -> tuple[list[str], list[str], np.ndarray]:
    """The most telling cutter that took area from ``owner``'s cut where each geometry lies."""
    n = len(polys)
    kinds = np.full(n, "", dtype=object)
    others = np.full(n, -1, dtype=np.int64)
    if n and len(cutters):
        g, c = shapely.STRtree(cutters).query(polys, predicate="intersects")
        m = target[c] == owner[g]
        g, c = g[m], c[m]
        rank = {k: r for r, k in enumerate(_PRIORITY)}
        r = np.array([rank.get(k, len(rank)) for k in kind[c]], dtype=np.int64)
        order = np.lexsort((r, g))
        g, c = g[order], c[order]
        first = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        kinds[g[first]] = kind[c[first]]
        others[g[first]] = other[c[first]]
    text = [CUT_REASONS.get(k, default) if k else default for k in kinds]
    return text, [k or "none" for k in kinds], others


def audit_cuts(
    geoms: np.ndarray,
    sample: np.ndarray,
    is_region: np.ndarray,
    n_samples: int,
    cell_ids: np.ndarray,
    cell_sample: np.ndarray,
    cell_polys: np.ndarray,
    cell_area_px2: np.ndarray,
    cutters: np.ndarray,
    cutter_kind: np.ndarray,
    cutter_other: np.ndarray,
    cutter_target: np.ndarray,
    region_planned: dict[int, np.ndarray] | None = None,
    centroids: pd.DataFrame | None = None,
    neighbour_polys: np.ndarray | None = None,
    max_intrusion_px: float = 0.0,
) -> CutAudit:
    """Check the final shapes against the plan, cell by cell.

    Parameters
    ----------
    geoms, sample, is_region
        Final shapes (pixels, x=col, y=row), their sample index, region flag.
    n_samples
        Number of samples in the plan.
    cell_ids, cell_sample, cell_polys, cell_area_px2
        Selected cells of cell samples: id, sample index, outline, pixel count.
    cutters, cutter_kind, cutter_other, cutter_target
        What took area from cuts (:class:`~.shapes.ShapeResult`).
    region_planned
        Region sample index -> ids of the cells it was planned to hold.
    centroids
        ``cell_id, centroid_row, centroid_col`` of all cells (region samples).
    neighbour_polys
        Outlines of unselected cells next to the selection (contamination).
    max_intrusion_px
        An unselected cell counts as entered when the cut reaches deeper than this.
    """
    geoms = np.asarray(geoms, dtype=object)
    sample = np.asarray(sample, dtype=np.int64)
    ids = np.asarray(cell_ids, dtype=np.int64)
    csample = np.asarray(cell_sample, dtype=np.int64)
    n = len(ids)
    frac = np.zeros(n)
    shape_area = shapely.area(geoms) if len(geoms) else np.empty(0)
    tree = shapely.STRtree(geoms)
    if n and len(geoms):
        k, t = tree.query(cell_polys, predicate="intersects")
        m = (sample[t] == csample[k]) & ~is_region[t]
        k, t = k[m], t[m]
        shapely.prepare(geoms)
        full = np.zeros(n, dtype=bool)
        full[k[shapely.covers(geoms[t], cell_polys[k])]] = True
        rest = ~full[k]
        if rest.any():
            kr, tr = k[rest], t[rest]
            unions, first = _union_groups(geoms[tr], kr)
            cells_r = kr[first]
            inter = shapely.area(shapely.intersection(cell_polys[cells_r], unions))
            area = shapely.area(cell_polys[cells_r])
            frac[cells_r] = np.clip(np.divide(inter, area, out=np.zeros_like(inter),
                                              where=area > 0), 0, 1)
        frac[full] = 1.0
        shapely.destroy_prepared(geoms)
    status = np.where(frac >= FULL_CUT, "cut", np.where(frac >= LOST_BELOW, "partial", "lost"))
    reason = np.full(n, "", dtype=object)
    rkind = np.full(n, "", dtype=object)
    rother = np.full(n, -1, dtype=np.int64)
    bad = np.flatnonzero(status != "cut")
    if bad.size:
        txt, kinds, others = _reasons(cell_polys[bad], csample[bad], cutters, cutter_kind,
                                      cutter_other, cutter_target, _OUTLINE)
        reason[bad], rkind[bad], rother[bad] = txt, kinds, others
    table = pd.DataFrame({"cell_id": ids, "sample": csample, "status": status,
                          "cut_fraction": frac, "reason": reason, "reason_kind": rkind,
                          "reason_other": rother})
    cut_ids: list[np.ndarray] = [np.empty(0, np.int64) for _ in range(n_samples)]
    own_px2 = np.bincount(csample, weights=frac * np.asarray(cell_area_px2, float),
                          minlength=n_samples)
    for s, grp in table[table["status"] == "cut"].groupby("sample"):
        cut_ids[int(s)] = np.sort(grp["cell_id"].to_numpy())

    # region samples: cells whose centre lies in the region's cut --------------------------------
    rows = [table]
    if region_planned and centroids is not None and len(geoms):
        cid = centroids["cell_id"].to_numpy(dtype=np.int64)
        free = ~np.isin(cid, ids)
        pts = shapely.points(centroids["centroid_col"].to_numpy(float)[free],
                             centroids["centroid_row"].to_numpy(float)[free])
        p, t = tree.query(pts, predicate="intersects")  # a centre on a split line counts
        m = is_region[t]
        in_region = pd.Series(sample[t[m]], index=cid[free][p[m]])
        in_region = in_region[~in_region.index.duplicated()]
        for s, planned in region_planned.items():
            got = np.sort(in_region.index[in_region.to_numpy() == s].to_numpy())
            cut_ids[s] = got
            planned = np.asarray(planned, dtype=np.int64)
            planned = planned[~np.isin(planned, ids)]
            miss = planned[~np.isin(planned, got)]
            ok = planned[np.isin(planned, got)]
            if miss.size:
                cen = centroids.set_index("cell_id").reindex(miss)
                mp = shapely.points(cen["centroid_col"].to_numpy(float),
                                    cen["centroid_row"].to_numpy(float))
                txt, kinds, others = _reasons(mp, np.full(len(mp), s), cutters, cutter_kind,
                                              cutter_other, cutter_target, _NOT_IN_REGION)
            else:
                txt, kinds, others = [], [], np.empty(0, np.int64)
            rows.append(pd.DataFrame({
                "cell_id": np.r_[ok, miss], "sample": s,
                "status": ["cut"] * len(ok) + ["lost"] * len(miss),
                "cut_fraction": np.r_[np.ones(len(ok)), np.zeros(len(miss))],
                "reason": [""] * len(ok) + list(txt), "reason_kind": [""] * len(ok) + kinds,
                "reason_other": np.r_[np.full(len(ok), -1), others].astype(np.int64)}))
    cells = pd.concat(rows, ignore_index=True) if len(rows) > 1 else table

    # per sample ---------------------------------------------------------------------------------
    cut_px2 = np.bincount(sample, weights=shape_area, minlength=n_samples)[:n_samples]
    region_s = np.zeros(n_samples, dtype=bool)
    region_s[sample[is_region]] = True
    if region_planned:
        region_s[list(region_planned)] = True
    counts = pd.crosstab(cells["sample"], cells["status"]).reindex(
        index=range(n_samples), columns=["cut", "partial", "lost"], fill_value=0)
    foreign = np.zeros(n_samples)
    entered = np.zeros(n_samples, dtype=np.int64)
    nbp = np.asarray(neighbour_polys if neighbour_polys is not None else [], dtype=object)
    if len(nbp) and len(geoms):
        a, t = tree.query(nbp, predicate="intersects")
        m = ~is_region[t]
        a, t = a[m], t[m]
        foreign = np.bincount(sample[t], weights=shapely.area(shapely.intersection(
            nbp[a], geoms[t])), minlength=n_samples)[:n_samples]
        core = shapely.buffer(nbp[a], -max_intrusion_px, join_style="mitre")
        deep = ~shapely.is_empty(core)
        deep[deep] = shapely.area(shapely.intersection(core[deep], geoms[t[deep]])) > 1e-6
        pairs = np.unique(np.c_[sample[t[deep]], a[deep]], axis=0)
        entered = np.bincount(pairs[:, 0], minlength=n_samples)[:n_samples] if len(pairs) else (
            entered)
    with np.errstate(invalid="ignore", divide="ignore"):
        purity = np.where(region_s | (cut_px2 <= 0), np.nan, own_px2 / cut_px2)
    n_cut = np.array([len(c) for c in cut_ids])
    samples = pd.DataFrame({
        "n_planned": counts.sum(axis=1).to_numpy(), "n_cut": n_cut,
        "n_partial": counts["partial"].to_numpy(), "n_lost": counts["lost"].to_numpy(),
        "cell_area_px2": np.where(region_s, cut_px2, own_px2), "cut_area_px2": cut_px2,
        "purity": purity, "foreign_area_px2": foreign, "n_foreign_entered": entered,
    })
    return CutAudit(cells, samples, cut_ids)


def loss_summary(audit: CutAudit, sample_ids: Sequence[str]) -> pd.DataFrame:
    """Cells not fully cut, one row each: ``sample_id, cell_id, status, cut_percent, reason``."""
    c = audit.cells[audit.cells["status"] != "cut"]
    sid = np.asarray(sample_ids, dtype=object)
    other = c["reason_other"].to_numpy()
    reason = [r.format(other=sid[o] if o >= 0 else "?") for r, o in zip(
        c["reason"], other, strict=True)]
    return pd.DataFrame({"sample_id": sid[c["sample"].to_numpy(dtype=int)] if len(c) else [],
                         "cell_id": c["cell_id"].to_numpy(dtype=np.int64),
                         "status": c["status"].to_numpy(),
                         "cut_percent": np.round(100 * c["cut_fraction"].to_numpy(float), 1),
                         "reason": reason})
