"""Export a sample plan for laser microdissection: one function for CLI, widget and demo.

:func:`export_lmd` writes, atomically, a folder holding

* ``<name>.xml`` — Leica LMD shapes (or ``<name>.txt`` for Zeiss PALM, in
  absolute stage µm),
* ``manifest.csv`` — one row per sample (:data:`MANIFEST_COLUMNS`), telling
  what was **actually cut**: ``n_cells`` / ``cell_ids`` / ``area_um2`` count
  only the cells fully inside the sample's shapes (a region sample: the cells
  whose centre lies in its cut), ``n_partial`` / ``n_lost`` the planned cells
  that were not, ``purity`` the share of the cut area taken by the sample's
  own cells; the key that maps MS runs back to the tissue,
* ``lost_cells.csv`` — every planned cell not fully cut, with its sample and why,
* ``plate_map.csv`` — the plate as a grid of sample names,
* ``detections.csv`` — only when the cells are QuPath detections: cell id ->
  QuPath object id, class and name,
* ``<name>_qc.png`` — the shapes over the image, coloured by well, with a
  legend (sample -> well -> colour) and the numbered calibration marks,
* ``lmd_export.json`` — settings, calibration, cut-path lengths, conflicts,
  losses and warnings (read back by the XML reader to place shapes on the image).

A sample that would lose more than ``max_loss`` of its planned cells stops the
export with :class:`LmdLossError` (nothing written) unless ``accept_loss``.
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
from .audit import CutAudit, audit_cuts, loss_summary
from .calibration import PALM_GRID_PER_UM, Calibration
from .collectors import assign_wells, make_collector, plate_map
from .cutpath import optimise_order, path_length
from .leica_xml import write_leica_xml
from .palm import write_palm
from .plan import PLAN_COLUMNS
from .plan_common import has_control_chars
from .shapes import ShapeOptions, build_shapes, label_centroids
from .snap import snap_to_grid

MANIFEST_COLUMNS = ["sample_id", "well", "class", "region", "replicate", "n_cells", "area_um2",
                    "cut_area_um2", "purity", "n_shapes", "n_planned", "n_partial", "n_lost",
                    "cell_ids"]
LOST_COLUMNS = ["sample_id", "well", "cell_id", "status", "cut_percent", "reason"]
SETTINGS_NAME = "lmd_export.json"
LOST_NAME = "lost_cells.csv"
PLATE_MAP_NAME = "plate_map.csv"


class LmdLossError(DvpInputError):
    """A sample would lose more of its planned cells than allowed.

    Attributes
    ----------
    samples
        Per sample over the limit: ``sample_id, n_planned, n_partial, n_lost, share``.
    cells
        Every cell not fully cut (:func:`~.audit.loss_summary`), for a table in the dock.
    """

    def __init__(self, message: str, samples: pd.DataFrame, cells: pd.DataFrame) -> None:
        super().__init__(message)
        self.samples = samples
        self.cells = cells


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
    max_intrusion_um: float | None = 0.5  #: margin inside unselected neighbours (None: no limit)
    max_loss: float = 0.05  #: share of a sample's planned cells that may go uncut
    accept_loss: bool = False  #: export even when a sample loses more than ``max_loss``
    optimise_path: bool = True
    qc_png: bool = True
    max_off_image_um: float = 5.0  #: region samples may run this far off the image

    def shape_options(self) -> ShapeOptions:
        """The :class:`ShapeOptions` part."""
        return ShapeOptions(self.dilate_um, self.smooth_um, self.simplify_um, self.min_area_um2,
                            self.merge, self.conflict, self.gap_um,
                            max_intrusion_um=self.max_intrusion_um)

    def validate(self) -> None:
        """Refuse unknown choices and NaN, infinite or negative numbers (one-line errors)."""
        if self.fmt not in ("leica", "palm"):
            raise DvpInputError(f"unknown format {self.fmt!r}; use leica or palm")
        name = str(self.name)
        if (not name.strip() or Path(name).name != name or name in (".", "..") or "\\" in name
                or has_control_chars(name)):
            raise DvpInputError(f"export name {name[:60]!r} must be a plain file name (no "
                                "folders); the files are written inside the chosen export folder")
        self.shape_options().validate()
        if not (np.isfinite(self.max_loss) and 0 <= self.max_loss <= 1):
            raise DvpInputError(f"max_loss is {self.max_loss!r}; give a share between 0 and 1 "
                                "(0.05 = 5 %)")
        if not (np.isfinite(self.max_off_image_um) and self.max_off_image_um >= 0):
            raise DvpInputError(f"max_off_image_um is {self.max_off_image_um!r}; give 0 or more")


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
    lost_cells: np.ndarray  #: ids of planned cells not fully cut (partial or lost)
    warnings: list[str] = field(default_factory=list)
    loss: pd.DataFrame | None = None  #: one row per cell not fully cut, with the reason
    audit: CutAudit | None = None
    plate_map: pd.DataFrame | None = None
    #: samples that lost more than ``max_loss`` (exported because ``accept_loss``)
    over_limit: pd.DataFrame | None = None

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
    plan["well"] = plan["well"].fillna("").astype(str)
    for col, what in (("sample_id", "sample id"), ("well", "well")):
        bad = [v for v in plan[col] if has_control_chars(v)]
        if bad:
            raise DvpInputError(f"{what} {bad[0][:40]!r} holds a control character (tab, line "
                                "break …), which would corrupt the LMD file; rename it")
    if (plan["sample_id"].str.strip() == "").any():
        raise DvpInputError("a sample has an empty id; name every sample")
    if plan["sample_id"].duplicated().any():
        raise DvpInputError(
            f"sample id {plan['sample_id'][plan['sample_id'].duplicated()].iloc[0]!r} is used "
            "twice; rename one of the samples"
        )
    empty = [s for s, ids, k in zip(plan["sample_id"], plan["cell_ids"], plan["kind"], strict=False)
             if k != "region" and len(ids) == 0]
    if empty:
        raise DvpInputError(f"sample {empty[0]!r} has no cells; drop it or give it cells")
    return plan.reset_index(drop=True)


def _loss_check(audit: CutAudit, sid: np.ndarray, opt: ExportOptions,
                loss: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Samples losing more than ``max_loss``; raise unless accepted, else warn."""
    s = audit.samples
    planned = s["n_planned"].to_numpy()
    missed = (s["n_partial"] + s["n_lost"]).to_numpy()
    share = np.divide(missed, planned, out=np.zeros(len(s)), where=planned > 0)
    over = np.flatnonzero(share > opt.max_loss + 1e-12)
    table = pd.DataFrame({"sample_id": sid[over], "n_planned": planned[over],
                          "n_partial": s["n_partial"].to_numpy()[over],
                          "n_lost": s["n_lost"].to_numpy()[over], "share": share[over]})
    if not len(over):
        return table, []
    k = int(over[np.argmax(share[over])])
    why = loss[loss["sample_id"] == sid[k]]["reason"].value_counts()
    top = why.index[0] if len(why) else "unknown"
    head = (f"sample {sid[k]} loses {missed[k]} of {planned[k]} planned cells "
            f"({100 * share[k]:.0f} %; mostly: {top})"
            + (f" and {len(over) - 1} more sample(s) lose" if len(over) > 1 else "")
            + f" more than the {100 * opt.max_loss:g} % allowed")
    if not opt.accept_loss:
        raise LmdLossError(head + "; see the cells in the plan, lower the margin, or accept the "
                           "loss (--accept-loss)", table, loss)
    return table, [head + " (accepted); the manifest lists only the cells cut"]


