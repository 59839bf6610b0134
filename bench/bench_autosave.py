"""Benchmark: autosave at its default interval — work lost to kill -9; cost on the GUI thread.

Two measurements:

1. **Crash trials at the default interval** (``AUTOSAVE_INTERVAL_S``): the
   child harness of ``tests/unit/test_autosave_crash.py`` edits a project
   (a paint stroke + a class change per edit, 5,000-row table) and is killed
   with SIGKILL right after autosave started its 1st–3rd write; every
   recovery is checked for consistency (labels and table of one instant,
   a prefix of the edits) and the seconds of work lost are recorded.
2. **Autosave's cost on the editing thread with a big cell table**: a 4096²
   labels array (the synthetic sample's cells) and a 100,000-row x 30-column
   table; each edit paints a 24 px square where the brush wandered to (every
   20th also replaces the table, as a dock does), notifies
   autosave and lets it take a snapshot when due (``tick``). Reported:
   median, 99th percentile and worst time autosave added to an edit, and the
   cost of the snapshots (tile copies; the table is only referenced).

Run: ``.venv/bin/python bench/bench_autosave.py [--trials 100] [--edits 600]
[--no-crash]``.
Writes ``bench/results/autosave.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests" / "unit"
sys.path.insert(0, str(TESTS))

from test_autosave_crash import CHILD, _check_trial, _template  # noqa: E402

from napari_dvp.core.project.autosave import AUTOSAVE_INTERVAL_S, Autosaver  # noqa: E402


def crash_trials(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _template(tmp / "template")
        (tmp / "out").mkdir()
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(CHILD), str(tmp / "template"), str(tmp / "out"),
                        str(n), "11", str(AUTOSAVE_INTERVAL_S)], check=True,
                       capture_output=True, timeout=3600)
        wall = time.perf_counter() - t0
        res = [_check_trial(tmp / "out" / f"t{k}", check_saved=k % 10 == 0) for k in range(n)]
    lost = np.array([r["lost_s"] for r in res])
    return {"trials": n, "interval_s": AUTOSAVE_INTERVAL_S, "wall_s": round(wall, 1),
            "consistent": int(sum(r["consistent"] for r in res)),
            "killed_mid_write": int(sum(r["mid_write"] for r in res)),
            "lost_s_mean": round(float(lost.mean()), 3),
            "lost_s_median": round(float(np.median(lost)), 3),
            "lost_s_max": round(float(lost.max()), 3),
            "edit_ms_worst": round(max(r["max_edit_ms"] for r in res), 2)}


def editing_cost(edits: int, rows: int = 100_000, cols: int = 30, size: int = 4096) -> dict:
    """Autosave's own cost on the editing thread, as the Project dock calls it.

    Each edit paints a square and (like a dock's ``update_cells``) replaces the
    cell table by a new frame; both are the editor's own work and not timed.
    Timed: what autosave adds — the notifications and ``tick`` (which takes a
    snapshot when one is due: painted tiles copied, the table only referenced;
    the table is turned into Parquet in the autosave thread).
    """
    rng = np.random.default_rng(0)
    table = pd.DataFrame({f"mean_{k}": rng.random(rows) for k in range(cols - 2)})
    table.insert(0, "cell_id", np.arange(1, rows + 1))
    table["class"] = pd.Categorical(["keratinocyte"] * rows, ["keratinocyte", "immune"])
    from napari_dvp.core.synthetic import make_sample

    grain = size // 1024  # the synthetic sample's cells, scaled up to size x size
    labels = np.kron(make_sample(1024, seed=0).labels, np.ones((grain, grain), np.uint32))
    current = {"table": table}
    pos = np.array([size // 2, size // 2])
    with tempfile.TemporaryDirectory() as tmp:
        saver = Autosaver(Path(tmp) / "rec")
        saver.set_labels(labels)
        saver.flush(timeout=600)  # the first full copy, in the background
        spent, snaps = [], []
        t_start = time.perf_counter()
        for i in range(edits):  # the brush wanders over the slide, as a hand does
            pos = np.clip(pos + rng.integers(-40, 41, 2), 0, size - 24)
            r, c = int(pos[0]), int(pos[1])
            labels[r:r + 24, c:c + 24] = i + 1
            if i % 20 == 0:  # a dock writes classes: a new table replaces the old one
                new = current["table"].copy()
                new.loc[i % rows, "class"] = "immune"
                current["table"] = new
            t0 = time.perf_counter()
            saver.mark_labels_dirty((r, r + 24, c, c + 24))
            saver.update_later("cells", lambda ref=current["table"]: lambda: ref)
            t1 = time.perf_counter()
            if saver.tick():
                snaps.append(time.perf_counter() - t1)
            spent.append(time.perf_counter() - t0)
            time.sleep(0.01)  # ~100 edits a second: a fast painter
        editing_s = time.perf_counter() - t_start
        saver.close()
    ms = np.array(spent) * 1e3
    return {"edits": edits, "seconds": round(editing_s, 1), "table": f"{rows} x {cols}",
            "labels": f"{size}x{size} uint32",
            "edit_ms_median": round(float(np.median(ms)), 3),
            "edit_ms_p99": round(float(np.percentile(ms, 99)), 2),
            "edit_ms_worst": round(float(ms.max()), 2), "snapshots": len(snaps),
            "snapshot_ms_median": round(float(np.median(snaps)) * 1e3, 2) if snaps else None,
            "snapshot_ms_worst": round(float(np.max(snaps)) * 1e3, 2) if snaps else None,
            "writes": saver.n_writes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--edits", type=int, default=600)
    ap.add_argument("--no-crash", action="store_true", help="only the editing-thread cost")
    args = ap.parse_args()
    out = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "load_1min": os.getloadavg()[0]},
           "editing": editing_cost(args.edits),
           "crash": None if args.no_crash else crash_trials(args.trials)}
    dest = HERE / "results" / "autosave.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
