"""AnnData and SpatialData in and out.

* :func:`cells_anndata` — a slide's cell table as AnnData (intensities in ``X``, every other
  column in ``obs``, centroids in ``obsm["spatial"]``), with the sample each cell was cut
  into, that sample's pathway scores (``score_<set>``) and the slide's study metadata
  (``slide, patient, condition, meta_<key>``) in ``obs``.
* :func:`samples_anndata` — the study's sample x protein matrix with the design in ``obs``.
* :func:`study_spatialdata` / :func:`write_spatialdata` — a slide or a whole study as one
  SpatialData object / zarr store: per slide an image (lazy, multiscale), the cell labels,
  the regions and the LMD cut shapes as shapes, all in the slide's own coordinate system
  (micrometres); one ``cells`` table annotating every slide's labels (``region_key`` =
  ``labels_element``, ``instance_key`` = ``cell_id``) and a ``samples`` table (sample x
  protein, not annotating an element).
* :func:`import_spatialdata` — image + labels + table of a SpatialData zarr as a slide
  project.

The ``spatialdata`` package is optional (``pip install 'napari-dvp[spatialdata]'``); it is
imported only here, lazily, with a one-line message when missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .model import Study

INTENSITY_PREFIXES = ("mean_", "median_")
SCORE_PREFIX = "score_"


def safe_name(name: str) -> str:
    """A column name SpatialData accepts (letters, digits, ``_ . -``)."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))
REGION_KEY, INSTANCE_KEY = "labels_element", "cell_id"


def require_spatialdata():
    """Import :mod:`spatialdata` or say how to get it."""
    try:
        import spatialdata
    except ImportError:
        raise DvpInputError("SpatialData export needs the optional 'spatialdata' package: pip "
                            "install 'napari-dvp[spatialdata]' (in its own environment if "
                            "it would downgrade dask)") from None
    return spatialdata


def cell_samples(manifest: pd.DataFrame, slide: str) -> pd.DataFrame:
    """``cell_id -> sample_id`` of one slide's cut cells (from the study manifest)."""
    from ..overlay.proteins import manifest_cells

    sub = manifest[manifest["slide"].astype(str) == slide]
    if sub.empty:
        return pd.DataFrame({"cell_id": pd.Series(dtype=np.int64),
                             "sample_id": pd.Series(dtype=str)})
    return manifest_cells(sub)[["cell_id", "sample_id"]]


def cells_anndata(study: Study, slide: str, manifest: pd.DataFrame | None = None,
                  scores: pd.DataFrame | None = None):
    """The slide's cell table as AnnData (see module docstring)."""
    import anndata as ad

    from .slides import slide_data

    _, cells = slide_data(study, slide)
    cells = cells.reset_index(drop=True)
    icols = [c for c in cells.columns if str(c).startswith(INTENSITY_PREFIXES)
             and pd.api.types.is_numeric_dtype(cells[c])]
    obs = cells.drop(columns=icols).copy()
    obs["cell_id"] = obs["cell_id"].astype(np.int64)
    rec = study.get(slide)
    obs["slide"], obs["patient"], obs["condition"] = slide, rec.patient, rec.condition
    for k, v in rec.meta.items():
        obs[safe_name(f"meta_{k}")] = str(v)
    obs["sample_id"] = ""
    if manifest is not None:
        cs = cell_samples(manifest, slide).set_index("cell_id")["sample_id"]
        obs["sample_id"] = obs["cell_id"].map(cs).fillna("").astype(str)
        if scores is not None:
            for col in scores.columns:
                obs[safe_name(SCORE_PREFIX + col)] = obs["sample_id"].map(scores[col]).astype(
                    float)
    for c in obs.columns:
        if obs[c].dtype == object:
            obs[c] = obs[c].astype(str)
    obs.index = obs["cell_id"].astype(str).to_numpy()
    X = cells[icols].to_numpy(dtype=np.float32) if icols else np.zeros((len(cells), 0),
                                                                        np.float32)
    var = pd.DataFrame(index=[str(c) for c in icols])
    out = ad.AnnData(X=X, obs=obs, var=var)
    if {"centroid_col", "centroid_row"} <= set(cells.columns):
        out.obsm["spatial"] = cells[["centroid_col", "centroid_row"]].to_numpy(dtype=float)
    return out


