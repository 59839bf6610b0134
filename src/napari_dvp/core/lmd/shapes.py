"""Cut shapes from cells: contours -> dilation -> smoothing -> merge -> simplify -> clean.

Everything here is in full-resolution pixel coordinates with **x = column,
y = row**, pixel centres at integer coordinates (so pixel ``(r, c)`` covers
``[c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]``). Distances given in µm are divided
by the pixel size.

Pipeline (:func:`build_shapes`)
-------------------------------
1. **Contours** of each selected cell from its bounding box only
   (``scipy.ndimage.find_objects`` + OpenCV ``findContours`` on the small crop).
   The outline is the contour line buffered by half a pixel (pixel edges), so
   one-pixel-wide cells and self-touching outlines stay valid.
2. **Dilation** by ``dilate_um`` (the safety margin the laser cuts around the
   cell), vectorised ``shapely.buffer``.
3. **Merge** (optional) of overlapping/touching dilated shapes **of the same
   sample** (STRtree pairs -> connected components -> ``union_all``), then
   **smoothing** by a morphological closing (``buffer(+r).buffer(-r)``) and
   hole filling (the laser cuts outlines only).
4. **Simplification** to ``simplify_um`` (Douglas-Peucker; invalid results repaired).
5. **Protection.** A shape never takes another sample's cell: the cells of
   other samples that a shape touches are cut out of it (plus ``gap_um``).
   Unselected cells whose centre falls inside a shape are cut out the same
   way. Where two samples' shapes still overlap (background between them),
   the overlap is removed from **both** (rule ``"shrink"``), or the later
   sample's overlapping shape is dropped (rule ``"drop"``). Every conflict is
   reported. So one cell is never cut into two wells.
6. Shapes with holes (the LMD cuts outlines only) are split along horizontal
   lines through each hole, shapes below ``min_area_um2`` are removed, and all
   shapes are clipped to the image.

Region samples (drawn polygons) enter at step 4 as given (no dilation) and take
part in steps 5-6, except that unselected cells inside a region are wanted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import DvpInputError


@dataclass
class ShapeOptions:
    """Shape processing settings (lengths in µm, areas in µm²)."""

    dilate_um: float = 1.0
    smooth_um: float = 0.5
    simplify_um: float = 0.3
    min_area_um2: float = 5.0
    merge: bool = True
    conflict: str = "shrink"  #: "shrink" or "drop"
    gap_um: float = 0.25
    quad_segs: int = 3


@dataclass
class ShapeResult:
    """Output of :func:`build_shapes`."""

    geoms: np.ndarray  #: shapely Polygons, pixel coordinates (x=col, y=row)
    sample: np.ndarray  #: index into the sample list, one per shape
    conflicts: pd.DataFrame  #: sample_a, sample_b (indices), n_pairs
    lost_cells: np.ndarray  #: selected cell ids whose centre is in no shape of their sample
    n_removed_small: int = 0
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# contours
# ---------------------------------------------------------------------------------------
def contour_lines(labels: np.ndarray, cell_ids: np.ndarray,
                  slices: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Outer contour of each cell as a closed LineString through boundary pixel centres.

    Parameters
    ----------
    labels
        ``(Y, X)`` integer labels.
    cell_ids
        Label values to trace; each must be present.
    slices
        Optional result of ``scipy.ndimage.find_objects(labels)``.

    Returns
    -------
    lines, owner
        LineStrings (x=col, y=row) and, per line, the index into ``cell_ids``
        (a cell in several pieces gives several lines).
    """
    import cv2

    ids = np.asarray(cell_ids, dtype=np.int64)
    if slices is None:
        slices = ndi.find_objects(labels, max_label=int(ids.max()) if ids.size else 0)
    coords: list[np.ndarray] = []
    owner: list[int] = []
    origin: list[tuple[int, int]] = []
    find = cv2.findContours
    for k, cid in enumerate(ids.tolist()):
        sl = slices[cid - 1] if 0 < cid <= len(slices) else None
        if sl is None:
            raise DvpInputError(f"cell {cid} is not in the labels image; check the selection")
        r0, c0 = max(sl[0].start - 1, 0), max(sl[1].start - 1, 0)
        crop = (labels[r0:sl[0].stop + 1, c0:sl[1].stop + 1] == cid).view(np.uint8)
        for cnt in find(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]:
            coords.append(cnt.reshape(-1, 2))
            owner.append(k)
            origin.append((c0, r0))
    if not coords:
        return np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
    counts = np.fromiter((len(c) for c in coords), dtype=np.int64, count=len(coords))
    pts = np.concatenate(coords).astype(np.float64) + np.repeat(np.asarray(origin, float),
                                                                 counts, axis=0)
    ring_id = np.repeat(np.arange(len(coords)), counts)
    lines = np.empty(len(coords), dtype=object)
    big = counts >= 3
    if big.any():  # rings: closed automatically
        keep = big[ring_id]
        lines[big] = shapely.linearrings(pts[keep], indices=np.cumsum(big)[ring_id[keep]] - 1)
    small = np.flatnonzero(~big)
    if small.size:  # one- or two-pixel-wide outlines: a (possibly zero-length) segment
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        a = pts[starts[small]]
        b = pts[starts[small] + counts[small] - 1] + 1e-6
        lines[small] = shapely.linestrings(np.stack([a, b], 1))
    return lines, np.asarray(owner, dtype=np.int64)


