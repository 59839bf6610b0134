"""The outline of one cell, to show which cell is under review."""

from __future__ import annotations

import numpy as np
from skimage.measure import find_contours

from ..errors import DvpInputError
from .edits import Box, cell_box

__all__ = ["cell_outline"]


def cell_outline(labels, cell_id: int, box: Box | None = None,
                 hint: tuple[float, float] | None = None) -> list[np.ndarray]:
    """Closed outlines of ``cell_id`` as ``(N, 2)`` (row, col) arrays in labels pixels.

    The outline runs along the cell's outer pixel edges (half a pixel outside
    the pixel centres), so it circles the cell without covering it. A cell in
    several pieces (two cells merged that do not touch) has one outline per
    piece; holes are outlined too. Each outline ends where it starts.

    Parameters
    ----------
    labels
        ``(Y, X)`` labels (numpy, dask or zarr: only the cell's box is read).
    cell_id
        The cell.
    box
        ``(r0, r1, c0, c1)`` holding the whole cell (found when omitted).
    hint
        Centroid ``(row, col)`` to find the box quickly (see :func:`.cell_box`).

    Returns
    -------
    list of numpy.ndarray
        Empty when the cell has no pixels.
    """
    if box is None:
        try:
            box = cell_box(labels, int(cell_id), hint)
        except DvpInputError:
            return []
    r0, r1, c0, c1 = box
    mask = np.asarray(labels[r0:r1, c0:c1]) == cell_id
    if not mask.any():
        return []
    # twice finer, padded by one pixel: the 0.5 level then runs on the pixel edges
    # (big index x is at x / 2 - 0.25 in padded pixels, i.e. x / 2 - 1.25 in the box)
    big = np.kron(np.pad(mask, 1), np.ones((2, 2), np.uint8)).astype(np.float32)
    out = []
    for line in find_contours(big, 0.5):
        pts = line / 2 - 1.25 + np.array([r0, c0], dtype=np.float64)
        if len(pts) >= 4:
            out.append(pts if np.allclose(pts[0], pts[-1]) else np.vstack([pts, pts[:1]]))
    return out
