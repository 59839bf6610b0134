"""The QuPath -> LMD workflow: calibration points, samples and cut shapes from a GeoJSON export.

What an LMD operator used to `Qupath_to_LMD` draws in QuPath, napari-dvp reads
here (features from :func:`napari_dvp.core.geojson.read_geojson`, already in
napari-dvp's pixel frame, see :mod:`napari_dvp.core.geojson._pixels`):

* :func:`calibration_points` — the three calibration marks, as point
  annotations named ``calib1``, ``calib2``, ``calib3`` (or any three names, or
  the three points of one class);
* :func:`annotation_samples` — annotation polygons as region samples, one
  sample per class or one per polygon;
* :func:`detections_to_labels` — QuPath detections/cells as the cells to cut
  (rasterised into a labels image: each detection gets an id, so the normal cell
  pipeline — margin, protection, manifest — applies);
* :func:`detection_samples` — those detections pooled into one sample per class.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely

from ..errors import DvpInputError
from .plan_common import PLAN_COLUMNS, empty_plan
from .region_plan import region_samples, tile_geometry

CALIBRATION_NAMES = ("calib1", "calib2", "calib3")


def _natural(text: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(text))]


def calibration_points(features: Sequence, names: Sequence[str] | None = None,
                       class_name: str | None = None) -> np.ndarray:
    """The three calibration marks (row, col) from point annotations.

    Parameters
    ----------
    features
        :class:`~napari_dvp.core.geojson.GeoFeature` list.
    names
        Names of marks 1, 2, 3 (default ``calib1, calib2, calib3``; matched
        ignoring case and surrounding spaces).
    class_name
        Instead of names: the three points of this class, in the order of their
        names (natural sort), then of the file.

    Returns
    -------
    numpy.ndarray
        ``(3, 2)`` (row, col) in napari-dvp pixels, marks 1, 2, 3.

    Raises
    ------
    DvpInputError
        A mark missing or given twice, or not exactly three points of the class.
    """
    points = []
    for f in features:
        if shapely.get_dimensions(f.geometry) != 0:
            continue
        parts = shapely.get_parts(f.geometry)
        for k, p in enumerate(parts):
            label = f.name if len(parts) == 1 else f"{f.name}#{k + 1}"
            points.append((label, f.class_name, p.x, p.y))
    if class_name is not None:
        got = [p for p in points if p[1].strip().lower() == str(class_name).strip().lower()]
        if len(got) != 3:
            raise DvpInputError(
                f"found {len(got)} point(s) of class {class_name!r}, need exactly 3 calibration "
                "marks; mark them in QuPath with the point tool in that class")
        got = sorted(got, key=lambda p: _natural(p[0]))  # stable: file order among equals
        return np.array([[p[3], p[2]] for p in got], dtype=float)
    want = [str(n).strip().lower() for n in (names or CALIBRATION_NAMES)]
    if len(want) != 3 or len(set(want)) != 3:
        raise DvpInputError(f"give three different calibration point names, got {names!r}")
    out = []
    for n in want:
        hit = [p for p in points if p[0].strip().lower() == n]
        if not hit:
            known = sorted({p[0] for p in points if p[0]})
            raise DvpInputError(
                f"no point named {n!r} in the GeoJSON (points: "
                f"{', '.join(known[:8]) if known else 'none'}); name the three calibration "
                f"points {', '.join(want)} in QuPath or choose their names or class")
        if len(hit) > 1:
            raise DvpInputError(f"{len(hit)} points are named {n!r}; keep one per mark")
        out.append([hit[0][3], hit[0][2]])
    return np.array(out, dtype=float)


def annotation_samples(
    features: Sequence,
    classes: Sequence[str] | None,
    pixel_size_um: float,
    per: str = "class",
    image_shape: Sequence[int] | None = None,
    max_piece_um2: float | None = None,
    cells: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Annotation polygons as region samples (cut as drawn).

    Parameters
    ----------
    features
        GeoJSON features; annotations with an area are used (points, lines,
        detections and ``exclude``/``Ignore*`` classes are not).
    classes
        Region classes (or annotation names) to cut; None or ``["all"]``: every class.
    per
        ``"class"``: one sample per class (all its polygons, ids ``R001`` …);
        ``"polygon"``: one sample per polygon (ids ``<class>_001`` …, as
        Qupath_to_LMD's "make classes unique").
    image_shape
        Polygons are clipped to the image.
    max_piece_um2, cells
        As :func:`~.region_plan.region_samples`.
    """
    from ..geojson import features_to_regions
    from ..regions import is_exclude_name
    from .region_plan import regions_by_name

    if per not in ("class", "polygon"):
        raise DvpInputError(f"unknown sample grouping {per!r}; use 'class' or 'polygon'")
    regions = [r for r in features_to_regions(features)
               if not is_exclude_name(str(r.region_class))]
    if not regions:
        raise DvpInputError("the GeoJSON has no annotation polygons to cut; draw them in QuPath "
                            "(annotations, not detections)")
    everything = classes is None or [str(c).strip().lower() for c in classes] in (["all"],
                                                                                 ["*"])
    if per == "class":
        by_name = regions_by_name(regions, image_shape)
        names = (list(dict.fromkeys(str(r.region_class) for r in regions)) if everything
                 else list(classes))
        return region_samples(by_name, names, pixel_size_um, max_piece_um2, cells=cells)
    wanted = None if everything else {str(c) for c in classes}
    chosen = [r for r in regions if wanted is None or str(r.region_class) in wanted
              or (r.name and str(r.name) in wanted)]
    if wanted is not None:
        known = {str(r.region_class) for r in regions} | {str(r.name) for r in regions if r.name}
        missing = sorted(wanted - known)
        if missing:
            raise DvpInputError(f"no annotation of class or name {missing[0]!r}; known: "
                                f"{', '.join(sorted(known)[:10])}")
    frame = (shapely.box(-0.5, -0.5, image_shape[1] - 0.5, image_shape[0] - 0.5)
             if image_shape is not None else None)
    counter: dict[str, int] = {}
    rows = []
    for r in chosen:
        geom = shapely.make_valid(r.geometry)
        if frame is not None:
            geom = shapely.intersection(geom, frame)
        for part in tile_geometry(geom, None):
            cls = str(r.region_class)
            counter[cls] = counter.get(cls, 0) + 1
            one = region_samples({cls: part}, [cls], pixel_size_um, max_piece_um2, cells=cells)
            one["sample_id"] = f"{cls}_{counter[cls]:03d}"
            rows.append(one)
    if not rows:
        return empty_plan()
    plan = pd.concat(rows, ignore_index=True)[PLAN_COLUMNS]
    plan.attrs["warnings"] = []
    return plan