def samples_anndata(ps, study: Study | None = None):
    """The processed sample x protein matrix with the design (and slide metadata) in obs."""
    adata = ps.processed.copy()
    if study is not None and "slide" in adata.obs:
        meta = study.table().set_index("slide")
        for col in meta.columns:
            if col not in adata.obs.columns:
                adata.obs[col] = adata.obs["slide"].map(meta[col]).astype(str)
        adata.uns["study"] = {"name": study.name, "slides": study.names()}
    for c in adata.obs.columns:
        if adata.obs[c].dtype == object:
            adata.obs[c] = adata.obs[c].astype(str)
    return adata


def _lmd_shapes(study: Study, slide: str) -> pd.DataFrame:
    """The LMD cut shapes of a slide (pixels x=col, y=row) with their well, from its XML."""
    import shapely

    from ..lmd import Calibration
    from ..lmd.leica_xml import read_leica_xml

    rows = []
    px = study.get(slide).pixel.um
    cal = Calibration(np.zeros((3, 2)), px)
    for xml_path in sorted(study.lmd_dir.glob(f"{slide}*/*.xml")):
        xml = read_leica_xml(xml_path)
        for shape, well in zip(xml.shapes, xml.wells, strict=True):
            if len(shape) >= 3:
                rc = cal.from_xml(shape)
                rows.append({"well": well or "", "file": xml_path.name,
                             "geometry": shapely.Polygon(rc[:, ::-1])})
    return pd.DataFrame(rows, columns=["well", "file", "geometry"])


def slide_elements(study: Study, slide: str, scale_factors=(2, 4)) -> dict:
    """SpatialData elements of one slide (image, labels, regions, LMD shapes), in µm."""
    import geopandas as gpd
    from spatialdata.models import Image2DModel, Labels2DModel, ShapesModel
    from spatialdata.transformations import Scale

    from ..project import load_project
    from ..slide import open_image

    rec = study.get(slide)
    project = load_project(study.project_dir(slide), verify=False, lazy_labels=False)
    px = rec.pixel.um
    tf = {slide: Scale([px, px], axes=("y", "x"))}
    out: dict = {}
    if project.image is not None and Path(project.image.path).is_file():
        img = open_image(project.image.path)
        data = img.levels[0]
        if img.is_rgb:
            data = data.transpose(2, 0, 1)
        out[f"{slide}_image"] = Image2DModel.parse(
            data, dims=("c", "y", "x"), c_coords=list(img.channel_names),
            scale_factors=list(scale_factors), transformations=tf)
    labels = np.asarray(project.labels)
    out[f"{slide}_labels"] = Labels2DModel.parse(labels, dims=("y", "x"),
                                                 transformations=tf)
    from ..project._regions_geojson import as_region_list

    regs = as_region_list(project.regions) if project.regions is not None else []
    if regs:
        gdf = gpd.GeoDataFrame({"name": [r.name or r.region_class for r in regs],
                                "region_class": [r.region_class for r in regs]},
                               geometry=[r.geometry for r in regs])
        out[f"{slide}_regions"] = ShapesModel.parse(gdf, transformations=tf)
    lmd = _lmd_shapes(study, slide)
    if len(lmd):
        out[f"{slide}_lmd"] = ShapesModel.parse(gpd.GeoDataFrame(lmd, geometry="geometry"),
                                                transformations=tf)
    return out


