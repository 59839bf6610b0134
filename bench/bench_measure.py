"""Benchmark: per-cell measurements of ~100k cells, ours vs scikit-image's regionprops_table.

Same labels, same 5 channels, same features in the same run: label, area,
centroid, mean and median intensity per channel, eccentricity, solidity,
perimeter. Ours (:func:`napari_dvp.core.measure.measure_cells`) is vectorised
over all cells; ``regionprops_table`` (the peer) loops over cells in Python.
Both are timed fully once (wall clock and process CPU time: the machine may be
shared), and ours is checked against regionprops on every cell.

Run: ``.venv/bin/python bench/bench_measure.py [--size 6000] [--spacing 19]``.
Writes ``bench/results/measure.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from skimage import measure

from napari_dvp.core.measure import measure_cells

CHANNELS = ["DAPI", "panCK", "CD8", "CD163", "pSTAT1"]
PROPS = ("label", "area", "centroid", "intensity_mean", "intensity_median",
         "eccentricity", "solidity", "perimeter")


def make_labels(size: int, spacing: int, seed: int = 0) -> np.ndarray:
    """Touching polygonal cells: Voronoi of a jittered grid, cut to a radius (gaps between)."""
    rng = np.random.default_rng(seed)
    g = np.arange(spacing // 2, size, spacing)
    r, c = np.meshgrid(g, g, indexing="ij")
    r = np.clip(r + rng.integers(-spacing // 3, spacing // 3 + 1, r.shape), 0, size - 1).ravel()
    c = np.clip(c + rng.integers(-spacing // 3, spacing // 3 + 1, c.shape), 0, size - 1).ravel()
    seeds = np.zeros((size, size), np.uint32)
    seeds[r, c] = np.arange(1, r.size + 1, dtype=np.uint32)
    dist, (ir, ic) = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    labels = seeds[ir, ic]
    labels[dist > 0.55 * spacing] = 0
    return labels


def make_image(labels: np.ndarray, seed: int = 1) -> np.ndarray:
    """5 uint16 channels: a per-cell level (through a lookup table) plus pixel noise."""
    rng = np.random.default_rng(seed)
    n = int(labels.max()) + 1
    out = np.empty((len(CHANNELS), *labels.shape), np.uint16)
    for i in range(len(CHANNELS)):
        level = rng.gamma(2.0, 400.0, n).astype(np.float32)
        level[0] = 50
        noise = rng.normal(0, 80, labels.shape).astype(np.float32)
        out[i] = np.clip(level[labels] + noise, 0, 65535).astype(np.uint16)
    return out


def timed(func, *args, **kwargs):
    w, c = time.perf_counter(), time.process_time()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - w, time.process_time() - c


def compare(ours: pd.DataFrame, rp: pd.DataFrame) -> dict[str, float]:
    """Largest absolute difference per feature over all cells."""
    assert ours["cell_id"].tolist() == rp["label"].tolist()
    pairs = {"area_px": (ours["area_um2"], rp["area"]),
             "centroid_row": (ours["centroid_row"], rp["centroid-0"]),
             "centroid_col": (ours["centroid_col"], rp["centroid-1"]),
             "eccentricity": (ours["eccentricity"], rp["eccentricity"]),
             "solidity": (ours["solidity"], rp["solidity"]),
             "perimeter_px": (ours["perimeter_um"], rp["perimeter"])}
    for i, ch in enumerate(CHANNELS):
        pairs[f"mean_{ch}"] = (ours[f"mean_{ch}"], rp[f"intensity_mean-{i}"])
        pairs[f"median_{ch}"] = (ours[f"median_{ch}"], rp[f"intensity_median-{i}"])
    return {k: float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))
            for k, (a, b) in pairs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=6000, help="image side in pixels")
    ap.add_argument("--spacing", type=int, default=19, help="cell spacing in pixels")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "measure.json")
    args = ap.parse_args()

    labels = make_labels(args.size, args.spacing)
    image = make_image(labels)
    n = int(np.count_nonzero(np.bincount(labels.ravel())[1:]))
    print(f"{n:,} cells on {args.size}×{args.size} px, {len(CHANNELS)} uint16 channels")

    ours, w_ours, c_ours = timed(measure_cells, labels, image, CHANNELS, 1.0)
    print(f"ours (measure_cells):           {w_ours:7.2f} s wall, {c_ours:7.2f} s CPU")
    rp, w_rp, c_rp = timed(measure.regionprops_table, labels, np.moveaxis(image, 0, -1),
                           properties=PROPS)
    rp = pd.DataFrame(rp)
    print(f"peer (skimage regionprops_table): {w_rp:7.2f} s wall, {c_rp:7.2f} s CPU")
    ratio_wall, ratio_cpu = w_rp / w_ours, c_rp / c_ours
    print(f"ratio: {ratio_wall:.1f}× faster (wall), {ratio_cpu:.1f}× faster (CPU time)")
    diffs = compare(ours, rp)
    worst = max(diffs.items(), key=lambda kv: kv[1])
    print(f"agreement with regionprops on all {n:,} cells: largest difference {worst[1]:.2g} "
          f"({worst[0]})")
    result = {
        "cells": n, "size_px": args.size, "channels": len(CHANNELS), "features": list(PROPS),
        "ours_wall_s": round(w_ours, 3), "ours_cpu_s": round(c_ours, 3),
        "regionprops_wall_s": round(w_rp, 3), "regionprops_cpu_s": round(c_rp, 3),
        "speedup_wall": round(ratio_wall, 2), "speedup_cpu": round(ratio_cpu, 2),
        "max_abs_difference": diffs,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_avg_1min": os.getloadavg()[0], "numpy": np.__version__},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