def detections_to_labels(features: Sequence, image_shape: Sequence[int] | None = None,
                         classes: Sequence[str] | None = None
                         ) -> tuple[np.ndarray, pd.DataFrame]:
    """QuPath detections (or cells) as a labels image, one id per detection in file order.

    Parameters
    ----------
    features
        GeoJSON features; objects of type ``detection`` or ``cell`` with an area.
    image_shape
        ``(rows, cols)``; default: just large enough for every object.
    classes
        Keep only detections of these classes (None: all).

    Returns
    -------
    labels, table
        ``uint32`` labels (a pixel belongs to the detection its centre lies in;
        a later detection wins where two overlap) and one row per detection:
        ``cell_id, class, name, qupath_id, centroid_row, centroid_col, area_um2``
        (area in pixels until scaled by the caller), plus ``n_pixels``.
    """
    from skimage.draw import polygon as draw_polygon

    dets = [f for f in features if f.object_type in ("detection", "cell")
            and shapely.get_dimensions(f.geometry) == 2]
    if classes is not None:
        keep = {str(c) for c in classes}
        dets = [f for f in dets if f.class_name in keep]
    if not dets:
        raise DvpInputError("no detections (QuPath cells/detections with an outline) "
                            + (f"of class {', '.join(map(str, classes))} " if classes else "")
                            + "in the GeoJSON; export them from QuPath with the objects")
    geoms = np.array([f.geometry for f in dets], dtype=object)
    if image_shape is None:
        b = shapely.bounds(geoms)
        image_shape = (int(np.ceil(b[:, 3].max() + 0.5)) + 1, int(np.ceil(b[:, 2].max() + 0.5)) + 1)
    h, w = int(image_shape[0]), int(image_shape[1])
    dtype = np.uint16 if len(dets) < 65_535 else np.uint32
    labels = np.zeros((h, w), dtype=dtype)
    for k, g in enumerate(geoms, start=1):
        for part in shapely.get_parts(g):
            xy = np.asarray(part.exterior.coords)
            rr, cc = draw_polygon(xy[:, 1], xy[:, 0], (h, w))
            labels[rr, cc] = k
            for hole in part.interiors:
                hxy = np.asarray(hole.coords)
                hr, hc = draw_polygon(hxy[:, 1], hxy[:, 0], (h, w))
                m = labels[hr, hc] == k
                labels[hr[m], hc[m]] = 0
    ids = np.arange(1, len(dets) + 1)
    flat = labels.ravel()
    cnt = np.bincount(flat, minlength=len(dets) + 1)[1:]
    rows, cols = np.divmod(np.flatnonzero(flat), w)
    lab = flat[flat > 0].astype(np.intp)
    with np.errstate(invalid="ignore", divide="ignore"):
        cr = np.bincount(lab, weights=rows, minlength=len(dets) + 1)[1:] / cnt
        cc_ = np.bincount(lab, weights=cols, minlength=len(dets) + 1)[1:] / cnt
    table = pd.DataFrame({"cell_id": ids, "class": [f.class_name for f in dets],
                          "name": [f.name for f in dets], "qupath_id": [f.id or "" for f in dets],
                          "centroid_row": cr, "centroid_col": cc_, "n_pixels": cnt})
    return labels, table[table["n_pixels"] > 0].reset_index(drop=True)


def detection_samples(table: pd.DataFrame, classes: Sequence[str] | None = None,
                      pixel_size_um: float = 1.0) -> pd.DataFrame:
    """One cell sample per detection class (sample id = the class name).

    ``table`` is the one :func:`detections_to_labels` returns.
    """
    t = table if classes is None else table[table["class"].isin([str(c) for c in classes])]
    t = t[t["class"].astype(str) != ""]
    if t.empty:
        raise DvpInputError("no classified detections to cut; classify them in QuPath or "
                            "choose other classes")
    rows = []
    for cls, grp in t.groupby("class", sort=False):
        ids = np.sort(grp["cell_id"].to_numpy())
        rows.append({"sample_id": str(cls), "class": str(cls), "region": "", "replicate": 1,
                     "well": "", "n_cells": len(ids),
                     "area_um2": float(grp["n_pixels"].sum()) * pixel_size_um ** 2,
                     "cell_ids": tuple(ids.tolist()), "kind": "cells", "geometry": None})
    plan = pd.DataFrame(rows)[PLAN_COLUMNS]
    plan.attrs["warnings"] = []
    return plan