def study_spatialdata(study: Study, slides: list[str] | None = None, ps=None):
    """A SpatialData object of the study (or of ``slides``), see the module docstring."""
    import anndata as ad

    sd = require_spatialdata()
    from spatialdata.models import TableModel

    from .export import read_study_manifest

    slides = slides or study.names()
    manifest = read_study_manifest(study) if (study.lmd_dir / "manifest.csv").is_file() \
        else None
    scores = None
    if ps is not None:
        cov = ps.scores.coverage
        scores = ps.scores.scores[cov.loc[cov["scored"], "set"].tolist()]
    elements, tables = {}, []
    for slide in slides:
        elements.update(slide_elements(study, slide))
        t = cells_anndata(study, slide, manifest, scores)
        t.obs[REGION_KEY] = pd.Categorical([f"{slide}_labels"] * t.n_obs)
        t.obs_names = [f"{slide}:{i}" for i in t.obs_names]
        tables.append(t)
    cells = ad.concat(tables, join="outer", merge="first")
    cells.obs[REGION_KEY] = pd.Categorical(cells.obs[REGION_KEY].astype(str))
    table_dict = {"cells": TableModel.parse(cells, region=[f"{s}_labels" for s in slides],
                                            region_key=REGION_KEY, instance_key=INSTANCE_KEY)}
    if ps is not None:
        table_dict["samples"] = TableModel.parse(samples_anndata(ps, study))
    images = {k: v for k, v in elements.items() if k.endswith("_image")}
    labels = {k: v for k, v in elements.items() if k.endswith("_labels")}
    shapes = {k: v for k, v in elements.items() if k.endswith(("_regions", "_lmd"))}
    return sd.SpatialData(images=images, labels=labels, shapes=shapes, tables=table_dict)


def write_spatialdata(study: Study, path: str | os.PathLike[str],
                      slides: list[str] | None = None, ps=None) -> Path:
    """Write :func:`study_spatialdata` to a new ``.zarr`` store."""
    path = Path(path)
    if path.exists():
        raise DvpInputError(f"{path} exists; choose a new .zarr path")
    study_spatialdata(study, slides, ps).write(path)
    return path


def import_spatialdata(path: str | os.PathLike[str], project_dir: str | os.PathLike[str],
                       labels: str | None = None, table: str = "cells"):
    """A SpatialData zarr's labels (+ its table's rows for them) as a napari-dvp project.

    Returns the saved :class:`~napari_dvp.core.project.Project` (cell table with
    ``cell_id``, the table's obs columns and ``X`` columns; the pixel size when the labels
    carry a scale).
    """
    sd = require_spatialdata()
    from ..project import Project, save_project

    sdata = sd.read_zarr(path)
    names = list(sdata.labels.keys())
    if not names:
        raise DvpInputError(f"{path} holds no labels element; a slide needs cell labels")
    name = labels or names[0]
    if name not in sdata.labels:
        raise DvpInputError(f"no labels {name!r} in {path}; it has {', '.join(names)}")
    lab = np.asarray(sdata.labels[name].data)
    cells = pd.DataFrame({"cell_id": np.unique(lab[lab > 0]).astype(np.int64)})
    if table in sdata.tables:
        t = sdata.tables[table]
        attrs = t.uns.get("spatialdata_attrs", {})
        rk, ik = attrs.get("region_key"), attrs.get("instance_key", "cell_id")
        obs = t.obs
        keep = obs[rk].astype(str) == name if rk in obs.columns else np.ones(len(obs), bool)
        sub = t[np.asarray(keep)]
        frame = sub.obs.copy()
        X = np.asarray(sub.X.toarray() if hasattr(sub.X, "toarray") else sub.X)
        for j, v in enumerate(sub.var_names):
            frame[str(v)] = X[:, j]
        frame = frame.rename(columns={ik: "cell_id"}).drop(columns=[c for c in (rk,)
                                                                    if c in frame.columns])
        frame["cell_id"] = frame["cell_id"].astype(np.int64)
        cells = cells.merge(frame.reset_index(drop=True), on="cell_id", how="left")
    from spatialdata.transformations import get_transformation

    px = None
    try:
        tfs = get_transformation(sdata.labels[name], get_all=True)
        scale = next(iter(tfs.values())).to_affine_matrix(("y", "x"), ("y", "x"))
        px = float(scale[0, 0]) if scale[0, 0] > 0 and scale[0, 0] != 1 else None
    except Exception:
        px = None
    project = Project(labels=lab, cells=cells, meta={"pixel_size_um": px,
                                                      "imported_from": str(path)})
    save_project(project_dir, project)
    return project
