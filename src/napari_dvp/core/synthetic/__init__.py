"""A synthetic toxic epidermal necrolysis (TEN) skin biopsy with its ground truth.

Five-channel immunofluorescence (DAPI, panCK, CD8, CD163, pSTAT1) at
0.5 µm/px, of any size from 256² to 40,000² pixels, deterministic from a seed
and rendered tile by tile, so a whole-slide sample never sits in memory:

* an epidermis of densely packed keratinocytes (panCK+; basal cells columnar,
  upper cells flattened) under a keratin layer, over the dermis with an
  undulating dermal-epidermal junction (rete ridges);
* in the lesional part (the right ~55 %), full-thickness epidermal damage:
  a subepidermal blister (cell-free gap with fluid) separates the epidermis
  from the dermis, keratinocytes are partly necrotic (shrunken bright nuclei,
  drop-outs) and pSTAT1-high (interferon/JAK-STAT activation);
* CD8 T cells (small, CD8+ membrane, pSTAT1+) and CD163 macrophages (large,
  irregular) under the junction and, for T cells, inside the epidermis,
  much denser in the lesional part; sparse elongated fibroblasts;
* collagen autofluorescence, Gaussian optical blur, uneven illumination and
  field-of-view vignetting, camera offset and Poisson-like plus Gaussian noise.

Ground truth: a labels image (``cell_id``, 0 = background), a cell table
(``cell_id, true_class, true_region, lesional, centroid_row, centroid_col``)
and the regions as shapely geometries (x = column, y = row).

How the geometry scales with size (``layout``): ``"scaled"`` (default) keeps
the same picture at every size (epidermis in the top third, blister under the
lesional half; cells keep their physical size, so a big sample holds many more
of them); ``"physical"`` keeps real thicknesses (epidermis ~115 µm), so a big
sample is a big piece of mostly dermis.
"""

from __future__ import annotations

from ._cells import CHANNELS, CLASSES, REGIONS
from ._layout import PIXEL_SIZE_UM, SampleSpec
from ._render import render_labels, render_tile
from ._sample import (
    MAX_SIZE,
    MIN_SIZE,
    SyntheticSample,
    image_dask,
    iter_truth_table,
    labels_dask,
    make_sample,
    make_spec,
    regions,
    regions_geojson,
    truth_table,
)
from ._write import iter_write_sample, sample_paths, write_sample

__all__ = [
    "CHANNELS",
    "CLASSES",
    "MAX_SIZE",
    "MIN_SIZE",
    "PIXEL_SIZE_UM",
    "REGIONS",
    "SampleSpec",
    "SyntheticSample",
    "image_dask",
    "iter_truth_table",
    "iter_write_sample",
    "labels_dask",
    "make_sample",
    "make_spec",
    "regions",
    "regions_geojson",
    "render_labels",
    "render_tile",
    "sample_paths",
    "truth_table",
    "write_sample",
]
