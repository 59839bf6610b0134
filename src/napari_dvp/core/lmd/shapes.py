"""Cut shapes from cells: contours -> dilation -> merge -> simplify -> protection -> clean.

Everything here is in full-resolution pixel coordinates with **x = column,
y = row**, pixel centres at integer coordinates (so pixel ``(r, c)`` covers
``[c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]``). Distances given in µm are divided
by the pixel size.

Pipeline (:func:`build_shapes`)
-------------------------------
1. **Contours** of each selected cell from its bounding box only
   (:mod:`.contours`). The outline is the contour line buffered by half a
   pixel (pixel edges), so one-pixel-wide cells stay valid.
2. **Dilation** by ``dilate_um`` (the margin the laser cuts around the cell).
3. **Merge** (optional) of overlapping/touching dilated shapes **of the same
   sample**, smoothing by a closing of ``smooth_um`` and hole filling (the laser
   cuts outlines only).
4. **Simplification** to ``simplify_um`` (Douglas-Peucker; invalid results repaired).
5. **Protection.** A shape never takes another sample's cell: the cells of
   other samples that a shape touches are cut out of it, plus half of ``gap_um``
   (each side gives half, so two samples' cuts end ``gap_um`` apart). Then
   the **contamination limit**: the margin may enter an unselected neighbouring
   cell by at most ``max_intrusion_um`` (the cell's core, shrunk by that much, is
   cut out). An unselected cell whose centre falls inside a shape is cut out
   whole (without a limit, ``None``: plus ``gap_um``, which trims the selected
   cells around it). Where two samples' shapes still overlap, the overlap is removed from
   **both** (rule ``"shrink"``) or the later sample's shape is dropped (``"drop"``).
6. **Regions** (drawn polygons, cut as given): the cut shapes of cell samples
   inside them, and any other selected cell, are cut out of them with the same
   ``gap_um`` (a cell sample inside a region sample keeps its own well; the
   region gets the hole). Overlapping region samples follow the conflict rule.
7. Shapes with holes are split along horizontal lines through each hole, shapes
   below ``min_area_um2`` are removed, all shapes are clipped to the image.

Everything that takes area away from a cell's cut is recorded (``cutters``
with a kind and the other sample), so :mod:`.audit` can say why a cell was not
fully cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import DvpInputError
from .contours import (
    cell_outlines,
    contour_lines,
    fill_holes,
    label_centroids,
    neighbour_ids,
    outlines,
    pixel_outlines,
    touching_other,
)

__all__ = [
    "CUT_REASONS",
    "ShapeOptions",
    "ShapeResult",
    "build_shapes",
    "cell_outlines",
    "contour_lines",
    "fill_holes",
    "label_centroids",
    "outlines",
    "split_holes",
]

#: Why part of a cell's cut went missing (kind -> sentence; ``{other}`` = the other sample).
CUT_REASONS = {
    "dropped": "its shape was dropped because it overlapped the cut of sample {other} "
               "(rule drop)",
    "shrunk": "the overlap with the cut of sample {other} was removed from both (rule shrink)",
    "other_cell": "it touches a cell of sample {other}, which is kept out with the "
                  "protective gap",
    "enclosed": "it touches an unselected cell that its cut enclosed (cut out with the gap)",
    "region_carve": "the cut of sample {other} lies here (cut out of the region with the gap)",
    "small": "its piece was smaller than the minimum area",
    "rounded": "its piece collapsed when rounded to 0.01 µm",
}
_EMPTY = np.empty(0, dtype=object)


@dataclass
class ShapeOptions:
    """Shape processing settings (lengths in µm, areas in µm²).

    ``max_intrusion_um``: how far the margin may enter an unselected
    neighbouring cell (None: no limit).
    """

    dilate_um: float = 1.0
    smooth_um: float = 0.5
    simplify_um: float = 0.3
    min_area_um2: float = 5.0
    merge: bool = True
    conflict: str = "shrink"  #: "shrink" or "drop"
    gap_um: float = 0.25  #: distance between the cuts of two samples where their cells touch
    quad_segs: int = 3
    max_intrusion_um: float | None = 0.5

    def validate(self) -> None:
        """Refuse unknown rules and NaN, infinite or negative lengths."""
        if self.conflict not in ("shrink", "drop"):
            raise DvpInputError(f"unknown conflict rule {self.conflict!r}; use 'shrink' or 'drop'")
        for name in ("dilate_um", "smooth_um", "simplify_um", "min_area_um2", "gap_um",
                     "max_intrusion_um"):
            v = getattr(self, name)
            if v is None and name == "max_intrusion_um":
                continue
            if not isinstance(v, (int, float, np.number)) or not math.isfinite(v) or v < 0:
                raise DvpInputError(f"{name} is {v!r}; give a length of 0 or more (µm)")


@dataclass
class ShapeResult:
    """Output of :func:`build_shapes`."""

    geoms: np.ndarray  #: shapely Polygons, pixel coordinates (x=col, y=row)
    sample: np.ndarray  #: index into the sample list, one per shape
    conflicts: pd.DataFrame  #: sample_a, sample_b (indices), n_pairs
    lost_cells: np.ndarray  #: selected cell ids whose centre is in no shape of their sample
    n_removed_small: int = 0
    notes: list[str] = field(default_factory=list)
    is_region: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    #: outline (pixel edges) of every selected cell, aligned with ``cell_ids``
    cell_polys: np.ndarray = field(default_factory=lambda: _EMPTY)
    #: what took area away from cuts: geometry, kind (:data:`CUT_REASONS`), other sample
    cutters: np.ndarray = field(default_factory=lambda: _EMPTY)
    cutter_kind: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    cutter_other: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    cutter_target: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    #: unselected cells next to the selection (ids and outlines), for contamination figures
    neighbour_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    neighbour_polys: np.ndarray = field(default_factory=lambda: _EMPTY)


class _Cutters:
    """Collects every geometry that takes area from a cut, with its kind and other sample."""

    def __init__(self) -> None:
        self.geoms: list[np.ndarray] = []
        self.kind: list[np.ndarray] = []
        self.other: list[np.ndarray] = []
        self.target: list[np.ndarray] = []

    def add(self, geoms: np.ndarray, kind: str, other, target) -> None:
        """``geoms`` took area from shapes of sample ``target`` because of sample ``other``."""
        geoms = np.asarray(geoms, dtype=object).ravel()
        if len(geoms) == 0:
            return
        n = len(geoms)
        self.geoms.append(geoms)
        self.kind.append(np.full(n, kind, dtype=object))
        self.other.append(np.broadcast_to(np.asarray(other, dtype=np.int64), (n,)).copy())
        self.target.append(np.broadcast_to(np.asarray(target, dtype=np.int64), (n,)).copy())

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.geoms:
            return (_EMPTY, np.empty(0, dtype=object), np.empty(0, dtype=np.int64),
                    np.empty(0, dtype=np.int64))
        return (np.concatenate(self.geoms), np.concatenate(self.kind),
                np.concatenate(self.other), np.concatenate(self.target))


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=np.int64)
    g = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    return connected_components(g, directed=False)[1]


def _union_groups(geoms: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union geometries sharing a group label; returns (geoms, first index of each group)."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, len(g)])
    out = geoms[order[starts]].copy()
    for k in np.flatnonzero(sizes > 1):
        out[k] = shapely.union_all(geoms[order[starts[k]:starts[k] + sizes[k]]])
    return out, order[starts]


def _explode(geoms: np.ndarray, *keys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Valid, non-empty Polygons of ``geoms`` and, per part, the matching ``keys`` entries."""
    geoms = shapely.make_valid(geoms) if not shapely.is_valid(geoms).all() else geoms
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return (parts[keep], *(np.asarray(k)[idx[keep]] for k in keys))


