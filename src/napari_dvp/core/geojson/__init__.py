"""QuPath-compatible GeoJSON: read and write annotations (regions) and detections (cells).

Format (QuPath 0.2-0.5 "Export objects as GeoJSON"): a FeatureCollection (or,
from older versions, a bare list of Features) in full-resolution pixel
coordinates, x = column, y = row. ``properties.objectType`` is ``annotation``,
``detection`` or ``cell``; ``properties.classification`` is ``{"name": …,
"color": [r, g, b]}`` (QuPath 0.2 wrote ``colorRGB``, a packed integer);
``properties.name`` is optional. Geometries: Polygon (with holes),
MultiPolygon, Point/MultiPoint, LineString; ellipses arrive as polygons.

Pixel convention: QuPath puts pixel *corners* at integer coordinates,
napari-dvp pixel *centres*; reading shifts by -0.5 and writing by +0.5 (see
``_pixels``), so every :class:`GeoFeature` holds napari-dvp coordinates.

Invalid polygons (self-intersecting, bow ties) are repaired with
:func:`shapely.make_valid` and a :class:`GeoJsonWarning`. Shapes beyond the
image are clipped to it (with a warning) or refused, as the caller chooses.
Everything else a QuPath object carries (``id``, ``measurements``,
``isLocked`` …) is kept and written back unchanged.

Modules: ``_model`` (:class:`GeoFeature`), ``_read`` (parse and validate),
``_write``, ``_regions_cells`` (to/from regions and cell outlines), ``_match``
(imported detections -> our cells) and ``_napari`` (to/from napari Shapes and
Points).
"""

from ._match import match_detections
from ._model import OBJECT_TYPES, GeoFeature, GeoJsonWarning
from ._napari import (
    SHAPE_COLUMNS,
    features_to_points,
    features_to_shapes,
    points_to_features,
    shapes_to_features,
)
from ._napari import hex_colour as hex_colour
from ._pixels import QUPATH_OFFSET, from_qupath, to_qupath
from ._read import looks_like_geojson, parse_geojson, read_geojson
from ._regions_cells import (
    cell_polygons,
    cells_to_features,
    features_to_regions,
    regions_to_features,
)
from ._write import feature_to_dict, to_geojson, write_geojson

__all__ = [
    "OBJECT_TYPES",
    "QUPATH_OFFSET",
    "SHAPE_COLUMNS",
    "GeoFeature",
    "GeoJsonWarning",
    "cell_polygons",
    "cells_to_features",
    "feature_to_dict",
    "features_to_points",
    "features_to_regions",
    "features_to_shapes",
    "from_qupath",
    "looks_like_geojson",
    "match_detections",
    "parse_geojson",
    "points_to_features",
    "read_geojson",
    "regions_to_features",
    "shapes_to_features",
    "to_geojson",
    "to_qupath",
    "write_geojson",
]
