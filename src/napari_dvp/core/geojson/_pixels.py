"""The one pixel convention between QuPath GeoJSON files and napari-dvp.

* **QuPath** (and its GeoJSON export): coordinates are continuous with ``(0, 0)``
  the top-left *corner* of the top-left pixel; pixel ``(row r, col c)`` covers
  ``[c, c + 1] x [r, r + 1]``, so its centre is at ``(c + 0.5, r + 0.5)``.
* **napari-dvp** (shapely geometries in ``core``, napari layers, the LMD export):
  pixel *centres* sit at integer coordinates (as in napari); pixel ``(r, c)``
  covers ``[c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]``.

So a GeoJSON file's coordinates are shifted by **-0.5** when read
(:func:`from_qupath`) and by **+0.5** when written (:func:`to_qupath`); every
:class:`~napari_dvp.core.geojson.GeoFeature` holds napari-dvp coordinates. A
square of pixels written to GeoJSON has integer corners in the file (as QuPath
draws it) and comes back on the same pixels.
"""

from __future__ import annotations

import shapely

QUPATH_OFFSET = 0.5  #: QuPath coordinate = napari-dvp coordinate + 0.5 (x and y)


def from_qupath(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """QuPath / GeoJSON file coordinates -> napari-dvp pixel coordinates (-0.5)."""
    if geom is None:
        return None
    return shapely.transform(geom, lambda xy: xy - QUPATH_OFFSET)


def to_qupath(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """napari-dvp pixel coordinates -> QuPath / GeoJSON file coordinates (+0.5)."""
    if geom is None:
        return None
    return shapely.transform(geom, lambda xy: xy + QUPATH_OFFSET)
