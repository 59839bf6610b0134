"""Benchmarks of cell segmentation; prints its figures (and writes them with --out).

1. Built-in backend F1@IoU0.5 on the synthetic sample (1024², all channels), with the
   recall per true class (fibroblasts: elongated, marker-less).
2. Tiled vs untiled agreement: fraction of untiled cells matched at IoU >= 0.9
   by the tiled run (256² tiles), duplicates and seam fragments.
3. cellpose CPU seconds per 256² tile with a randomly initialised CPSAM
   (pretrained weights cannot be downloaded here; same network size and code path).
4. Peak memory (max RSS, ``/usr/bin/time -v``) and wall time of
   ``napari-dvp segment`` on a big sample (default /tmp/s20k.ome.tif, 1024² tiles,
   builtin backend), if that file exists (``napari-dvp sample --out ... --size 20000``).
5. Throughput of the built-in backend on that big sample: seconds per megapixel with
   a local dask cluster of 1 and of 2 single-threaded workers, and the speed-up
   (``--throughput``; ``--region-px N`` limits it to the central N x N pixels). The
   machine's load (``os.getloadavg``) is printed with the figures.

Usage: ``python bench/bench_segment.py [--big /tmp/s20k.ome.tif] [--skip-cellpose]
[--throughput [--region-px 8192]]``
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from napari_dvp.core.segmentation import make_backend, run_to_end, segment_tiled
from napari_dvp.core.segmentation.metrics import match_labels
from napari_dvp.core.synthetic import make_sample


def accuracy(lines: list[str]) -> None:
    sample = make_sample(1024, seed=0)
    backend = make_backend("builtin", pixel_size_um=sample.pixel_size_um)
    chans = list(range(sample.image.shape[0]))
    t0 = time.perf_counter()
    full = run_to_end(segment_tiled(sample.image, backend, chans, tile_size=4096))
    t_full = time.perf_counter() - t0
    m = match_labels(full, sample.labels)
    lines.append(f"builtin F1@0.5 (synthetic 1024², all channels): {m.f1:.3f} "
                 f"(precision {m.precision:.3f}, recall {m.recall:.3f}, {m.tp}/{m.tp + m.fn} "
                 f"true cells found, {t_full:.1f} s)")
    found = np.isin(sample.cells["cell_id"].to_numpy(), m.pairs[:, 1])
    per_class = (sample.cells.assign(found=found).groupby("true_class")["found"]
                 .agg(["mean", "size"]))
    lines.append("  recall per class: " + ", ".join(
        f"{c} {r['mean']:.2f} (n={int(r['size'])})" for c, r in per_class.iterrows()))
    m2 = match_labels(run_to_end(segment_tiled(sample.image, backend, [0, 1])), sample.labels)
    lines.append(f"builtin F1@0.5 (DAPI + panCK only): {m2.f1:.3f}")
    t0 = time.perf_counter()
    tiled = run_to_end(segment_tiled(sample.image, backend, chans, tile_size=256))
    t_tiled = time.perf_counter() - t0
    agree = match_labels(tiled, full, iou=0.9)
    ids = np.unique(tiled)[1:]
    seam = np.zeros(tiled.shape, bool)
    seam[:, 255::256] = seam[:, 256::256] = True
    seam[255::256, :] = seam[256::256, :] = True
    on_seam = np.unique(tiled[seam & (tiled > 0)])
    pieces = sum(ndi.label(tiled == i, structure=np.ones((3, 3)))[1] for i in on_seam)
    lines.append(f"tiled (256² tiles, 16 tiles) vs untiled: {agree.tp / int(full.max()):.4f} of "
                 f"{int(full.max())} cells matched at IoU>=0.9 (mean IoU {agree.ious.mean():.3f}); "
                 f"{int(tiled.max())} vs {int(full.max())} cells; ids unique and consecutive: "
                 f"{ids.tolist() == list(range(1, ids.size + 1))}; {on_seam.size} cells on seams "
                 f"in {pieces} connected pieces; {t_tiled:.1f} s vs {t_full:.1f} s")


def cellpose_speed(lines: list[str]) -> None:
    import torch
    from cellpose.vit import CPSAM

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random_cpsam.pth"
        torch.manual_seed(0)
        t0 = time.perf_counter()
        torch.save(CPSAM().state_dict(), path)
        t_build = time.perf_counter() - t0
        sample = make_sample(512, seed=0)
        backend = make_backend("cellpose", model=str(path), gpu=False, pixel_size_um=0.5,
                               diameter_um=12).calibrate(sample.image[:2])
        backend.load()
        times = []
        for r, c in ((0, 0), (256, 256)):
            t0 = time.perf_counter()
            backend.segment(sample.image[:2, r:r + 256, c:c + 256].astype(np.float32))
            times.append(time.perf_counter() - t0)
    lines.append(f"cellpose 4 (random CPSAM, CPU, torch {torch.__version__}, "
                 f"{torch.get_num_threads()} threads): {min(times):.1f} s per 256² tile "
                 f"(runs: {', '.join(f'{t:.1f}' for t in times)} s; model build+save "
                 f"{t_build:.1f} s)")


def big_run(lines: list[str], image: Path) -> None:
    if not image.exists():
        lines.append(f"big run skipped: {image} not found (napari-dvp sample --out {image} "
                     "--size 20000)")
        return
    with tempfile.TemporaryDirectory(dir=image.parent) as tmp:
        out = Path(tmp) / "labels.zarr"
        cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "napari_dvp", "segment", str(image),
               "--out", str(out), "--tile-size", "1024", "--cyto-channel", "all"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        cells = re.search(r"(\d+) cells in", proc.stderr)
        lines.append(f"napari-dvp segment {image.name} (builtin, 1024² tiles, in-process): "
                     f"exit {proc.returncode}, {wall:.0f} s wall, peak RSS "
                     f"{int(rss.group(1)) / 1024 ** 2 if rss else float('nan'):.2f} GiB, "
                     f"{cells.group(1) if cells else '?'} cells")
        if proc.returncode:
            lines.append(proc.stderr[-2000:])


def throughput(lines: list[str], image: Path, region_px: int | None) -> None:
    """Seconds per megapixel with 1 and 2 dask workers on the big sample (built-in)."""
    import os

    from napari_dvp.core.segmentation.distributed import DistributedRunner, open_client
    from napari_dvp.core.segmentation.pipeline import FileReader

    if not image.exists():
        lines.append(f"throughput skipped: {image} not found")
        return
    reader = FileReader(image, [0, *range(1, 5)])
    height, width = reader.shape
    region = None
    if region_px:
        r0, c0 = max((height - region_px) // 2, 0), max((width - region_px) // 2, 0)
        region = (r0, min(r0 + region_px, height), c0, min(c0 + region_px, width))
    box = region or (0, height, 0, width)
    mpx = (box[1] - box[0]) * (box[3] - box[2]) / 1e6
    backend = make_backend("builtin", pixel_size_um=0.5)
    seconds = {}
    for workers in (1, 2):
        with open_client(None, workers) as client:
            t0 = time.perf_counter()
            with tempfile.TemporaryDirectory(dir=image.parent) as tmp:
                labels = run_to_end(segment_tiled(reader, backend, region=region, tile_size=1024,
                                                  runner=DistributedRunner(client),
                                                  out=Path(tmp) / "labels.zarr"))
                n_cells = int(labels.attrs["n_cells"])
            seconds[workers] = time.perf_counter() - t0
        lines.append(f"builtin throughput, {workers} dask worker(s), {mpx:.0f} Mpx of "
                     f"{image.name} ({height}x{width}): {seconds[workers]:.0f} s = "
                     f"{seconds[workers] / mpx:.3f} s/Mpx, {n_cells} cells; load average "
                     f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        print(lines[-1], flush=True)
    lines.append(f"speed-up 1 -> 2 workers: {seconds[1] / seconds[2]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=Path, default=Path("/tmp/s20k.ome.tif"))
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-cellpose", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--throughput", action="store_true",
                        help="seconds per Mpx with 1 and 2 dask workers on --big")
    parser.add_argument("--region-px", type=int, default=None,
                        help="throughput on the central N x N pixels only")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    lines: list[str] = []
    if not args.skip_accuracy:
        accuracy(lines)
        print("\n".join(lines), flush=True)
    if not args.skip_cellpose:
        cellpose_speed(lines)
        print(lines[-1], flush=True)
    if not args.skip_big:
        big_run(lines, args.big)
        print(lines[-1], flush=True)
    if args.throughput:
        throughput(lines, args.big, args.region_px)
        print(lines[-1], flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
