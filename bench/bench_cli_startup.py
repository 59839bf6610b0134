"""How long `napari-dvp --help` and `napari-dvp <command> --help` take (target: < 1 s).

Each is run 5 times in a fresh process; the median and worst wall-clock times are
printed, with the bare Python start-up measured in the same run for reference.

    python bench/bench_cli_startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

COMMANDS = [[], ["score"], ["proteins"], ["stats"], ["segment"], ["measure"], ["export-lmd"],
            ["classify"], ["demo"]]
REPEATS = 5


def _time(argv: list[str]) -> list[float]:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    bare = _time([sys.executable, "-c", "pass"])
    print(f"{'python -c pass':32s} median {statistics.median(bare):.2f} s  "
          f"worst {max(bare):.2f} s")
    worst_all = 0.0
    for cmd in COMMANDS:
        t = _time([sys.executable, "-m", "napari_dvp", *cmd, "--help"])
        worst_all = max(worst_all, max(t))
        label = "napari-dvp " + " ".join([*cmd, "--help"])
        print(f"{label:32s} median {statistics.median(t):.2f} s  worst {max(t):.2f} s  "
              f"({statistics.median(t) / statistics.median(bare):.1f}x bare python)")
    print(f"target < 1 s: {'met' if worst_all < 1.0 else 'NOT met'} (worst {worst_all:.2f} s)")


if __name__ == "__main__":
    main()
