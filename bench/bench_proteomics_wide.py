"""Benchmark: read very wide protein tables exactly (10^5 run columns).

Cases (10 protein rows x ``--columns`` run columns, every value distinct):

* decimal points (``1234.5``), a generic matrix;
* decimal commas (``1234,5``): the locale is decided per column and for the file;
* a DIA-NN pg_matrix with decimal points (pyarrow's typed reader is skipped above 2,000
  runs: it spends seconds per 10^4 columns).

Every figure is the median of ``--repeat`` runs (CPU seconds in brackets: the machine may
be shared). Target: a few seconds for 10^5 columns.

Run: ``.venv/bin/python bench/bench_proteomics_wide.py [--columns 100000] [--repeat 3]``.
Writes ``bench/results/proteomics_wide.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_dvp.core.proteomics.readers import read_proteomics


def _write(folder: Path, n_cols: int, comma: bool, diann: bool) -> Path:
    rng = np.random.default_rng(0)
    vals = np.round(rng.uniform(1e4, 1e8, (10, n_cols)), 1).astype(str)
    if comma:
        vals = np.char.replace(vals, ".", ",")
    runs = [f"S{j}" for j in range(n_cols)]
    if diann:
        head = "Protein.Group\tGenes\t" + "\t".join(runs)
        rows = [f"P{i}\tG{i}\t" + "\t".join(vals[i]) for i in range(10)]
    else:
        head = "protein\t" + "\t".join(runs)
        rows = [f"P{i}\t" + "\t".join(vals[i]) for i in range(10)]
    path = folder / f"wide_{'comma' if comma else 'point'}_{'diann' if diann else 'generic'}.tsv"
    path.write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--columns", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    out = {"machine": platform.platform(), "columns": args.columns, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for comma, diann in ((False, False), (True, False), (False, True)):
            path = _write(Path(tmp), args.columns, comma, diann)
            wall, cpu = [], []
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                a = read_proteomics(path)
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            assert a.shape == (args.columns, 10)
            out["cases"][path.stem] = {"median_s": statistics.median(wall),
                                       "cpu_s": statistics.median(cpu),
                                       "runs_s": [round(w, 3) for w in wall]}
            print(f"{path.stem:22s} {statistics.median(wall):7.2f} s  "
                  f"(cpu {statistics.median(cpu):.2f} s)")
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    (res / "proteomics_wide.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