def _subtract_grouped(geoms: np.ndarray, target: np.ndarray, cutters: np.ndarray) -> np.ndarray:
    """``geoms[t] - union(cutters for t)`` for every target index ``t``."""
    if len(target) == 0:
        return geoms
    out = geoms.copy()
    cut_union, first = _union_groups(cutters, target)
    tgt = target[first]
    out[tgt] = shapely.difference(geoms[tgt], cut_union)
    return out


def _overlap_pairs(geoms: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), i != j, of intersecting shapes of different samples."""
    if len(geoms) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    si, sj = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    m = (sample[si] != sample[sj]) & (si != sj)
    return si[m], sj[m]


def _conflict_table(geoms: np.ndarray, sample: np.ndarray) -> pd.DataFrame:
    si, sj = _overlap_pairs(geoms, sample)
    keep = si < sj
    if not keep.any():
        return pd.DataFrame(columns=["sample_a", "sample_b", "n_pairs"])
    a = np.minimum(sample[si[keep]], sample[sj[keep]])
    b = np.maximum(sample[si[keep]], sample[sj[keep]])
    return (pd.DataFrame({"sample_a": a, "sample_b": b}).value_counts()
            .rename("n_pairs").reset_index())


def _resolve_overlaps(geoms: np.ndarray, sample: np.ndarray, rule: str, cut: _Cutters,
                      notes: list[str], what: str) -> tuple[np.ndarray, np.ndarray]:
    """Remove what two samples' shapes still share (``shrink``) or drop the later one."""
    si, sj = _overlap_pairs(geoms, sample)
    if len(si) == 0:
        return geoms, sample
    if rule == "drop":
        later = np.maximum(sample[si], sample[sj])
        loser = np.where(sample[si] == later, si, sj)
        winner = np.where(sample[si] == later, sj, si)
        first, pos = np.unique(loser, return_index=True)
        cut.add(geoms[first], "dropped", sample[winner[pos]], sample[first])
        keep = np.ones(len(geoms), dtype=bool)
        keep[first] = False
        notes.append(f"{len(first)} {what} shape(s) dropped: they overlapped an earlier "
                     "sample's shape")
        return geoms[keep], sample[keep]
    cut.add(geoms[sj], "shrunk", sample[sj], sample[si])
    return _subtract_grouped(geoms, si, geoms[sj]), sample


