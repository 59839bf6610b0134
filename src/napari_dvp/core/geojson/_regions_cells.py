"""GeoJSON features <-> drawn regions and <-> cell outlines traced from labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from ..regions import Region, color_for
from ._model import GeoFeature
from ._read import _make_valid


def features_to_regions(features: Sequence[GeoFeature]) -> list[Region]:
    """Annotations with an area become regions; their class (or name) is the region class."""
    out = []
    for f in features:
        if f.object_type != "annotation" or shapely.get_dimensions(f.geometry) != 2:
            continue
        rc = f.class_name or f.name or "region"
        out.append(Region(geometry=f.geometry, region_class=rc, name=f.name,
                          color=f.color, properties={**f.properties, "_id": f.id}))
    return out


def regions_to_features(regions: Sequence[Region]) -> list[GeoFeature]:
    """Regions as QuPath annotations (class = region class, colour kept)."""
    out = []
    for r in regions:
        props = dict(r.properties)
        fid = props.pop("_id", None)
        out.append(GeoFeature(geometry=r.geometry, object_type="annotation",
                              class_name=r.region_class, color=r.color or color_for(r.region_class),
                              name=r.name, id=fid, properties=props))
    return out


def cell_polygons(labels: np.ndarray, cell_ids: Sequence[int] | None = None) -> dict[int, Any]:
    """Outline polygon of each cell (x = column, y = row, napari-dvp's pixel frame).

    The outline runs between the cell's boundary pixels and their neighbours
    (marching squares at level 0.5), in napari-dvp coordinates (pixel centres
    at integers); written to GeoJSON it lands on QuPath's pixel edges. Each
    cell's contour is traced in its own bounding box only.
    """
    from scipy import ndimage
    from skimage.measure import find_contours

    labels = np.asarray(labels)
    slices = ndimage.find_objects(labels)
    ids = range(1, len(slices) + 1) if cell_ids is None else cell_ids
    out: dict[int, Any] = {}
    for cid in ids:
        cid = int(cid)
        if cid < 1 or cid > len(slices) or slices[cid - 1] is None:
            continue
        sl = slices[cid - 1]
        mask = np.pad(labels[sl] == cid, 1)
        contours = find_contours(mask.astype(np.uint8), 0.5)
        ring = max(contours, key=len)
        r0, c0 = sl[0].start - 1, sl[1].start - 1
        poly = shapely.Polygon(np.column_stack([ring[:, 1] + c0, ring[:, 0] + r0]))
        if not poly.is_valid:
            poly = _make_valid(poly)
        out[cid] = poly
    return out


def cells_to_features(
    table: pd.DataFrame,
    labels: np.ndarray | None = None,
    class_colors: Mapping[str, tuple[int, int, int]] | None = None,
    object_type: str = "detection",
    measurements: Sequence[str] = (),
) -> list[GeoFeature]:
    """Cells as QuPath detections: outlines from ``labels`` (or centroid points without).

    The class is the ``class`` column, the name ``cell <id>``; ``cell_id`` and
    ``region`` go into ``properties``, the listed columns into ``measurements``.
    """
    ids = table["cell_id"].to_numpy()
    classes = (table["class"].astype(str).to_numpy() if "class" in table.columns
               else np.full(len(table), "", dtype=object))
    regions = table["region"].astype(str).to_numpy() if "region" in table.columns else None
    if labels is not None:
        polys = cell_polygons(labels, ids)
        geoms = [polys.get(int(i)) for i in ids]
    else:
        geoms = list(shapely.points(table["centroid_col"].to_numpy(float),
                                    table["centroid_row"].to_numpy(float)))
    meas = table[list(measurements)].to_numpy(float) if measurements else None
    colors = dict(class_colors or {})
    out = []
    for k, (cid, g) in enumerate(zip(ids, geoms, strict=True)):
        if g is None:
            continue
        props: dict[str, Any] = {"cell_id": int(cid)}
        if regions is not None:
            props["region"] = regions[k]
        if meas is not None:
            props["measurements"] = {m: float(v) for m, v in zip(measurements, meas[k],
                                                                 strict=True)}
        c = classes[k]
        out.append(GeoFeature(geometry=g, object_type=object_type, class_name=c,
                              color=colors.get(c) or (color_for(c) if c else None),
                              name=f"cell {int(cid)}", properties=props))
    return out
