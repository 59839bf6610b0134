"""Per-cell measurements over all cells at once (no Python loop per cell).

:func:`measure_cells` turns a labels image (one integer per cell) and the
matching multi-channel image into the cell table (see :mod:`..cells.columns`):

========================  =====================================================
``cell_id``               the label value
``centroid_row/col``      mean pixel position (full-resolution pixels)
``centroid_y/x_um``       the same in micrometres
``area_um2``              pixel count × pixel area
``mean_<ch>``             mean intensity of each channel
``median_<ch>``           median intensity of each channel
``eccentricity``          of the ellipse with the same second moments
``solidity``              area / area of the convex hull
``perimeter_um``          boundary length (scikit-image's estimator)
``touches_border``        the cell reaches the first/last row or column
========================  =====================================================

How each feature is computed
----------------------------
* **Area, centroid, mean, second moments**: ``np.bincount`` of the label
  values weighted by the row, column, row², column², row×column and each
  channel. The sums of every block of a big image are added, so these are
  exact for any image size. Eccentricity is ``sqrt(1 - l2 / l1)`` of the
  eigenvalues of the covariance matrix, as :func:`skimage.measure.regionprops`.
* **Median**: the pixels of a block are sorted once per channel by
  ``(label, value)`` (a single ``np.sort`` of packed 64-bit keys for integer
  images, ``np.lexsort`` otherwise); each label's median is read from the
  middle of its run. Identical to ``np.median`` per cell.
  On images processed in blocks (dask/zarr or numpy larger than
  ``block_size``) a cell lying in one block is finished there; the pixels of
  cells cut by a block edge are kept and their median is computed at the end,
  so the median stays **exact** (memory: only the cells along block seams).
* **Perimeter**: the estimator of :func:`skimage.measure.perimeter` (4-connected
  border pixels, each weighted 1, √2 or (1+√2)/2 by the configuration of its
  border neighbours, Benkrid & Crookes) evaluated for all cells at once with
  array shifts; other cells count as background. It equals regionprops'
  ``perimeter`` (floating point rounding aside).
* **Solidity**: area / convex area, the convex area being the number of pixel
  centres inside the convex hull of the pixels' edge midpoints (the definition
  of :func:`skimage.morphology.convex_hull_image`, so equal to regionprops'
  ``solidity``). Pure numpy for all cells at once: the hull's right and left
  sides are the concave majorant / convex minorant of each row's last / first
  column (pruned for all cells together until only hull vertices remain), the
  hull is widened by the half-pixel diamond analytically and the integer
  columns inside it are counted row by row (see :func:`_convex_pixel_area`).
* **Big label values**: the tables are indexed by label value, so labels
  above :data:`MAX_LABEL` are refused (relabel them 1..n first).

Modules: ``_inputs`` (argument checks), ``_perimeter``, ``_medians``,
``_convex_hull`` (the features above), ``_block_stats`` (sums of one block,
accumulated by label value), ``_table`` (sums -> cell table) and ``_driver``
(the block-wise loop and the public functions).
"""

from ._block_stats import MAX_LABEL as MAX_LABEL
from ._driver import BLOCK_SIZE as BLOCK_SIZE
from ._driver import (
    MEASURE_COLUMNS,
    measure_cells,
    measure_cells_in_box,
    measure_cells_iter,
)

__all__ = ["MEASURE_COLUMNS", "measure_cells", "measure_cells_in_box", "measure_cells_iter"]