def outlines(lines: np.ndarray, distance: float, quad_segs: int = 3,
             mitre: bool = False) -> np.ndarray:
    """Filled polygons: contour lines buffered by ``distance`` pixels, holes filled."""
    buf = shapely.buffer(lines, distance, quad_segs=quad_segs,
                         join_style="mitre" if mitre else "round",
                         cap_style="square" if mitre else "round")
    return fill_holes(buf)


def fill_holes(geoms: np.ndarray) -> np.ndarray:
    """Replace every Polygon by its exterior (MultiPolygons: each part filled)."""
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    tid = shapely.get_type_id(geoms)
    poly = tid == 3
    if poly.any():
        out[poly] = shapely.polygons(shapely.get_exterior_ring(geoms[poly]))
    multi = np.flatnonzero(tid == 6)
    if multi.size:
        parts, idx = shapely.get_parts(geoms[multi], return_index=True)
        filled = shapely.polygons(shapely.get_exterior_ring(parts))
        for m, grp in zip(multi, np.split(filled, np.flatnonzero(np.diff(idx)) + 1), strict=False):
            out[m] = shapely.union_all(grp)
    return out


def cell_outlines(labels: np.ndarray, cell_ids: np.ndarray, margin_px: float = 0.0,
                  quad_segs: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Polygons of cells (pixel edges), optionally dilated by ``margin_px``.

    Returns ``(polygons, owner)`` as :func:`contour_lines`.
    """
    lines, owner = contour_lines(labels, cell_ids)
    return outlines(lines, 0.5 + margin_px, quad_segs, mitre=margin_px <= 0), owner


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


def _explode(geoms: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    geoms = shapely.make_valid(geoms) if not shapely.is_valid(geoms).all() else geoms
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return parts[keep], sample[idx[keep]]


def _subtract_grouped(geoms: np.ndarray, target: np.ndarray, cutters: np.ndarray) -> np.ndarray:
    """``geoms[t] - union(cutters for t)`` for every target index ``t``."""
    if len(target) == 0:
        return geoms
    out = geoms.copy()
    cut_union, first = _union_groups(cutters, target)
    tgt = target[first]
    out[tgt] = shapely.difference(geoms[tgt], cut_union)
    return out


def split_holes(geoms: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split polygons with holes along a horizontal line through each hole.

    The LMD cuts outlines only; a hole would otherwise be cut out with the shape.
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
    if opt.conflict not in ("shrink", "drop"):
        raise DvpInputError(f"unknown conflict rule {opt.conflict!r}; use 'shrink' or 'drop'")
    px = float(pixel_size_um)
    h, w = labels.shape
    ids = np.asarray(cell_ids, dtype=np.int64)
    csample = np.asarray(cell_sample, dtype=np.int64)
    notes: list[str] = []

    # 1-2 contours and dilation ------------------------------------------------------------
    slices = ndi.find_objects(labels, max_label=int(ids.max())) if ids.size else []
    lines, owner = contour_lines(labels, ids, slices) if ids.size else (
        np.empty(0, dtype=object), np.empty(0, dtype=np.int64))
    line_sample = csample[owner]
    dil = outlines(lines, 0.5 + max(opt.dilate_um, 0.0) / px, opt.quad_segs,
                   mitre=opt.dilate_um <= 0)
    # cells near another sample's cells: only these need their own outline (protection)
    if len(dil):
        i, j = shapely.STRtree(dil).query(dil, predicate="intersects")
    else:
        i = j = np.empty(0, dtype=np.int64)
    near_other = np.unique(i[line_sample[i] != line_sample[j]])
    cells = outlines(lines[near_other], 0.5, opt.quad_segs, mitre=True)
    cells_sample = line_sample[near_other]

    # 3 merge within samples ------------------------------------------------------------------
    if opt.merge and len(dil):
        same = (line_sample[i] == line_sample[j]) & (i < j)
        comp = _components(len(dil), i[same], j[same])
    else:
        comp = np.arange(len(dil))
    shapes, first = _union_groups(dil, comp) if len(dil) else (dil, np.empty(0, np.int64))
    sample = line_sample[first]
    if opt.smooth_um > 0 and len(shapes):
        # closing (buffer out, then in): joins the cells of a merged shape into one smooth cut;
        # single cells are already smooth outlines
        multi = np.flatnonzero(np.bincount(comp)[comp[first]] > 1)
        r = opt.smooth_um / px
        shapes[multi] = shapely.buffer(shapely.buffer(shapes[multi], r, quad_segs=opt.quad_segs),
                                       -r, quad_segs=opt.quad_segs)
    shapes, sample = _explode(shapes, sample)
    shapes = fill_holes(shapes)

    # 4 simplify ------------------------------------------------------------------------------
    if opt.simplify_um > 0 and len(shapes):
        # Douglas-Peucker without topology bookkeeping (fast); the rare shape it breaks is
        # repaired by make_valid in _explode below
        shapes = shapely.simplify(shapes, opt.simplify_um / px, preserve_topology=False)
        shapes, sample = _explode(shapes, sample)
    is_region = np.zeros(len(shapes), dtype=bool)
    if region_geoms is not None and len(region_geoms):
        rg, rs = _explode(np.asarray(region_geoms, dtype=object),
                          np.asarray(region_sample, dtype=np.int64))
        shapes = np.concatenate([shapes, rg])
        sample = np.concatenate([sample, rs])
        is_region = np.r_[is_region, np.ones(len(rg), dtype=bool)]

    frame = shapely.box(-0.5, -0.5, w - 0.5, h - 0.5)
    if len(shapes):
        b = shapely.bounds(shapes)
        off = (b[:, 0] < -0.5) | (b[:, 1] < -0.5) | (b[:, 2] > w - 0.5) | (b[:, 3] > h - 0.5)
        if off.any():
            shapes[off] = shapely.intersection(shapes[off], frame)

    # 5 protection ----------------------------------------------------------------------------
    gap = opt.gap_um / px
    conflicts = pd.DataFrame(columns=["sample_a", "sample_b", "n_pairs"])
    if len(shapes):
        stree = shapely.STRtree(shapes)
        si, sj = stree.query(shapes, predicate="intersects")
        m = (sample[si] != sample[sj]) & (si < sj)
        if m.any():
            a = np.minimum(sample[si[m]], sample[sj[m]])
            b = np.maximum(sample[si[m]], sample[sj[m]])
            conflicts = (pd.DataFrame({"sample_a": a, "sample_b": b}).value_counts()
                         .rename("n_pairs").reset_index())
        cut_t: list[np.ndarray] = []
        cut_g: list[np.ndarray] = []
        if len(cells):
            # other samples' cells touched by a shape
            ctree = shapely.STRtree(cells)
            t, c = ctree.query(shapes, predicate="intersects")
            keep = sample[t] != cells_sample[c]
            if keep.any():
                cut_t.append(t[keep])
                cut_g.append(shapely.buffer(cells[c[keep]], gap, quad_segs=1,
                                            join_style="mitre"))
        # unselected cells whose centre lies in a (cell-derived) shape
        cen = centroids if centroids is not None else label_centroids(labels)
        foreign = ~np.isin(cen["cell_id"].to_numpy(), ids)
        fid = cen["cell_id"].to_numpy()[foreign]
        if fid.size:
            pts = shapely.points(cen["centroid_col"].to_numpy()[foreign],
                                 cen["centroid_row"].to_numpy()[foreign])
            p, t = stree.query(pts, predicate="within")
            keep = ~is_region[t]
            if keep.any():
                hit = np.unique(fid[p[keep]])
                fpoly, _fown = cell_outlines(labels, hit)
                fpoly = shapely.buffer(fpoly, gap, quad_segs=1, join_style="mitre")
                ftree = shapely.STRtree(fpoly)
                ft, fc = ftree.query(shapes, predicate="intersects")
                ok = ~is_region[ft]
                cut_t.append(ft[ok])
                cut_g.append(fpoly[fc[ok]])
                notes.append(f"{hit.size} unselected cell(s) cut out of shapes that enclosed them")
        if cut_t:
            shapes = _subtract_grouped(shapes, np.concatenate(cut_t), np.concatenate(cut_g))
        # remaining overlaps between samples
        stree = shapely.STRtree(shapes)
        si, sj = stree.query(shapes, predicate="intersects")
        m = (sample[si] != sample[sj]) & (si != sj)
        if m.any():
            si, sj = si[m], sj[m]
            if opt.conflict == "drop":
                later = np.maximum(sample[si], sample[sj])
                loser = np.where(sample[si] == later, si, sj)
                keep_mask = np.ones(len(shapes), dtype=bool)
                keep_mask[np.unique(loser)] = False
                notes.append(f"{int((~keep_mask).sum())} shape(s) dropped: they overlapped an "
                             "earlier sample's shape")
                shapes, sample = shapes[keep_mask], sample[keep_mask]
            else:
                shapes = _subtract_grouped(shapes, si, shapes[sj])
        shapes, sample = _explode(shapes, sample)

    # 6 holes, small pieces ---------------------------------------------------------------------
    if len(shapes):
        shapes, sample = split_holes(shapes, sample)
        shapes = shapely.polygons(shapely.get_exterior_ring(shapes))
    area_um2 = shapely.area(shapes) * px * px if len(shapes) else np.empty(0)
    small = area_um2 < opt.min_area_um2
    n_small = int(small.sum())
    shapes, sample = shapes[~small], sample[~small]

    # coverage check ----------------------------------------------------------------------------
    lost = np.empty(0, dtype=np.int64)
    if ids.size:
        cen = centroids if centroids is not None else label_centroids(labels)
        sel = cen.set_index("cell_id").reindex(ids)
        pts = shapely.points(sel["centroid_col"].to_numpy(), sel["centroid_row"].to_numpy())
        tree = shapely.STRtree(shapes)
        p, t = tree.query(pts, predicate="within")
        good = sample[t] == csample[p]
        covered = np.zeros(len(ids), dtype=bool)
        covered[p[good]] = True
        lost = ids[~covered]
        wrong = p[~good]
        if wrong.size:  # pragma: no cover - protection above makes this impossible
            raise RuntimeError(f"cell {ids[wrong[0]]} lies in a shape of another sample")
    return ShapeResult(np.asarray(shapes, dtype=object), np.asarray(sample, dtype=np.int64),
                       conflicts, lost, n_small, notes)


def label_centroids(labels: np.ndarray, block_rows: int = 1024) -> pd.DataFrame:
    """Centroid (row, col) and pixel count of every label, by row blocks (bincount)."""
    labels = np.asarray(labels)
    n = int(labels.max()) + 1 if labels.size else 1
    cnt = np.zeros(n)
    sr = np.zeros(n)
    sc = np.zeros(n)
    cols = np.arange(labels.shape[1], dtype=np.float64)
    for r0 in range(0, labels.shape[0], block_rows):
        blk = labels[r0:r0 + block_rows]
        flat = blk.ravel().astype(np.intp, copy=False)
        rr = np.repeat(np.arange(r0, r0 + blk.shape[0], dtype=np.float64), blk.shape[1])
        cc = np.tile(cols, blk.shape[0])
        cnt += np.bincount(flat, minlength=n)
        sr += np.bincount(flat, weights=rr, minlength=n)
        sc += np.bincount(flat, weights=cc, minlength=n)
    ids = np.flatnonzero(cnt)
    ids = ids[ids > 0]
    return pd.DataFrame({"cell_id": ids, "centroid_row": sr[ids] / cnt[ids],
                         "centroid_col": sc[ids] / cnt[ids], "n_pixels": cnt[ids].astype(int)})