def _clip(geoms: np.ndarray, frame, w: int, h: int) -> np.ndarray:
    if len(geoms) == 0:
        return geoms
    b = shapely.bounds(geoms)
    off = (b[:, 0] < -0.5) | (b[:, 1] < -0.5) | (b[:, 2] > w - 0.5) | (b[:, 3] > h - 0.5)
    if off.any():
        geoms = geoms.copy()
        geoms[off] = shapely.intersection(geoms[off], frame)
    return geoms


def split_holes(geoms: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split polygons with holes along a horizontal line through each hole.

    The LMD cuts outlines only; a hole would otherwise be cut out with the shape.
    ``sample`` is carried along (any per-shape key works, e.g. the shape index).
    """
    from shapely.ops import split

    n_holes = shapely.get_num_interior_rings(geoms)
    todo = np.flatnonzero(n_holes > 0)
    if todo.size == 0:
        return geoms, sample
    out_g = [geoms[n_holes == 0]]
    out_s = [sample[n_holes == 0]]
    for k in todo:
        poly = geoms[k]
        pieces = [poly]
        for _ in range(8):  # a few passes: a cut may leave holes that another hole's line misses
            nxt = []
            for p in pieces:
                if len(p.interiors) == 0:
                    nxt.append(p)
                    continue
                x0, _, x1, _ = p.bounds
                ys = [shapely.Polygon(h).representative_point().y for h in p.interiors]
                cutter = shapely.MultiLineString([[(x0 - 1, y), (x1 + 1, y)] for y in ys])
                nxt.extend(g for g in split(p, cutter).geoms if g.geom_type == "Polygon")
            pieces = nxt
            if all(len(p.interiors) == 0 for p in pieces):
                break
        pieces = [shapely.Polygon(p.exterior) for p in pieces]
        out_g.append(np.asarray(pieces, dtype=object))
        out_s.append(np.full(len(pieces), sample[k]))
    return np.concatenate(out_g), np.concatenate(out_s)


def _per_cell(polys: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """One geometry per cell (index 0..n-1) from per-contour pieces."""
    out = np.full(n, shapely.Polygon(), dtype=object)
    if len(polys):
        merged, first = _union_groups(polys, owner)
        out[owner[first]] = merged
    return out


# ---------------------------------------------------------------------------------------
# pipeline
# ---------------------------------------------------------------------------------------
def build_shapes(
    labels: np.ndarray,
    cell_ids: np.ndarray,
    cell_sample: np.ndarray,
    pixel_size_um: float,
    options: ShapeOptions | None = None,
    region_geoms: np.ndarray | None = None,
    region_sample: np.ndarray | None = None,
    centroids: pd.DataFrame | None = None,
) -> ShapeResult:
    """Turn selected cells (and region pieces) into cut shapes, one sample each.

    Parameters
    ----------
    labels
        ``(Y, X)`` labels (numpy).
    cell_ids, cell_sample
        Selected cell ids and the sample index (0…S-1) of each.
    pixel_size_um
        µm per pixel.
    options
        :class:`ShapeOptions`.
    region_geoms, region_sample
        Region pieces (Polygons, pixel x=col, y=row) cut as given, and their sample index.
    centroids
        Optional table ``cell_id, centroid_row, centroid_col`` of **all** cells
        (used to keep unselected cells out and to check coverage); computed
        from ``labels`` when absent.

    Returns
    -------
    ShapeResult
    """
    opt = options or ShapeOptions()
    opt.validate()
    px = float(pixel_size_um)
    h, w = labels.shape
    frame = shapely.box(-0.5, -0.5, w - 0.5, h - 0.5)
    ids = np.asarray(cell_ids, dtype=np.int64)
    csample = np.asarray(cell_sample, dtype=np.int64)
    notes: list[str] = []
    cut = _Cutters()
    cen = centroids if centroids is not None else label_centroids(labels)
    gap = opt.gap_um / px
    d = opt.dilate_um / px

    # 1-2 contours, the cells themselves, dilation -------------------------------------------
    slices = ndi.find_objects(labels, max_label=int(ids.max())) if ids.size else []
    lines, owner = contour_lines(labels, ids, slices) if ids.size else (
        np.empty(0, dtype=object), np.empty(0, dtype=np.int64))
    line_sample = csample[owner]
    own = outlines(lines, 0.5, opt.quad_segs, mitre=True)  # pixel edges of each contour
    cell_polys = _per_cell(own, owner, len(ids))
    dil = outlines(lines, 0.5 + d, opt.quad_segs, mitre=d <= 0) if d > 0 else own
    if len(dil):
        i, j = shapely.STRtree(dil).query(dil, predicate="intersects")
    else:
        i = j = np.empty(0, dtype=np.int64)
    near_other = np.unique(i[line_sample[i] != line_sample[j]])
    # cells next to another sample's are cut out of its shapes; where they touch, by their
    # exact pixel edges (the traced outline cuts diagonal corners into the neighbour)
    near_cells = np.unique(owner[near_other])
    cells = cell_polys[near_cells].copy()
    touch = touching_other(labels, ids[near_cells], csample[near_cells])
    if touch.any():
        cells[touch] = pixel_outlines(labels, ids[near_cells[touch]], slices)
    cells_sample = csample[near_cells]

    # 3 merge within samples, smoothing --------------------------------------------------------
    if opt.merge and len(dil):
        same = (line_sample[i] == line_sample[j]) & (i < j)
        comp = _components(len(dil), i[same], j[same])
    else:
        comp = np.arange(len(dil))
    shapes, first = _union_groups(dil, comp) if len(dil) else (dil, np.empty(0, np.int64))
    sample = line_sample[first]
    if opt.smooth_um > 0 and len(shapes):
        multi = np.flatnonzero(np.bincount(comp)[comp[first]] > 1)
        r = opt.smooth_um / px
        shapes[multi] = shapely.buffer(shapely.buffer(shapes[multi], r, quad_segs=opt.quad_segs),
                                       -r, quad_segs=opt.quad_segs)
    shapes, sample = _explode(shapes, sample)
    shapes = fill_holes(shapes)

    # 4 simplify -------------------------------------------------------------------------------
    if opt.simplify_um > 0 and len(shapes):
        shapes = shapely.simplify(shapes, opt.simplify_um / px, preserve_topology=False)
        shapes, sample = _explode(shapes, sample)
    shapes = _clip(shapes, frame, w, h)
    conflicts = _conflict_table(shapes, sample)

    # 5 protection of other samples' and unselected cells, contamination limit ----------------
    nb_ids = np.empty(0, dtype=np.int64)
    nb_polys = _EMPTY
    if len(shapes):
        cut_t: list[np.ndarray] = []
        cut_g: list[np.ndarray] = []
        if len(cells):
            t, c = shapely.STRtree(cells).query(shapes, predicate="intersects")
            keep = sample[t] != cells_sample[c]
            if keep.any():
                # half the gap on each side: the two samples' cuts end gap_um apart
                g = shapely.buffer(cells[c[keep]], gap / 2, quad_segs=1, join_style="mitre")
                cut_t.append(t[keep])
                cut_g.append(g)
                cut.add(g, "other_cell", cells_sample[c[keep]], sample[t[keep]])
        foreign = ~np.isin(cen["cell_id"].to_numpy(), ids)
        fid = cen["cell_id"].to_numpy()[foreign]
        if fid.size:
            pts = shapely.points(cen["centroid_col"].to_numpy()[foreign],
                                 cen["centroid_row"].to_numpy()[foreign])
            p, _t = shapely.STRtree(shapes).query(pts, predicate="within")
            if p.size:
                hit = np.unique(fid[p])
                fpoly, _fown = cell_outlines(labels, hit)
                if opt.max_intrusion_um is None:  # with a limit: the cell itself, no gap
                    fpoly = shapely.buffer(fpoly, gap, quad_segs=1, join_style="mitre")
                ft, fc = shapely.STRtree(fpoly).query(shapes, predicate="intersects")
                cut_t.append(ft)
                cut_g.append(fpoly[fc])
                cut.add(fpoly[fc], "enclosed", -1, sample[ft])
                notes.append(f"{hit.size} unselected cell(s) cut out of shapes that enclosed them")
        if cut_t:
            shapes = _subtract_grouped(shapes, np.concatenate(cut_t), np.concatenate(cut_g))
        # unselected neighbours: the margin may enter them by at most max_intrusion_um
        nb_ids = neighbour_ids(labels, ids, d + opt.smooth_um / px + 1.0)
        if nb_ids.size:
            npoly, nown = cell_outlines(labels, nb_ids)
            nb_polys = _per_cell(npoly, nown, len(nb_ids))
            if opt.max_intrusion_um is not None:
                core = shapely.buffer(npoly, -opt.max_intrusion_um / px, quad_segs=opt.quad_segs,
                                      join_style="mitre")
                core = core[~shapely.is_empty(core)]
                if len(core):
                    t, c = shapely.STRtree(core).query(shapes, predicate="intersects")
                    if len(t):
                        shapes = _subtract_grouped(shapes, t, core[c])
                        notes.append(
                            f"margin kept to {opt.max_intrusion_um:g} µm inside "
                            f"{len(np.unique(c))} unselected neighbouring cell part(s)")
        shapes, sample = _explode(shapes, sample)
        shapes, sample = _resolve_overlaps(shapes, sample, opt.conflict, cut, notes, "cell")
        shapes, sample = _explode(shapes, sample)

    # 6 regions: cut as drawn, around the cell samples inside them ------------------------------
    is_region = np.zeros(len(shapes), dtype=bool)
    if region_geoms is not None and len(region_geoms):
        rg, rs = _explode(np.asarray(region_geoms, dtype=object),
                          np.asarray(region_sample, dtype=np.int64))
        rg = _clip(rg, frame, w, h)
        rg, rs = _explode(rg, rs)
        rconf = _conflict_table(rg, rs)
        if len(rconf):
            conflicts = pd.concat([conflicts, rconf], ignore_index=True)
        # the cut shapes of cell samples, and every selected cell, are kept out of regions
        keepout = np.concatenate([shapes, cell_polys[~shapely.is_empty(cell_polys)]])
        keep_s = np.concatenate([sample, csample[~shapely.is_empty(cell_polys)]])
        if len(keepout) and len(rg):
            t, c = shapely.STRtree(keepout).query(rg, predicate="intersects")
            m = rs[t] != keep_s[c]
            if m.any():
                g = shapely.buffer(keepout[c[m]], gap, quad_segs=1, join_style="mitre")
                cut.add(g, "region_carve", keep_s[c[m]], rs[t[m]])
                rg = _subtract_grouped(rg, t[m], g)
                notes.append(f"{len(np.unique(t[m]))} region piece(s) cut around the cells of "
                             "other samples inside them")
        rg, rs = _explode(rg, rs)
        rg, rs = _resolve_overlaps(rg, rs, opt.conflict, cut, notes, "region")
        rg, rs = _explode(rg, rs)
        shapes = np.concatenate([shapes, rg])
        sample = np.concatenate([sample, rs])
        is_region = np.r_[is_region, np.ones(len(rg), dtype=bool)]

    # 7 holes, small pieces ----------------------------------------------------------------------
    n_small = 0
    if len(shapes):
        shapes, src = split_holes(shapes, np.arange(len(shapes)))
        sample, is_region = sample[src], is_region[src]
        shapes = shapely.polygons(shapely.get_exterior_ring(shapes))
        small = shapely.area(shapes) * px * px < opt.min_area_um2
        n_small = int(small.sum())
        cut.add(shapes[small], "small", -1, sample[small])
        shapes, sample, is_region = shapes[~small], sample[~small], is_region[~small]

    # coverage check (centres) -----------------------------------------------------------------
    lost = np.empty(0, dtype=np.int64)
    if ids.size:
        sel = cen.set_index("cell_id").reindex(ids)
        pts = shapely.points(sel["centroid_col"].to_numpy(), sel["centroid_row"].to_numpy())
        p, t = shapely.STRtree(shapes).query(pts, predicate="within")
        good = sample[t] == csample[p]
        covered = np.zeros(len(ids), dtype=bool)
        covered[p[good]] = True
        lost = ids[~covered]
        wrong = p[~good]
        if wrong.size:  # pragma: no cover - protection above makes this impossible
            raise RuntimeError(f"cell {ids[wrong[0]]} lies in a shape of another sample")
    cg, ck, co, ct = cut.arrays()
    return ShapeResult(np.asarray(shapes, dtype=object), np.asarray(sample, dtype=np.int64),
                       conflicts, lost, n_small, notes, is_region=is_region,
                       cell_polys=cell_polys, cutters=cg, cutter_kind=ck, cutter_other=co,
                       cutter_target=ct,
                       neighbour_ids=nb_ids, neighbour_polys=nb_polys)
