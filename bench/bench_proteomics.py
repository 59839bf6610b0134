"""Benchmark: read a 10,000 proteins x 400 runs DIA-NN matrix; repaint a sample overlay
on ~1M cells.

Targets (issue 6): read < 3 s; repaint < 0.3 s.

* **read**: ``read_proteomics`` of a DIA-NN ``pg_matrix.tsv`` (runs named like raw-file
  paths, ~30 % empty cells): detection + parsing + AnnData. Baseline for the ratio: the
  pandas way (``pd.read_csv`` with the C parser + ``to_numeric`` per run column).
* **overlay**: labels ``size x size`` (default 8192², 8x8-pixel cells -> 1,048,576 cells),
  all cut into 400 samples. Timed:

  - once per labels/manifest: the cell -> sample lookup and the per-pixel sample-index
    image (uint16);
  - **repaint, whole image**: new values per sample written into the existing float32
    buffer (what the widget does when another score or protein is chosen), with
    ``gather`` (row bands on a thread pool), on one thread, and the plain
    ``np.take(table, index, out=buf)`` it replaces (baseline of the ratio);
  - **repaint, on screen**: only a 1920x1080 and a 2048² window (what napari shows;
    dask labels stay lazy and compute only the visible chunks);
  - with ``--napari``: the same repaint through a napari Image layer
    (``ViewerModel``, no GPU): paint into ``layer.data`` + ``layer.refresh()``.

Every figure is the median of ``--repeat`` runs (min in brackets): the machine may be
shared, so run it on a quiet one for the record.

Run: ``.venv/bin/python bench/bench_proteomics.py [--size 8192] [--repeat 5] [--napari]``.
Writes ``bench/results/proteomics.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from napari_dvp.core.overlay.proteins import SampleOverlay, gather
from napari_dvp.core.proteomics.readers import read_proteomics

READ_TARGET_S, REPAINT_TARGET_S = 3.0, 0.3


def _timed(fn, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times),
            "runs_s": [round(t, 4) for t in times]}


def _fmt(r: dict) -> str:
    return f"{r['median_s']:7.3f} s  (min {r['min_s']:.3f})"


def write_matrix(n_proteins: int, n_runs: int, folder: Path) -> Path:
    rng = np.random.default_rng(0)
    vals = np.exp2(rng.normal(20, 2, (n_proteins, n_runs)))
    vals[rng.random(vals.shape) < 0.3] = np.nan
    ids = [f"P{i:05d}" for i in range(n_proteins)]
    df = pd.DataFrame({"Protein.Group": ids, "Protein.Ids": ids,
                       "Protein.Names": [f"G{i}_HUMAN" for i in range(n_proteins)],
                       "Genes": [f"G{i}" for i in range(n_proteins)],
                       "First.Protein.Description": "benchmark protein"})
    runs = [f"D:\\DVP\\2024\\plate1\\TEN_run_{i:03d}.d" for i in range(n_runs)]
    df = pd.concat([df, pd.DataFrame(vals, columns=runs)], axis=1)
    path = folder / "bench.pg_matrix.tsv"
    df.to_csv(path, sep="\t", index=False, na_rep="", float_format="%.6g")
    return path


def _pandas_way(path: Path) -> np.ndarray:
    df = pd.read_csv(path, sep="\t", low_memory=False)
    runs = df.columns[5:]
    return np.column_stack([pd.to_numeric(df[c], errors="coerce").to_numpy(float)
                            for c in runs])


def bench_read(n_proteins: int, n_runs: int, folder: Path, repeat: int) -> dict:
    path = write_matrix(n_proteins, n_runs, folder)
    a = read_proteomics(path)  # warm the page cache and imports
    assert a.shape == (n_runs, n_proteins)
    ours = _timed(lambda: read_proteomics(path), repeat)
    base = _timed(lambda: _pandas_way(path), repeat)
    return {"proteins": n_proteins, "runs": n_runs, "file_mb": path.stat().st_size / 1e6,
            "read_proteomics": ours, "pandas_read_csv_to_numeric": base,
            "speedup_vs_pandas": base["median_s"] / ours["median_s"]}


def _overlay_inputs(size: int, cell: int, n_samples: int):
    per_row = size // cell
    labels = (np.arange(size)[:, None] // cell * per_row
              + np.arange(size)[None, :] // cell + 1).astype(np.uint32)
    n_cells = per_row * per_row
    rng = np.random.default_rng(1)
    groups = np.array_split(rng.permutation(np.arange(1, n_cells + 1)), n_samples)
    samples = [f"S{i:03d}" for i in range(n_samples)]
    manifest = pd.DataFrame({"sample_id": samples, "well": "", "class": "keratinocyte",
                             "region": "epidermis",
                             "cell_ids": [";".join(map(str, g)) for g in groups]})
    return labels, manifest, groups, samples, n_cells


def bench_overlay(size: int, cell: int, n_samples: int, repeat: int,
                  with_napari: bool) -> dict:
    labels, manifest, groups, samples, n_cells = _overlay_inputs(size, cell, n_samples)
    rng = np.random.default_rng(2)
    t0 = time.perf_counter()
    ov = SampleOverlay(labels, manifest, max_id=n_cells)
    t_lut = time.perf_counter() - t0
    t0 = time.perf_counter()
    idx = ov.index_image
    t_index = time.perf_counter() - t0
    values = [pd.Series(rng.normal(size=n_samples), index=samples) for _ in range(4)]
    tables = [ov.sample_table(v) for v in values]
    buf = ov.paint(values[0])
    k = iter(range(10**9))
    res = {"labels_shape": [size, size], "cells": n_cells, "samples": n_samples,
           "pixels": size * size, "cpus": len(os.sched_getaffinity(0)),
           "build_cell_lut_s": t_lut, "build_index_image_s": t_index}
    res["repaint_whole_gather"] = _timed(
        lambda: ov.paint(values[next(k) % 4], out=buf), repeat)
    check = labels == groups[5][0]
    assert np.allclose(buf[check], ov.sample_table(values[(next(k) - 1) % 4])[5])
    res["repaint_whole_gather_1_thread"] = _timed(
        lambda: gather(tables[next(k) % 4], idx, out=buf, threads=1), repeat)
    res["repaint_whole_plain_take"] = _timed(
        lambda: np.take(tables[next(k) % 4], idx, out=buf, mode="clip"), repeat)
    for name, (h, w) in {"repaint_screen_1920x1080": (1080, 1920),
                         "repaint_screen_2048x2048": (2048, 2048)}.items():
        h, w = min(h, size), min(w, size)
        win = np.empty((h, w), np.float32)
        res[name] = _timed(lambda h=h, w=w, win=win: gather(
            tables[next(k) % 4], idx[:h, :w], out=win), repeat)
    res["speedup_whole_vs_plain_take"] = (res["repaint_whole_plain_take"]["median_s"]
                                          / res["repaint_whole_gather"]["median_s"])
    if with_napari:
        from napari.components import ViewerModel

        viewer = ViewerModel()
        layer = viewer.add_image(buf, colormap="RdBu_r", contrast_limits=(-3, 3))

        def repaint_layer() -> None:
            ov.paint(values[next(k) % 4], out=layer.data)
            layer.refresh()

        res["repaint_napari_layer_refresh"] = _timed(repaint_layer, repeat)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--cell", type=int, default=8)
    ap.add_argument("--proteins", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--napari", action="store_true",
                    help="also time the repaint through a napari Image layer (no GPU)")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.platform()}, {len(os.sched_getaffinity(0))} CPUs, "
          f"load average {load:.1f}; medians of {args.repeat} runs (min)")
    with tempfile.TemporaryDirectory() as tmp:
        read = bench_read(args.proteins, args.runs, Path(tmp), args.repeat)
    r = read["read_proteomics"]
    print(f"\nread {read['proteins']:,} proteins x {read['runs']} runs "
          f"({read['file_mb']:.0f} MB DIA-NN pg_matrix)")
    print(f"  read_proteomics            {_fmt(r)}   target < {READ_TARGET_S} s: "
          f"{'PASS' if r['median_s'] < READ_TARGET_S else 'FAIL'}")
    print(f"  pandas read_csv+to_numeric {_fmt(read['pandas_read_csv_to_numeric'])}   "
          f"ours is {read['speedup_vs_pandas']:.1f}x faster")
    ovl = bench_overlay(args.size, args.cell, 400, args.repeat, args.napari)
    print(f"\noverlay on {ovl['cells']:,} cells ({args.size}² = {ovl['pixels'] / 1e6:.0f} M px, "
          f"400 samples)")
    print(f"  once: cell->sample lookup {ovl['build_cell_lut_s']:.3f} s, "
          f"sample-index image {ovl['build_index_image_s']:.3f} s")
    rows = [("repaint whole image (gather)", "repaint_whole_gather"),
            ("  same, 1 thread", "repaint_whole_gather_1_thread"),
            ("  plain np.take (before)", "repaint_whole_plain_take"),
            ("repaint on screen 1920x1080", "repaint_screen_1920x1080"),
            ("repaint on screen 2048x2048", "repaint_screen_2048x2048"),
            ("napari layer: paint+refresh", "repaint_napari_layer_refresh")]
    for text, key in rows:
        if key in ovl:
            ok = ovl[key]["median_s"] < REPAINT_TARGET_S
            print(f"  {text:<30}{_fmt(ovl[key])}   target < {REPAINT_TARGET_S} s: "
                  f"{'PASS' if ok else 'FAIL'}")
    print(f"  whole-image repaint is {ovl['speedup_whole_vs_plain_take']:.1f}x faster "
          "than plain np.take")
    out = Path(__file__).parent / "results" / "proteomics.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"read": read, "overlay": ovl, "machine": platform.platform(),
                               "load_average": load, "python": platform.python_version(),
                               "repeat": args.repeat}, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
