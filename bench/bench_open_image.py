"""Benchmark: open a big pyramidal OME-TIFF in napari, napari-dvp vs napari's built-in reader.

Creates (or reuses) a 20k x 20k x 5-channel uint16 pyramidal OME-TIFF, then in a
fresh subprocess per reader measures the time from "open this file" to the first
rendered frame (reader + layers added to a napari viewer + ``viewer.screenshot``)
and the peak resident memory. Without a viewer (``--no-viewer``) the first frame
is "contrast limits from the smallest level + one 1024² tile of every channel".

Run (2-3 minutes the first time, while the file is written)::

    xvfb-run -a .venv/bin/python bench/bench_open_image.py [--size 20000] [--skip-builtin]

Figures go to ``bench/results/open_image.json``. Targets: < 2 s, < 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHANNELS = ["DAPI", "panCK", "CD8", "CD163", "pSTAT1"]


def make_file(path: Path, size: int) -> Path:
    """A pyramidal OME-TIFF from a cheap dask array (a 1024² synthetic tile, repeated)."""
    import dask.array as da
    import numpy as np

    from napari_dvp.core.slide import write_ome_tiff

    try:
        from napari_dvp.core.synthetic import make_sample

        tile = make_sample(size=1024, seed=0).image
    except ImportError:  # the synthetic sample is optional here
        rng = np.random.default_rng(0)
        tile = rng.integers(0, 4000, (5, 1024, 1024)).astype(np.uint16)
    reps = -(-size // 1024)
    big = da.tile(da.from_array(tile, chunks=(5, 1024, 1024)), (1, reps, reps))
    big = big[:, :size, :size]
    t0 = time.perf_counter()
    write_ome_tiff(path, big, CHANNELS, pixel_size_um=0.5, tile=512)
    print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s")
    return path


def peak_rss() -> int:
    """Peak resident memory of this process in bytes (VmHWM: reset by exec, unlike
    ``getrusage``, which a child inherits from its parent on Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def write_child(path: str, size: int) -> dict:
    """Runs in a fresh process: write the test file; time and peak memory."""
    t0 = time.perf_counter()
    make_file(Path(path), size)
    return {"writer": "write_ome_tiff (dask source)", "size": size,
            "write_s": round(time.perf_counter() - t0, 1),
            "peak_rss_gb": round(peak_rss() / 1e9, 3),
            "raw_gb": round(5 * size * size * 2 / 1e9, 2)}


def child(reader: str, path: str, viewer: bool) -> dict:
    """Runs in a fresh process: open ``path`` with ``reader``; time and memory to first frame."""
    import numpy as np

    v = None
    if viewer:
        import napari

        v = napari.Viewer(show=True)
        v.window._qt_window.resize(1200, 800)
    base_rss = peak_rss()
    t0 = time.perf_counter()
    if reader == "napari-dvp":
        from napari_dvp._reader import get_reader
    else:
        from napari_builtins.io import napari_get_reader as get_reader
    t_import = time.perf_counter() - t0
    layers = get_reader(path)(path)
    t_read = time.perf_counter() - t0
    t_add = t_read
    if v is not None:
        for layer in layers:
            data, kwargs, kind = (*layer, None, None)[:3]
            getattr(v, f"add_{kind or 'image'}")(data, **(kwargs or {}))
        t_add = time.perf_counter() - t0
        v.reset_view()
        frame = v.screenshot(canvas_only=True)
        assert frame.size
    else:
        for layer in layers:
            data = layer[0]
            level0 = data[0] if isinstance(data, list) else data
            np.asarray(level0[..., :1024, :1024])
    t_frame = time.perf_counter() - t0
    peak = peak_rss()
    return {"reader": reader, "n_layers": len(layers), "import_s": round(t_import, 3),
            "read_s": round(t_read, 3), "layers_added_s": round(t_add, 3),
            "first_frame_s": round(t_frame, 3), "peak_rss_gb": round(peak / 1e9, 3),
            "rss_increase_gb": round((peak - base_rss) / 1e9, 3), "viewer": viewer,
            "load_average": round(os.getloadavg()[0], 1)}


def run_child(reader: str, path: Path, viewer: bool, size: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", reader, "--file", str(path), "--size", str(size)]
    if not viewer:
        cmd.append("--no-viewer")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        raise SystemExit(f"{reader} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=20000, help="side of the test image in pixels")
    ap.add_argument("--file", type=Path, help="use this OME-TIFF instead of making one")
    ap.add_argument("--skip-builtin", action="store_true", help="do not run napari's reader")
    ap.add_argument("--no-viewer", action="store_true", help="do not render in napari")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "write":
        print(json.dumps(write_child(str(args.file), args.size)))
        return
    if args.child:
        print(json.dumps(child(args.child, str(args.file), not args.no_viewer)))
        return
    if not args.no_viewer:
        from napari_dvp._xvfb import ensure_display

        ensure_display()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = args.file
    if path is None:
        shared = Path(f"/tmp/s{args.size // 1000}k.ome.tif")
        path = shared if shared.exists() else RESULTS / f"bench_{args.size}.ome.tif"
    write = None
    if not path.exists():
        write = run_child("write", path, False, size=args.size)
    readers = ["napari-dvp"] + ([] if args.skip_builtin else ["napari builtin"])
    rows = [run_child(r, path, not args.no_viewer) for r in readers]
    print(f"\n{path.name}: {path.stat().st_size / 1e9:.2f} GB on disk")
    print("seconds are cumulative from 'open this file' (import of the reader included)")
    print(f"{'reader':<16}{'layers':>7}{'import':>8}{'read':>8}{'added':>8}{'1st frame':>11}"
          f"{'peak RSS GB':>13}{'RSS +GB':>9}{'load':>6}")
    for r in rows:
        print(f"{r['reader']:<16}{r['n_layers']:>7}{r['import_s']:>8.2f}{r['read_s']:>8.2f}"
              f"{r['layers_added_s']:>8.2f}{r['first_frame_s']:>11.2f}{r['peak_rss_gb']:>13.2f}"
              f"{r['rss_increase_gb']:>9.2f}{r['load_average']:>6.1f}")
    result = {"file": str(path), "file_gb": round(path.stat().st_size / 1e9, 3),
              "machine": f"{platform.machine()} {os.cpu_count()} cpu", "runs": rows,
              "targets": {"first_frame_s": 2.0, "peak_rss_gb": 1.0}, "write": write}
    if write:
        print(f"writing it: {write['write_s']} s, peak RSS {write['peak_rss_gb']} GB "
              f"for {write['raw_gb']} GB of pixels")
    if len(rows) == 2:
        ratio_t = rows[1]["first_frame_s"] / max(rows[0]["first_frame_s"], 1e-9)
        ratio_m = rows[1]["peak_rss_gb"] / max(rows[0]["peak_rss_gb"], 1e-9)
        result["builtin_over_ours"] = {"time": round(ratio_t, 1), "peak_rss": round(ratio_m, 1)}
        print(f"napari builtin / napari-dvp: {ratio_t:.1f}x time, {ratio_m:.1f}x peak memory")
    out = RESULTS / "open_image.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
