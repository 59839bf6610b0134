"""Benchmark: LMD export of the same cells through py-lmd and through napari-dvp.

Same labels, same selection (one well), comparable settings: dilation by ~1 px,
smoothing, simplification, merging of touching shapes, path optimisation.
py-lmd runs on ``--n-pylmd`` cells (it manages ~30 cells/s), ours on the same
cells and then on ``--n-ours`` cells. Prints cells/s of both and the ratio;
writes bench/results/lmd_export.json.

    .venv/bin/python bench/bench_lmd_export.py [--n-pylmd 600] [--n-ours 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from skimage.draw import disk

from napari_dvp.core.lmd import Calibration, ExportOptions, export_lmd, plan_from_table


def make_labels(n_cells: int, spacing: int = 14, seed: int = 0) -> np.ndarray:
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


def run_ours(labels, ids, wells_per, out, qc=False):
    n_samples = max(1, len(ids) // wells_per)
    # neighbouring cells share a sample (blocks of rows), as in a real plan
    table = pd.DataFrame({"cell_id": ids, "sample": np.arange(len(ids)) * n_samples // len(ids)})
    h, w = labels.shape
    cal = Calibration(np.array([[0, 0], [0, w - 1], [h - 1, w // 2]]), 0.5)
    t0 = time.perf_counter()
    plan = plan_from_table(table)
    res = export_lmd(labels, plan, cal, out,
                     ExportOptions(dilate_um=0.5, smooth_um=0.5, simplify_um=0.3, qc_png=qc,
                                   plate="384"))
    return time.perf_counter() - t0, res


def run_pylmd(labels, ids):
    from lmd.lib import SegmentationLoader

    h, w = labels.shape
    cal = np.array([[0, 0], [0, w - 1], [h - 1, w // 2]])
    config = {"orientation_transform": np.array([[0, -1], [1, 0]]), "shape_dilation": 1,
              "binary_smoothing": 3, "convolution_smoothing": 15, "rdp_epsilon": 0.1,
              "path_optimization": "hilbert", "join_intersecting": True, "threads": 1}
    loader = SegmentationLoader(config=config, processes=1)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        coll = loader(labels, [{"classes": ids.tolist(), "well": "A1"}], cal)
    return time.perf_counter() - t0, len(coll.shapes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-pylmd", type=int, default=600)
    ap.add_argument("--n-ours", type=int, default=100_000)
    ap.add_argument("--out", default="bench/results/lmd_export.json")
    a = ap.parse_args()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        small = make_labels(a.n_pylmd)
        ids = np.arange(1, a.n_pylmd + 1)
        t_py, n_py = run_pylmd(small, ids)
        t_ours_small, res_small = run_ours(small, ids, a.n_pylmd, Path(tmp) / "small")
        py_rate = a.n_pylmd / t_py
        ours_rate_small = a.n_pylmd / t_ours_small
        print(f"py-lmd SegmentationLoader: {a.n_pylmd} cells in {t_py:.1f} s = "
              f"{py_rate:.1f} cells/s ({n_py} shapes)")
        print(f"napari-dvp export_lmd:     {a.n_pylmd} cells in {t_ours_small:.2f} s = "
              f"{ours_rate_small:.0f} cells/s ({res_small.n_shapes} shapes)")
        big = make_labels(a.n_ours)
        ids_big = np.arange(1, a.n_ours + 1)
        t_big, res_big = run_ours(big, ids_big, 1000, Path(tmp) / "big")
        t_big_qc, _ = run_ours(big, ids_big, 1000, Path(tmp) / "bigqc", qc=True)
        big_rate = a.n_ours / t_big
        print(f"napari-dvp export_lmd:     {a.n_ours} cells ({len(res_big.manifest)} wells) in "
              f"{t_big:.1f} s = {big_rate:.0f} cells/s; with QC picture {t_big_qc:.1f} s")
        print(f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(other jobs slow both tools alike)")
        print(f"speed-up vs py-lmd: {ours_rate_small / py_rate:.0f}x on the same "
              f"{a.n_pylmd} cells, {big_rate / py_rate:.0f}x at {a.n_ours} cells")
        result = {
            "pylmd": {"cells": a.n_pylmd, "seconds": t_py, "cells_per_s": py_rate,
                      "shapes": n_py},
            "ours_same_cells": {"cells": a.n_pylmd, "seconds": t_ours_small,
                                "cells_per_s": ours_rate_small, "shapes": res_small.n_shapes},
            "ours_large": {"cells": a.n_ours, "seconds": t_big, "seconds_with_qc_png": t_big_qc,
                           "cells_per_s": big_rate, "shapes": res_big.n_shapes,
                           "wells": len(res_big.manifest),
                           "path_before_um": res_big.path_before_um,
                           "path_after_um": res_big.path_after_um},
            "ratio_same_cells": ours_rate_small / py_rate,
            "load_average_1min_at_end": os.getloadavg()[0],
            "cpu_count": os.cpu_count(),
            "ratio_large": big_rate / py_rate,
        }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