def export_lmd_steps(
    labels: np.ndarray,
    plan: pd.DataFrame,
    calibration: Calibration,
    out_dir: str | os.PathLike[str],
    options: ExportOptions | None = None,
    cells: pd.DataFrame | None = None,
    image: np.ndarray | None = None,
    detections: pd.DataFrame | None = None,
) -> Generator[tuple[int, int, str], None, ExportResult]:
    """Generator form of :func:`export_lmd`: yields ``(done, total, what)``, returns the result.

    Closing the generator early (``worker.quit()``) writes nothing.
    """
    opt = options or ExportOptions()
    opt.validate()
    total = 6
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise DvpInputError(f"labels must be a 2-D image, got shape {labels.shape}")
    plan = _check_plan(plan)
    warnings = list(plan.attrs.get("warnings", []))
    warnings += calibration.check(labels.shape)
    stage_info = None
    if opt.fmt == "palm":
        stage_warn, stage_info = calibration.check_stage()
        warnings += stage_warn
    px = calibration.pixel_size_um
    to_grid = calibration.grid_matrix(opt.fmt)

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
    yield 2, total, "cells found"

    # shapes, rounded to the file's grid, checked cell by cell ---------------------------------
    res = build_shapes(labels, ids, samp, px, opt.shape_options(),
                       region_geoms=rg_parts, region_sample=reg_rows[rg_idx],
                       centroids=all_centroids)
    warnings += res.notes
    grid, geoms, src = snap_to_grid(res.geoms, to_grid)
    sample, is_region = res.sample[src], res.is_region[src]
    cutters, ckind = res.cutters, res.cutter_kind
    cother, ctarget = res.cutter_other, res.cutter_target
    gone = np.setdiff1d(np.arange(len(res.geoms)), src)
    small = shapely.area(geoms) * px * px < opt.min_area_um2
    extra = [(res.geoms[gone], "rounded", res.sample[gone]), (geoms[small], "small",
                                                                sample[small])]
    for g, kind, tgt in extra:
        if len(g):
            cutters = np.concatenate([cutters, g])
            ckind = np.concatenate([ckind, np.full(len(g), kind, dtype=object)])
            cother = np.concatenate([cother, np.full(len(g), -1, dtype=np.int64)])
            ctarget = np.concatenate([ctarget, tgt])
    grid, geoms, sample, is_region = grid[~small], geoms[~small], sample[~small], is_region[~small]
    n_removed = res.n_removed_small + int(small.sum())
    if n_removed:
        warnings.append(f"{n_removed} shape(s) below {opt.min_area_um2} µm² removed")
    sid = plan["sample_id"].to_numpy()
    n_shapes = np.bincount(sample, minlength=len(plan))
    no_shape = np.flatnonzero(n_shapes == 0)
    if no_shape.size:
        raise DvpInputError(
            f"sample {sid[no_shape[0]]!r} has no shape left to cut (too small or taken by "
            "other samples); lower the minimum area or drop the sample"
        )
    area_px = all_centroids.set_index("cell_id")["n_pixels"].reindex(ids).to_numpy(float)
    region_planned = {int(i): np.asarray(plan.at[i, "cell_ids"], dtype=np.int64)
                      for i in reg_rows}
    audit = audit_cuts(geoms, sample, is_region, len(plan), ids, samp, res.cell_polys, area_px,
                       cutters, ckind, cother, ctarget, region_planned, all_centroids,
                       res.neighbour_polys,
                       (opt.max_intrusion_um if opt.max_intrusion_um is not None else 0.5) / px)
    loss = loss_summary(audit, sid)
    loss.insert(1, "well", loss["sample_id"].map(dict(zip(sid, plan["well"], strict=True))))
    over, loss_warn = _loss_check(audit, sid, opt, loss)
    warnings += loss_warn
    not_cut = loss["cell_id"].to_numpy(dtype=np.int64)
    if len(loss) and not len(over):
        warnings.append(f"{len(loss)} planned cell(s) not fully cut (listed in {LOST_NAME}), "
                        f"e.g. {', '.join(map(str, not_cut[:5]))}")
    conflicts = res.conflicts.copy()
    if len(conflicts):
        conflicts["sample_a"] = sid[conflicts["sample_a"].to_numpy(dtype=int)]
        conflicts["sample_b"] = sid[conflicts["sample_b"].to_numpy(dtype=int)]
        warnings.append(
            f"{len(conflicts)} pair(s) of samples would overlap after dilation (e.g. "
            f"{conflicts['sample_a'].iloc[0]} / {conflicts['sample_b'].iloc[0]}); resolved by "
            f"rule '{opt.conflict}'"
        )
    cen = shapely.get_coordinates(shapely.centroid(geoms))
    outside = ~calibration.inside_triangle(cen)
    if outside.any():
        warnings.append(
            f"{int(outside.sum())} of {len(geoms)} shapes lie outside the triangle of the three "
            "calibration marks; positions there are extrapolated, so marks around the tissue "
            "cut more accurately")
    yield 3, total, "shapes built"

    # cut order within wells -------------------------------------------------------------------
    cen_um = calibration.xy_to_um(cen)
    order_all = []
    before = after = 0.0
    well_of_shape = plan["well"].to_numpy()[sample]
    plate_rank = {wname: k for k, wname in enumerate(collector.wells)}
    sample_order = np.argsort([plate_rank.get(wl, len(plate_rank)) for wl in plan["well"]],
                              kind="stable")
    for s in sample_order:
        idx = np.flatnonzero(sample == s)
        before += path_length(cen_um[idx])
        o = optimise_order(cen_um[idx]) if opt.optimise_path else np.arange(len(idx))
        after += path_length(cen_um[idx], o)
        order_all.append(idx[o])
    order = np.concatenate(order_all)
    geoms, grid = geoms[order], grid[order]
    yield 4, total, "cut order optimised"

    # write -------------------------------------------------------------------------------------
    coords, ring_idx = shapely.get_coordinates(shapely.get_exterior_ring(grid),
                                               return_index=True)
    splits = np.flatnonzero(np.diff(ring_idx)) + 1
    pts = np.split(np.rint(coords).astype(np.int64), splits)
    shape_wells = list(well_of_shape[order])
    shape_sids = list(sid[sample[order]])
    st = audit.samples
    manifest = pd.DataFrame({
        "sample_id": sid,
        "well": plan["well"].to_numpy(),
        "class": plan["class"].fillna("").astype(str).to_numpy(),
        "region": plan["region"].fillna("").astype(str).to_numpy(),
        "replicate": plan["replicate"].fillna(1).astype(int).to_numpy(),
        "n_cells": [len(c) for c in audit.cut_ids],
        "area_um2": (st["cell_area_px2"].to_numpy() * px * px).round(2),
        "cut_area_um2": (st["cut_area_px2"].to_numpy() * px * px).round(2),
        "purity": st["purity"].to_numpy().round(3),
        "n_shapes": n_shapes,
        "n_planned": st["n_planned"].to_numpy(),
        "n_partial": st["n_partial"].to_numpy(),
        "n_lost": st["n_lost"].to_numpy(),
        "cell_ids": [";".join(map(str, c)) for c in audit.cut_ids],
    })[MANIFEST_COLUMNS]
    pmap = plate_map(dict(zip(sid, plan["well"], strict=True)), collector)
    out_dir = Path(out_dir)
    suffix = ".xml" if opt.fmt == "leica" else ".txt"
    with atomic_dir(out_dir) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; the LMD operator may be another user
        if opt.fmt == "leica":
            write_leica_xml(tmp / f"{opt.name}{suffix}", calibration.marks_xml(), pts,
                            shape_wells)
        else:
            write_palm(tmp / f"{opt.name}{suffix}", calibration.stage_um,
                       [p / PALM_GRID_PER_UM for p in pts], shape_wells, shape_sids)
        write_csv(manifest, tmp / "manifest.csv")
        write_csv(loss[LOST_COLUMNS], tmp / LOST_NAME)
        write_csv(pmap, tmp / PLATE_MAP_NAME, index=pmap.index.name == "row")
        if detections is not None:
            cols = [c for c in ("cell_id", "qupath_id", "class", "name", "centroid_row",
                                "centroid_col", "n_pixels") if c in detections]
            write_csv(detections[cols], tmp / "detections.csv")
        yield 5, total, "files written"
        qc = None
        if opt.qc_png:
            from .qc import draw_qc

            qc = tmp / f"{opt.name}_qc.png"
            draw_qc(qc, labels, geoms, shape_wells, calibration.marks_rc, image=image,
                    samples=shape_sids)
        settings = {
            "format": opt.fmt, "options": asdict(opt),
            "pixel_size_um": px, "scale": calibration.scale,
            "image_shape": [int(h), int(w)],
            "calibration_marks_rc": calibration.marks_rc.tolist(),
            "calibration_xml": calibration.marks_xml().tolist(),
            "transform": ("X = col * pixel_size_um * scale, Y = -row * pixel_size_um * scale"
                          if opt.fmt == "leica" else
                          "stage µm = affine map through the three marks (stage_registration)"),
            "pixel_convention": "pixel centres at integer (row, col), as in napari",
            "stage_registration": stage_info,
            "calibration_stage_um": (None if calibration.stage_um is None
                                     else calibration.stage_um.tolist()),
            "collector": collector.name,
            "n_samples": len(plan), "n_shapes": len(geoms), "n_cells": int(manifest[
                "n_cells"].sum()), "n_planned_cells": int(manifest["n_planned"].sum()),
            "n_shapes_outside_calibration_triangle": int(outside.sum()),
            "path_before_um": before, "path_after_um": after,
            "conflicts": conflicts.to_dict("records"),
            "samples_over_loss_limit": over.to_dict("records"),
            "contamination": [
                {"sample_id": s, "unselected_cell_area_um2": round(float(a) * px * px, 2),
                 "unselected_cells_entered": int(e)}
                for s, a, e in zip(sid, st["foreign_area_px2"], st["n_foreign_entered"],
                                   strict=True)],
            "lost_cells": [int(c) for c in not_cut[:1000]],
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
        before, after, conflicts, not_cut, warnings, loss, audit, pmap, over,
    )


