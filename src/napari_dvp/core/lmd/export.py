"""Export a sample plan for laser microdissection: one function for CLI, widget and demo.

:func:`export_lmd` writes, atomically, a folder holding

* ``<name>.xml`` — Leica LMD shapes (or ``<name>.txt`` for Zeiss PALM),
* ``manifest.csv`` — one row per sample: ``sample_id, well, class, region,
  replicate, n_cells, area_um2, n_shapes, cell_ids`` (cell ids joined by ``;``);
  the key that maps MS runs back to the tissue,
* ``<name>_qc.png`` — the shapes over the image, coloured by well, with the
  calibration marks,
* ``lmd_export.json`` — settings, calibration, cut-path lengths, conflicts and
  warnings (read back by the XML reader to place shapes on the image).
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..atomic import atomic_dir
from ..csv_safe import write_csv
from ..errors import DvpCancelled, DvpInputError
from .calibration import Calibration
from .collectors import assign_wells, make_collector
from .cutpath import optimise_order, path_length
from .leica_xml import write_leica_xml
from .palm import write_palm
from .plan import PLAN_COLUMNS
from .shapes import ShapeOptions, build_shapes, label_centroids

MANIFEST_COLUMNS = ["sample_id", "well", "class", "region", "replicate", "n_cells", "area_um2",
                    "n_shapes", "cell_ids"]
SETTINGS_NAME = "lmd_export.json"


@dataclass
class ExportOptions:
    """Everything :func:`export_lmd` can be told besides the plan and calibration."""

    fmt: str = "leica"  #: "leica" or "palm"
    name: str = "lmd_shapes"  #: stem of the shape file and QC picture
    plate: str = "384"  #: "384", "96", "strip8" or "custom"
    skip_outer: bool = False
    every_other: bool = False
    fill_order: str = "row"  #: "row", "column" or "serpentine"
    custom_wells: tuple[str, ...] = ()
    dilate_um: float = 1.0
    smooth_um: float = 0.5
    simplify_um: float = 0.3
    min_area_um2: float = 5.0
    merge: bool = True
    conflict: str = "shrink"
    gap_um: float = 0.25
    optimise_path: bool = True
    qc_png: bool = True
    max_off_image_um: float = 5.0  #: region samples may run this far off the image

    def shape_options(self) -> ShapeOptions:
        """The :class:`ShapeOptions` part."""
        return ShapeOptions(self.dilate_um, self.smooth_um, self.simplify_um, self.min_area_um2,
                            self.merge, self.conflict, self.gap_um)


@dataclass
class ExportResult:
    """What :func:`export_lmd` wrote and found."""

    out_dir: Path
    shapes_path: Path
    manifest_path: Path
    qc_path: Path | None
    manifest: pd.DataFrame
    shapes: pd.DataFrame  #: sample_id, well, order, geometry (pixels x=col, y=row)
    path_before_um: float
    path_after_um: float
    conflicts: pd.DataFrame  #: sample_a, sample_b, n_pairs (sample ids)
    lost_cells: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def n_shapes(self) -> int:
        """Number of shapes written."""
        return len(self.shapes)


def _check_plan(plan: pd.DataFrame) -> pd.DataFrame:
    if plan is None or len(plan) == 0:
        raise DvpInputError("the sample plan is empty; select cells or regions to cut first")
    missing = [c for c in ("sample_id", "cell_ids") if c not in plan]
    if missing:
        raise DvpInputError(f"sample plan lacks column(s) {', '.join(missing)}")
    plan = plan.copy()
    for c in PLAN_COLUMNS:
        if c not in plan:
            plan[c] = {"kind": "cells", "replicate": 1, "well": ""}.get(c)
    plan["sample_id"] = plan["sample_id"].astype(str)
    if plan["sample_id"].duplicated().any():
        raise DvpInputError(
            f"sample id {plan['sample_id'][plan['sample_id'].duplicated()].iloc[0]!r} is used "
            "twice; rename one of the samples"
        )
    plan["well"] = plan["well"].fillna("").astype(str)
    empty = [s for s, ids, k in zip(plan["sample_id"], plan["cell_ids"], plan["kind"], strict=False)
             if k != "region" and len(ids) == 0]
    if empty:
        raise DvpInputError(f"sample {empty[0]!r} has no cells; drop it or give it cells")
    return plan.reset_index(drop=True)


def export_lmd_steps(
    labels: np.ndarray,
    plan: pd.DataFrame,
    calibration: Calibration,
    out_dir: str | os.PathLike[str],
    options: ExportOptions | None = None,
    cells: pd.DataFrame | None = None,
    image: np.ndarray | None = None,
) -> Generator[tuple[int, int, str], None, ExportResult]:
    """Generator form of :func:`export_lmd`: yields ``(done, total, what)``, returns the result.

    Closing the generator early (``worker.quit()``) writes nothing.
    """
    opt = options or ExportOptions()
    if opt.fmt not in ("leica", "palm"):
        raise DvpInputError(f"unknown format {opt.fmt!r}; use leica or palm")
    name = str(opt.name)
    if not name.strip() or Path(name).name != name or name in (".", "..") or "\\" in name:
        raise DvpInputError(f"export name {name[:60]!r} must be a plain file name (no folders); "
                            "the files are written inside the chosen export folder")
    total = 6
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise DvpInputError(f"labels must be a 2-D image, got shape {labels.shape}")
    plan = _check_plan(plan)
    warnings = list(plan.attrs.get("warnings", []))
    warnings += calibration.check(labels.shape)
    px = calibration.pixel_size_um

    # wells ----------------------------------------------------------------------------------
    collector = make_collector(opt.plate, skip_outer=opt.skip_outer, every_other=opt.every_other,
                              order=opt.fill_order, custom=opt.custom_wells)
    preset = dict(zip(plan["sample_id"], plan["well"], strict=False))
    wells = assign_wells(list(plan["sample_id"]), collector, preset)
    plan["well"] = plan["sample_id"].map(wells)
    yield 1, total, "wells assigned"

    # cells and regions ----------------------------------------------------------------------
    cell_rows = plan.index[plan["kind"] != "region"].to_numpy()
    ids_list = [np.asarray(plan.at[i, "cell_ids"], dtype=np.int64) for i in cell_rows]
    ids = np.concatenate(ids_list) if ids_list else np.empty(0, np.int64)
    samp = np.repeat(cell_rows, [len(a) for a in ids_list]) if ids_list else ids
    if len(np.unique(ids)) != len(ids):
        raise DvpInputError("a cell is in two samples; a cell can go into one sample only")
    all_centroids = label_centroids(labels)  # one pass over the image: ids present + centres
    present = all_centroids["cell_id"].to_numpy()
    missing = ~np.isin(ids, present)
    if missing.any():
        raise DvpInputError(
            f"{missing.sum()} selected cell(s) do not exist in the labels image (e.g. "
            f"{', '.join(map(str, ids[missing][:5]))}); check that selection and labels match"
        )
    reg_rows = plan.index[plan["kind"] == "region"].to_numpy()
    rgeoms = [plan.at[i, "geometry"] for i in reg_rows]
    h, w = labels.shape
    tol = opt.max_off_image_um / px
    frame = shapely.box(-0.5 - tol, -0.5 - tol, w - 0.5 + tol, h - 0.5 + tol)
    for i, g in zip(reg_rows, rgeoms, strict=False):
        if g is None or shapely.is_empty(g):
            raise DvpInputError(f"region sample {plan.at[i, 'sample_id']!r} has no shape")
        if not shapely.covers(frame, g):
            raise DvpInputError(
                f"sample {plan.at[i, 'sample_id']!r} runs off the {h}x{w} image; the region "
                "does not belong to this image or must be redrawn inside it"
            )
    rg_parts, rg_idx = (shapely.get_parts(np.asarray(rgeoms, dtype=object), return_index=True)
                        if rgeoms else (np.empty(0, object), np.empty(0, np.int64)))
    centroids = all_centroids
    yield 2, total, "cells found"

    # shapes ---------------------------------------------------------------------------------
    res = build_shapes(labels, ids, samp, px, opt.shape_options(),
                       region_geoms=rg_parts, region_sample=reg_rows[rg_idx],
                       centroids=centroids)
    warnings += res.notes
    if res.n_removed_small:
        warnings.append(f"{res.n_removed_small} shape(s) below {opt.min_area_um2} µm² removed")
    if len(res.lost_cells):
        warnings.append(
            f"{len(res.lost_cells)} selected cell(s) are not fully cut (they touch another "
            f"sample or were too small), e.g. {', '.join(map(str, res.lost_cells[:5]))}"
        )
    sid = plan["sample_id"].to_numpy()
    conflicts = res.conflicts.copy()
    if len(conflicts):
        conflicts["sample_a"] = sid[conflicts["sample_a"].to_numpy(dtype=int)]
        conflicts["sample_b"] = sid[conflicts["sample_b"].to_numpy(dtype=int)]
        warnings.append(
            f"{len(conflicts)} pair(s) of samples would overlap after dilation (e.g. "
            f"{conflicts['sample_a'].iloc[0]} / {conflicts['sample_b'].iloc[0]}); resolved by "
            f"rule '{opt.conflict}'"
        )
    n_shapes = np.bincount(res.sample, minlength=len(plan))
    no_shape = np.flatnonzero(n_shapes == 0)
    if no_shape.size:
        raise DvpInputError(
            f"sample {sid[no_shape[0]]!r} has no shape left to cut (too small or taken by "
            "other samples); lower the minimum area or drop the sample"
        )
    yield 3, total, "shapes built"

    # cut order within wells -------------------------------------------------------------------
    cen = shapely.get_coordinates(shapely.centroid(res.geoms))
    cen_um = calibration.xy_to_um(cen)
    order_all = []
    before = after = 0.0
    well_of_shape = plan["well"].to_numpy()[res.sample]
    plate_rank = {wname: k for k, wname in enumerate(collector.wells)}
    sample_order = np.argsort([plate_rank.get(wl, len(plate_rank)) for wl in plan["well"]],
                              kind="stable")
    for s in sample_order:
        idx = np.flatnonzero(res.sample == s)
        before += path_length(cen_um[idx])
        o = optimise_order(cen_um[idx]) if opt.optimise_path else np.arange(len(idx))
        after += path_length(cen_um[idx], o)
        order_all.append(idx[o])
    order = np.concatenate(order_all)
    geoms = res.geoms[order]
    yield 4, total, "cut order optimised"

    # write -------------------------------------------------------------------------------------
    coords, ring_idx = shapely.get_coordinates(shapely.get_exterior_ring(geoms),
                                               return_index=True)
    splits = np.flatnonzero(np.diff(ring_idx)) + 1
    xy_um = calibration.xy_to_um(coords)
    shape_wells = list(well_of_shape[order])
    shape_sids = list(sid[res.sample[order]])
    manifest = pd.DataFrame({
        "sample_id": sid,
        "well": plan["well"].to_numpy(),
        "class": plan["class"].fillna("").astype(str).to_numpy(),
        "region": plan["region"].fillna("").astype(str).to_numpy(),
        "replicate": plan["replicate"].fillna(1).astype(int).to_numpy(),
        "n_cells": [len(c) for c in plan["cell_ids"]],
        "area_um2": plan["area_um2"].astype(float).round(2).to_numpy(),
        "n_shapes": n_shapes,
        "cell_ids": [";".join(map(str, c)) for c in plan["cell_ids"]],
    })[MANIFEST_COLUMNS]
    out_dir = Path(out_dir)
    suffix = ".xml" if opt.fmt == "leica" else ".txt"
    with atomic_dir(out_dir) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; the LMD operator may be another user
        if opt.fmt == "leica":
            pts = np.split(np.rint(xy_um * calibration.scale).astype(np.int64), splits)
            write_leica_xml(tmp / f"{opt.name}{suffix}", calibration.marks_xml(), pts, shape_wells)
        else:
            write_palm(tmp / f"{opt.name}{suffix}", calibration.to_um(calibration.marks_rc),
                       np.split(xy_um, splits), shape_wells, shape_sids)
        write_csv(manifest, tmp / "manifest.csv")
        yield 5, total, "files written"
        qc = None
        if opt.qc_png:
            from .qc import draw_qc

            qc = tmp / f"{opt.name}_qc.png"
            draw_qc(qc, labels, geoms, shape_wells, calibration.marks_rc, image=image)
        settings = {
            "format": opt.fmt, "options": asdict(opt),
            "pixel_size_um": px, "scale": calibration.scale,
            "image_shape": [int(h), int(w)],
            "calibration_marks_rc": calibration.marks_rc.tolist(),
            "calibration_xml": calibration.marks_xml().tolist(),
            "transform": "X = col * pixel_size_um * scale, Y = -row * pixel_size_um * scale",
            "collector": collector.name,
            "n_samples": len(plan), "n_shapes": len(geoms), "n_cells": len(ids),
            "path_before_um": before, "path_after_um": after,
            "conflicts": conflicts.to_dict("records"),
            "lost_cells": [int(c) for c in res.lost_cells[:1000]],
            "warnings": warnings,
        }
        (tmp / SETTINGS_NAME).write_text(json.dumps(settings, indent=1, default=str),
                                         encoding="utf-8")
    yield 6, total, "done"
    shapes_df = pd.DataFrame({"sample_id": shape_sids, "well": shape_wells,
                              "order": np.arange(1, len(geoms) + 1), "geometry": geoms})
    return ExportResult(
        out_dir, out_dir / f"{opt.name}{suffix}", out_dir / "manifest.csv",
        (out_dir / f"{opt.name}_qc.png") if opt.qc_png else None, manifest, shapes_df,
        before, after, conflicts, res.lost_cells, warnings,
    )


def export_lmd(
    labels: np.ndarray,
    plan: pd.DataFrame,
    calibration: Calibration,
    out_dir: str | os.PathLike[str],
    options: ExportOptions | None = None,
    cells: pd.DataFrame | None = None,
    image: np.ndarray | None = None,
) -> ExportResult:
    """Write the LMD export folder for ``plan`` (atomically) and return what was written.

    Parameters
    ----------
    labels
        ``(Y, X)`` labels image (cell id = label value).
    plan
        Sample plan (see :mod:`~napari_dvp.core.lmd.plan`); empty wells are
        filled from the collector in its fill order.
    calibration
        :class:`~napari_dvp.core.lmd.calibration.Calibration` (marks, pixel size, scale).
    out_dir
        Folder to create (replaced atomically if it exists).
    options
        :class:`ExportOptions`.
    cells
        Cell table (not needed for the shapes; kept for callers that have it).
    image
        Optional image for the QC picture background ((Y, X), (C, Y, X) or (Y, X, 3)).

    Raises
    ------
    DvpInputError
        Empty plan, unknown cells, bad calibration, more samples than wells,
        region off the image, a sample left without shapes. Nothing is written.
    """
    gen = export_lmd_steps(labels, plan, calibration, out_dir, options, cells, image)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value
    except GeneratorExit as exc:  # pragma: no cover
        raise DvpCancelled("export cancelled") from exc
