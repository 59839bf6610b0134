"""Benchmark: the same masks and cell selections through py-lmd and through napari-dvp.

Both tools get the same labels, the same cells in the same wells, a 2-pixel margin and
their path ordering (py-lmd: Hilbert; napari-dvp: nearest neighbour + 2-opt). Both XML
files are read back with py-lmd's reader and judged the same way, on the pixel grid
(a pixel is cut when its centre lies in a shape):

* coverage — selected cells whose every pixel lies in a shape of their own well
  (and, looser, at least 90 % of them);
* purity — pixels of the well's own cells / all pixels cut (pooled over wells, and the
  worst well);
* contamination — unselected cells touched at all, and entered deeper than 0.5 µm;
* wrong well — selected cells with any pixel in another well's shapes;
* stage path — summed distance between shape centres in the order the file lists them;
* speed — wall time of py-lmd's ``SegmentationLoader`` vs ``export_lmd`` (files written,
  no QC picture).

Quality masks: the synthetic TEN skin biopsy (``make_sample(2048)``, ~2,900 cells, dense
epidermis) for several seeds: 3 contiguous keratinocyte patches of 250 cells + every CD8
T cell + every macrophage (~1,000 cells, 5 wells); mean and worst over the seeds.
Speed at 100k cells: a 100k-cell mask of disk cells (jittered grid), napari-dvp on all
cells (100 wells); py-lmd on ``--n-pylmd-large`` cells of the *same* mask, its time
extrapolated linearly to 100k (it processes cell by cell: ~30 cells/s).

    .venv/bin/python bench/bench_lmd_export.py [--seeds 0 1 2] [--n-large 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from skimage.draw import disk
from skimage.draw import polygon as draw_polygon
from skimage.segmentation import find_boundaries

from napari_dvp.core.lmd import (
    Calibration,
    ExportOptions,
    PlanOptions,
    export_lmd,
    plan_from_table,
    plan_samples,
)
from napari_dvp.core.lmd.plan import combine_plans

PX = 0.5  # µm per pixel
MARGIN_PX = 2


# --------------------------------------------------------------------------- masks, plans
def make_disk_labels(n_cells: int, spacing: int = 14, seed: int = 0) -> np.ndarray:
    """Disk cells (radius 4-6 px) on a jittered square grid holding ``n_cells``."""
    side = int(np.ceil(np.sqrt(n_cells)))
    size = side * spacing + 20
    rng = np.random.default_rng(seed)
    labels = np.zeros((size, size), np.uint32)
    k = 0
    for r in range(side):
        for c in range(side):
            if k == n_cells:
                break
            k += 1
            rr, cc = disk((12 + r * spacing + rng.integers(-2, 3),
                           12 + c * spacing + rng.integers(-2, 3)),
                          int(rng.integers(4, 7)), shape=labels.shape)
            labels[rr, cc] = k
    return labels


def skin_case(seed: int):
    """Synthetic skin, ~1,000 selected cells in 5 wells: (labels, {well: cell ids})."""
    from napari_dvp.core.synthetic import make_sample

    s = make_sample(2048, seed=seed)
    labels = np.asarray(s.labels)
    cells = s.cells.rename(columns={"true_class": "class", "true_region": "region"})
    cells = cells.assign(**{"class": cells["class"].astype(str),
                            "region": cells["region"].astype(str)})
    counts = np.bincount(labels.ravel(), minlength=int(cells["cell_id"].max()) + 1)
    cells = cells.assign(area_um2=counts[cells["cell_id"]] * PX * PX)
    ker = plan_samples(cells, [("keratinocyte", "epidermis")],
                       PlanOptions(target_cells=250, replicates=3, mode="contiguous",
                                   seed=seed), prefix="KER")
    imm = plan_samples(cells, [("CD8 T cell", "*"), ("macrophage", "*")],
                       PlanOptions(target_cells=10_000, replicates=1), prefix="IMM")
    plan = combine_plans(ker, imm)
    wells = ["A1", "A3", "A5", "A7", "A9"]
    return labels, {w: np.asarray(ids) for w, ids in zip(wells, plan["cell_ids"], strict=True)}


def _marks(labels):
    h, w = labels.shape
    return np.array([[0, 0], [0, w - 1], [h - 1, w // 2]], float)


# --------------------------------------------------------------------------- the two tools
def run_pylmd(labels, sets: dict[str, np.ndarray], out_xml: Path) -> float:
    from lmd.lib import SegmentationLoader

    config = {"orientation_transform": np.array([[0, -1], [1, 0]]), "shape_dilation": MARGIN_PX,
              "path_optimization": "hilbert", "threads": 1}
    loader = SegmentationLoader(config=config, processes=1)
    cell_sets = [{"classes": ids.tolist(), "well": w} for w, ids in sets.items()]
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coll = loader(labels, cell_sets, _marks(labels))
    dt = time.perf_counter() - t0
    with contextlib.redirect_stdout(io.StringIO()):
        coll.save(str(out_xml))
    return dt


def run_ours(labels, sets: dict[str, np.ndarray], out_dir: Path, plate: str = "384"):
    sid = np.concatenate([[w] * len(ids) for w, ids in sets.items()])
    table = pd.DataFrame({"cell_id": np.concatenate(list(sets.values())), "sample": sid,
                          "well": sid})
    t0 = time.perf_counter()
    res = export_lmd(labels, plan_from_table(table), Calibration(_marks(labels), PX), out_dir,
                     ExportOptions(dilate_um=MARGIN_PX * PX, qc_png=False, plate=plate,
                                   accept_loss=True))
    return time.perf_counter() - t0, res


# --------------------------------------------------------------------------- the same judge
def read_xml(path: Path, unit_px: float):
    """Shapes of an LMD XML (py-lmd's reader) in pixels (x=col, y=row) and their wells."""
    from lmd.lib import Collection

    coll = Collection()
    with contextlib.redirect_stdout(io.StringIO()):
        coll.load(str(path))
    shapes = [np.asarray(s.points, float) / 100.0 / unit_px * np.array([1, -1])
              for s in coll.shapes]
    return shapes, [s.well for s in coll.shapes]


def judge(labels, sets: dict[str, np.ndarray], shapes, wells, depth_px) -> dict:
    """Coverage, purity, contamination, wrong well and path on the pixel grid."""
    h, w = labels.shape
    names = list(sets)
    n_w = len(names)
    own_well = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
    for k, ids in enumerate(sets.values()):
        own_well[ids] = k
    per_well_cut = np.zeros(n_w)
    per_well_own = np.zeros(n_w)
    in_own = np.zeros(own_well.size)
    in_other = np.zeros(own_well.size)
    well_px = {}
    for pts, wl in zip(shapes, wells, strict=True):
        rr, cc = draw_polygon(pts[:, 1], pts[:, 0], (h, w))
        well_px.setdefault(wl, []).append(rr * w + cc)
    foreign_any = np.zeros(own_well.size, dtype=bool)
    foreign_deep = np.zeros(own_well.size, dtype=bool)
    lab = labels.ravel()
    deep = depth_px.ravel()
    for k, name in enumerate(names):
        flat = np.unique(np.concatenate(well_px.get(name, [np.empty(0, np.int64)])))
        lv = lab[flat]
        per_well_cut[k] = flat.size
        per_well_own[k] = (own_well[lv] == k).sum()
        np.add.at(in_own, lv[own_well[lv] == k], 1)
        other = (own_well[lv] >= 0) & (own_well[lv] != k)
        np.add.at(in_other, lv[other], 1)
        unsel = (lv > 0) & (own_well[lv] < 0)
        foreign_any[lv[unsel]] = True
        foreign_deep[lv[unsel & (deep[flat] > 0.5 / PX + 1e-9)]] = True
    size = np.bincount(lab, minlength=own_well.size)
    sel = np.flatnonzero(own_well >= 0)
    share = in_own[sel] / size[sel]
    purity_w = per_well_own / np.maximum(per_well_cut, 1)
    # stage path: shape centres in file order, per well, µm
    path = 0.0
    for name in names:
        cen = np.array([p.mean(0) for p, wl in zip(shapes, wells, strict=True) if wl == name])
        if len(cen) > 1:
            path += float(np.linalg.norm(np.diff(cen, axis=0), axis=1).sum()) * PX
    unselected_near = int(((size > 0) & (own_well < 0)).sum())
    return {"cells": int(sel.size), "shapes": len(shapes),
            "coverage_full": float((share >= 1.0).mean()),
            "coverage_90": float((share >= 0.9).mean()),
            "purity": float(per_well_own.sum() / max(per_well_cut.sum(), 1)),
            "purity_worst_well": float(purity_w.min()),
            "unselected_touched": int(foreign_any.sum()),
            "unselected_entered_over_0.5um": int(foreign_deep.sum()),
            "unselected_cells": unselected_near,
            "selected_in_wrong_well": int((in_other[sel] > 0).sum()),
            "path_mm": path / 1000.0}


def depth_map(labels) -> np.ndarray:
    """Distance (px) from each cell pixel's centre to its cell's edge."""
    inner = find_boundaries(labels, mode="inner") | (labels == 0)
    return ndi.distance_transform_edt(~inner) + 0.5


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--n-large", type=int, default=100_000)
    ap.add_argument("--n-pylmd-large", type=int, default=2_000)
    ap.add_argument("--out", default="bench/results/lmd_export.json")
    ap.add_argument("--reuse-pylmd", default=None, metavar="JSON",
                    help="take py-lmd's figures from an earlier run's results (its output does "
                         "not depend on napari-dvp; it takes ~30 min on a busy 2-core machine)")
    a = ap.parse_args()
    old = json.loads(Path(a.reuse_pylmd).read_text()) if a.reuse_pylmd else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for seed in a.seeds:
            labels, sets = skin_case(seed)
            depth = depth_map(labels)
            runs = []
            if old is None:
                t_py = run_pylmd(labels, sets, tmp / f"py{seed}.xml")
                runs.append(("py-lmd", tmp / f"py{seed}.xml", 1.0, t_py))
            else:
                rows.append(next(r for r in old["per_seed"]
                                 if r["tool"] == "py-lmd" and r["seed"] == seed))
            t_ours, res = run_ours(labels, sets, tmp / f"ours{seed}")
            runs.append(("napari-dvp", res.shapes_path, PX, t_ours))
            for tool, xml, unit, t in runs:
                shapes, wells = read_xml(xml, unit)
                r = judge(labels, sets, shapes, wells, depth)
                r.update(tool=tool, seed=seed, seconds=t, cells_per_s=r["cells"] / t)
                rows.append(r)
            for r in rows[-2:]:
                print(f"seed {seed} {r['tool']:>10}: {r['cells']} cells {r['shapes']} shapes, "
                      f"coverage {r['coverage_full']:.3f} (>=90 %: {r['coverage_90']:.3f}), "
                      f"purity {r['purity']:.3f} (worst well {r['purity_worst_well']:.3f}), "
                      f"unselected touched {r['unselected_touched']}, entered >0.5 µm "
                      f"{r['unselected_entered_over_0.5um']}, wrong well "
                      f"{r['selected_in_wrong_well']}, path {r['path_mm']:.1f} mm, "
                      f"{r['seconds']:.2f} s", flush=True)
        df = pd.DataFrame(rows)
        print("\nmean (worst) over seeds " + ", ".join(map(str, a.seeds)) + ":")
        summary = {}
        for tool, g in df.groupby("tool", sort=False):
            s = {"coverage_full": (g.coverage_full.mean(), g.coverage_full.min()),
                 "coverage_90": (g.coverage_90.mean(), g.coverage_90.min()),
                 "purity": (g.purity.mean(), g.purity.min()),
                 "purity_worst_well": (g.purity_worst_well.mean(), g.purity_worst_well.min()),
                 "unselected_entered_over_0.5um": (g["unselected_entered_over_0.5um"].mean(),
                                                   g["unselected_entered_over_0.5um"].max()),
                 "unselected_touched": (g.unselected_touched.mean(), g.unselected_touched.max()),
                 "selected_in_wrong_well": (g.selected_in_wrong_well.mean(),
                                            g.selected_in_wrong_well.max()),
                 "path_mm": (g.path_mm.mean(), g.path_mm.max()),
                 "cells_per_s": (g.cells_per_s.mean(), g.cells_per_s.min())}
            summary[tool] = s
            print(f"  {tool:>10}: " + "; ".join(f"{k} {v[0]:.3g} ({v[1]:.3g})"
                                                for k, v in s.items()))
        speed_1k = (df[df.tool == "napari-dvp"].cells_per_s.to_numpy()
                    / df[df.tool == "py-lmd"].cells_per_s.to_numpy())
        print(f"  speed ratio at ~1k cells: {speed_1k.mean():.0f}x (min {speed_1k.min():.0f}x)")

        # 100k cells --------------------------------------------------------------------------
        big = make_disk_labels(a.n_large)
        ids = np.arange(1, a.n_large + 1)
        n_wells = 100
        blocks = np.array_split(ids, n_wells)  # neighbouring cells share a well
        from napari_dvp.core.lmd.collectors import plate_wells

        well_names = plate_wells("384")[0][:n_wells]
        sets_big = dict(zip(well_names, blocks, strict=True))
        t_big, res_big = run_ours(big, sets_big, tmp / "big")
        sub = dict(zip(well_names[:4], np.array_split(ids[:a.n_pylmd_large], 4), strict=True))
        t_sub = (run_pylmd(big, sub, tmp / "big_py.xml") if old is None
                 else old["large"]["pylmd_s"])
        py_rate = a.n_pylmd_large / t_sub
        py_extrapolated = a.n_large / py_rate
        shapes, wells = read_xml(res_big.shapes_path, PX)
        rb = judge(big, sets_big, shapes, wells, depth_map(big))
        print(f"\n{a.n_large} cells, {n_wells} wells: napari-dvp {t_big:.1f} s "
              f"({a.n_large / t_big:,.0f} cells/s); py-lmd {a.n_pylmd_large} cells of the same "
              f"mask in {t_sub:.1f} s ({py_rate:.1f} cells/s) -> {py_extrapolated / 3600:.2f} h "
              f"for all (linear); ratio {py_extrapolated / t_big:.0f}x")
        print(f"  napari-dvp at {a.n_large}: coverage {rb['coverage_full']:.4f}, purity "
              f"{rb['purity']:.3f}, wrong well {rb['selected_in_wrong_well']}, path "
              f"{rb['path_mm']:.0f} mm ({res_big.path_before_um / 1000:.0f} mm in input order)")
        print(f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(other jobs slow both tools alike)")
        result = {"per_seed": rows, "summary_mean_worst": summary,
                  "speed_ratio_1k": speed_1k.tolist(),
                  "large": {"cells": a.n_large, "ours_s": t_big, "pylmd_cells": a.n_pylmd_large,
                            "pylmd_s": t_sub, "pylmd_extrapolated_s": py_extrapolated,
                            "ratio": py_extrapolated / t_big, "ours_quality": rb},
                  "load_average": os.getloadavg()[0], "cpu_count": os.cpu_count(),
                  "pylmd_reused_from": a.reuse_pylmd}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1, default=float))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