def export_lmd(
    labels: np.ndarray,
    plan: pd.DataFrame,
    calibration: Calibration,
    out_dir: str | os.PathLike[str],
    options: ExportOptions | None = None,
    cells: pd.DataFrame | None = None,
    image: np.ndarray | None = None,
    detections: pd.DataFrame | None = None,
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
        :class:`~napari_dvp.core.lmd.calibration.Calibration` (marks, pixel
        size, scale; stage positions of the marks for PALM).
    out_dir
        Folder to create (replaced atomically if it exists).
    options
        :class:`ExportOptions`.
    cells
        Cell table (not needed for the shapes; kept for callers that have it).
    image
        Optional image for the QC picture background ((Y, X), (C, Y, X) or (Y, X, 3)).
    detections
        When the cells are QuPath detections (:func:`~.qupath.detections_to_labels`):
        their table, written as ``detections.csv`` so cell ids lead back to QuPath objects.

    Raises
    ------
    LmdLossError
        A sample would lose more than ``options.max_loss`` of its planned cells
        (and ``accept_loss`` is off); ``.samples`` and ``.cells`` say which.
    DvpInputError
        Empty plan, unknown cells, bad calibration, more samples than wells,
        region off the image, a sample left without shapes, a sample id with a
        control character. Nothing is written.
    """
    gen = export_lmd_steps(labels, plan, calibration, out_dir, options, cells, image, detections)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value
    except GeneratorExit as exc:  # pragma: no cover
        raise DvpCancelled("export cancelled") from exc
