"""Round cut shapes to the output grid (0.01 µm) and keep them valid.

The Leica XML holds integers (µm × 100) and the PALM file µm with two
decimals. Rounding every vertex on its own can make a thin shape
self-intersect; :func:`snap_to_grid` rounds with :func:`shapely.set_precision`
instead, which returns valid geometry (a part that collapses is dropped), in
the frame of the file itself.
"""

from __future__ import annotations

import numpy as np
import shapely


def apply_affine(geoms: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map geometries through a ``(3, 3)`` affine matrix acting on ``(x, y, 1)``."""
    m = np.asarray(matrix, dtype=float)
    lin, off = m[:2, :2].T.copy(), m[:2, 2].copy()
    return shapely.transform(geoms, lambda xy: xy @ lin + off)


def snap_to_grid(geoms: np.ndarray, to_grid: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Round shapes to the integer grid of the output frame, valid by construction.

    Parameters
    ----------
    geoms
        Polygons in pixel coordinates (x = column, y = row).
    to_grid
        ``(3, 3)`` affine matrix from pixels to output grid units (one unit =
        the file's resolution, e.g. 0.01 µm).

    Returns
    -------
    grid, pixels, source
        Valid Polygons with integer vertices in grid units (what is written),
        the same mapped back to pixels, and the index in ``geoms`` each comes
        from (a shape can split into parts or vanish; holes are filled, as the
        laser cuts outlines only).
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms, geoms, np.empty(0, dtype=np.int64)
    g = apply_affine(geoms, to_grid)
    bad = ~shapely.is_valid(g)  # scaling can tip a nearly degenerate vertex over
    if bad.any():
        g[bad] = shapely.make_valid(g[bad])
    try:
        snapped = shapely.set_precision(g, 1.0)
    except shapely.errors.GEOSException:  # rare GEOS topology failure: one by one
        snapped = np.array([_snap_one(x) for x in g], dtype=object)
    parts, idx = shapely.get_parts(snapped, return_index=True)
    ok = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    ok &= shapely.area(parts) > 0
    grid = shapely.polygons(shapely.get_exterior_ring(parts[ok]))
    if not shapely.is_valid(grid).all():  # pragma: no cover - set_precision output is valid
        raise RuntimeError("rounding to the output grid left an invalid shape")
    pixels = apply_affine(grid, np.linalg.inv(np.asarray(to_grid, dtype=float)))
    return grid, pixels, idx[ok].astype(np.int64)


def _snap_one(geom: shapely.Geometry) -> shapely.Geometry:
    """:func:`shapely.set_precision` of one geometry, repairing first if GEOS gives up."""
    try:
        return shapely.set_precision(geom, 1.0)
    except shapely.errors.GEOSException:
        rounded = shapely.set_precision(geom, 1.0, mode="pointwise")
        return shapely.set_precision(shapely.make_valid(shapely.buffer(rounded, 0)), 1.0)
