"""Benchmark: recolour ~100k cells by class after a threshold move; classifier at 100k cells.

Ours: threshold -> rules (gate_codes) -> uint8 lut -> in-place ``lut[labels]`` into
the overlay image -> napari Image layer refresh (real viewer under Xvfb).
Peer figure in the same run: a napari Labels layer recoloured through a
``DirectLabelColormap`` with one colour entry per cell (what a per-cell colour
dict costs). Also: random-forest retrain on 40 examples + predict 100k cells.

Run: ``xvfb-run -a .venv/bin/python bench/bench_class_overlay.py [--size 7600]``.
Writes ``bench/results/class_overlay.json``.
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

from napari_dvp.core.classes.classifier import CellClassifier
from napari_dvp.core.classes.gating import GatingScheme, gate_codes, parse_rules
from napari_dvp.core.classes.overlay import class_code_lut, recolor_into

RULES = parse_rules("keratinocyte: panCK+\nCD8 T cell: CD8+ and panCK-\n"
                    "macrophage: CD163+ and CD8- and panCK-")
COLORS = [(230, 159, 0), (213, 40, 40), (86, 180, 233)]


def make_labels(size: int, cell: int = 24, seed: int = 0) -> np.ndarray:
    """~ (size/cell)² wobbly polygonal cells (a jittered grid), uint32, no Python loop per cell."""
    rng = np.random.default_rng(seed)
    y = np.arange(size, dtype=np.float32)[:, None]
    x = np.arange(size, dtype=np.float32)[None, :]
    ph = rng.uniform(0, 2 * np.pi, 4).astype(np.float32)
    yy = y + 5 * np.sin(x / 17 + ph[0]) + 3 * np.sin(x / 7 + ph[1])
    xx = x + 5 * np.sin(y / 13 + ph[2]) + 3 * np.sin(y / 5 + ph[3])
    ncol = size // cell + 2
    r = np.clip((yy // cell).astype(np.int64) + 1, 0, None)
    c = np.clip((xx // cell).astype(np.int64) + 1, 0, None)
    lab = (r * ncol + c + 1).astype(np.uint32)
    _, inv = np.unique(lab, return_inverse=True)
    return (inv.reshape(lab.shape) + 1).astype(np.uint32)


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = pd.DataFrame({"cell_id": np.arange(1, n + 1)})
    for m, frac in (("panCK", 0.5), ("CD8", 0.1), ("CD163", 0.1)):
        pos = rng.random(n) < frac
        t[f"mean_{m}"] = np.where(pos, rng.normal(800, 150, n), rng.normal(100, 20, n))
    t["area_um2"] = rng.normal(140, 30, n)
    t["eccentricity"] = rng.random(n)
    return t


def _best(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=7600)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-viewer", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "class_overlay.json"))
    args = ap.parse_args()
    labels = make_labels(args.size)
    n = int(labels.max())
    table = make_table(n)
    ids = table["cell_id"].to_numpy()
    scheme = GatingScheme(RULES, {"panCK": 400.0, "CD8": 400.0, "CD163": 400.0})
    buf = np.zeros(labels.shape, np.uint8)
    res: dict = {"size": args.size, "n_cells": n, "machine": platform.processor() or
                 platform.machine(), "cpus": os.cpu_count(),
                 "load_average_1min_at_start": os.getloadavg()[0]}
    thr = iter(np.linspace(300, 500, 1000))

    def ours_core():
        scheme.thresholds["panCK"] = float(next(thr))
        codes = gate_codes(table, scheme)
        recolor_into(buf, labels, class_code_lut(ids, codes, max_id=n), max_label=n)

    res["ours_rules_lut_gather_s"] = _best(ours_core, args.repeat)
    t0 = time.perf_counter()
    _ = gate_codes(table, scheme)
    res["rules_only_s"] = time.perf_counter() - t0

    ex = {int(i): c for i, c in zip(np.arange(1, 41), ["a", "b", "c", "d"] * 10, strict=True)}
    t0 = time.perf_counter()
    clf = CellClassifier().train(table, ex)
    res["classifier_train_40_examples_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    clf.predict(table)
    res["classifier_predict_all_s"] = time.perf_counter() - t0

    if not args.no_viewer:
        res.update(_viewer_part(labels, table, ids, n, scheme, buf, thr, args.repeat))
    for k, v in res.items():
        print(f"{k:40s} {v:.3f}" if isinstance(v, float) else f"{k:40s} {v}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2))
    print(f"wrote {args.out}")


def _viewer_part(labels, table, ids, n, scheme, buf, thr, repeat) -> dict:
    import napari
    from napari.utils.colormaps import Colormap, DirectLabelColormap
    from qtpy.QtWidgets import QApplication

    from napari_dvp.core.classes.overlay import categorical_colormap

    out = {}
    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    layer = viewer.add_image(buf, name="cell classes", contrast_limits=(0, len(COLORS)),
                             colormap=Colormap(**categorical_colormap(COLORS), name="bench"))
    app.processEvents()

    def ours_full():
        scheme.thresholds["panCK"] = float(next(thr))
        codes = gate_codes(table, scheme)
        recolor_into(layer.data, labels, class_code_lut(ids, codes, max_id=n), max_label=n)
        layer.refresh()
        app.processEvents()

    ours_full()
    out["ours_threshold_to_napari_refresh_s"] = _best(ours_full, repeat)
    layer.visible = False

    lab_layer = viewer.add_labels(labels, name="cells")
    app.processEvents()
    pal = np.array([[0, 0, 0, 0], *[[*np.asarray(c) / 255, 1] for c in COLORS]], dtype=float)

    def peer():
        scheme.thresholds["panCK"] = float(next(thr))
        codes = gate_codes(table, scheme)
        colors = pal[codes]
        cmap = DirectLabelColormap(color_dict={None: [0, 0, 0, 0], **dict(
            zip(ids.tolist(), colors, strict=True))})
        lab_layer.colormap = cmap
        lab_layer.refresh()
        app.processEvents()

    out["peer_direct_label_colormap_s"] = _best(peer, max(1, repeat // 2))
    viewer.close()
    return out


if __name__ == "__main__":
    main()
