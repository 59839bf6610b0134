"""Hostile cases that need a real process: Ctrl-C, kill -9, memory of the bombs.

* SIGINT to ``export-lmd``, ``segment --workers 2`` (dask worker processes) and
  ``demo --headless`` (Xvfb, napari): exit 130, one line on stderr, every child
  process gone, no output and no temporary left.
* ``kill -9`` of ``export-lmd`` leaves its staging folder; the next run removes it.
* The bomb inputs, run one after the other in one process, never take the
  process over 1 GB of memory (peak RSS, printed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from . import _hostile as h

pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra)
    return env


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    kids = [int(k) for k in out.split()]
    return kids + [g for k in kids for g in _descendants(k)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


def _wait_for(pred, timeout: float, proc: subprocess.Popen) -> None:
    t0 = time.monotonic()
    while not pred():
        if proc.poll() is not None:
            raise AssertionError(f"finished before the signal (rc {proc.returncode}): "
                                 f"{proc.stderr.read()[-2000:]}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("the run never reached the point to interrupt")
        time.sleep(0.05)


def _partials(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".partial" in p.name or ".old" in p.name]


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A 512² sample and a selection of every cell: an export that takes a few seconds."""
    from napari_dvp.core.synthetic import write_sample

    root = tmp_path_factory.mktemp("signals")
    write_sample(root / "s.ome.tif", size=512, seed=2)
    cells = pd.read_csv(root / "s_cells.csv")
    pd.DataFrame({"cell_id": cells["cell_id"],
                  "sample": [f"S{k % 24:02d}" for k in range(len(cells))]}
                 ).to_csv(root / "selection.csv", index=False)
    return root


def _export(folder: Path, big: Path) -> list[str]:
    return [sys.executable, "-m", "napari_dvp", "export-lmd", "--labels",
            str(big / "s_labels.tif"), "--selection", str(big / "selection.csv"),
            "--calibration", "5,5;5,500;500,250", "--out", str(folder / "lmd"),
            "--pixel-size-um", "0.5"]


def test_sigint_export_lmd(big, tmp_path):
    before = h.snapshot(tmp_path)
    proc = subprocess.Popen(_export(tmp_path, big), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    # the staging folder exists from the moment the outputs are declared: mid-run
    _wait_for(lambda: _partials(tmp_path), 300, proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(120)
    err = proc.stderr.read().strip().splitlines()
    assert rc == 130, err
    assert len(err) == 1 and err[0].startswith("napari-dvp export-lmd: interrupted"), err
    assert h.snapshot(tmp_path) == before


def test_kill9_export_lmd_then_rerun_cleans(big, tmp_path):
    from napari_dvp.cli import main

    proc = subprocess.Popen(_export(tmp_path, big), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    _wait_for(lambda: _partials(tmp_path), 300, proc)
    time.sleep(0.3)
    proc.kill()
    proc.wait(60)
    proc.stderr.close()
    proc.stdout.close()
    left = _partials(tmp_path)
    assert left, "kill -9 should leave the staging folder (nothing can clean it up)"
    assert not (tmp_path / "lmd").exists()
    argv = _export(tmp_path, big)[3:]
    assert main(argv) == 0
    assert _partials(tmp_path) == []
    assert (tmp_path / "lmd" / "manifest.csv").is_file()


def test_sigint_segment_stops_dask_workers(big, tmp_path):
    out = tmp_path / "labels.zarr"
    proc = subprocess.Popen([sys.executable, "-m", "napari_dvp", "segment",
                             str(big / "s.ome.tif"), "--out", str(out), "--workers", "2",
                             "--tile-size", "128"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    _wait_for(lambda: len(_descendants(proc.pid)) >= 3, 300, proc)  # tracker + 2 workers
    time.sleep(1.0)
    kids = _descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(120)
    err = proc.stderr.read().strip().splitlines()
    assert rc == 130, err
    # the pixel-size line said at the start, then one line for the interrupt; no traceback
    assert err[-1].startswith("napari-dvp segment: interrupted"), err
    assert all(line.startswith("napari-dvp segment: ") for line in err), err
    deadline = time.monotonic() + 30
    while any(_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [k for k in kids if _alive(k)], "dask worker processes outlived the command"
    assert not out.exists() and _partials(tmp_path) == []


def test_sigint_headless_demo_stops_xvfb(tmp_path):
    env = _env()
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    out = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "napari_dvp", "demo", "--headless",
                             "--size", "256", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    _wait_for(lambda: any(line.startswith("[demo]") for line in lines), 600, proc)
    kids = _descendants(proc.pid)
    assert any(Path(f"/proc/{k}/comm").read_text().strip() == "Xvfb" for k in kids
               if _alive(k)), "the demo should run on its own Xvfb"
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(120)
    err = proc.stderr.read().strip().splitlines()
    assert rc == 130, err[-20:]
    assert err == ["napari-dvp demo: interrupted; the demo output was removed"], err[-20:]
    time.sleep(1.0)
    assert not [k for k in kids if _alive(k)], "Xvfb (or another child) outlived the demo"
    assert not out.exists() and _partials(tmp_path) == []


# VmHWM, not ru_maxrss: on Linux a forked-then-exec'd child inherits the parent's (pytest's)
# high-water mark in ru_maxrss, while VmHWM belongs to the new process image alone
_BOMB_RUNNER = """
import json, sys
from napari_dvp.cli import main

def peak_mb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM")) // 1024

peaks = [("imports", 0, peak_mb())]
for name, argv in json.loads(sys.argv[1]):
    rc = main(argv)
    peaks.append((name, rc, peak_mb()))
print(json.dumps(peaks))
"""


def test_bombs_stay_under_1_gb(tmp_path):
    import json

    src = tmp_path / "src"
    src.mkdir()
    from napari_dvp.core.synthetic import write_sample

    write_sample(src / "s.ome.tif", size=256, seed=0)
    h.cells_table(tmp_path, src)
    pd.DataFrame({"cell_id": [5], "sample": ["A"]}).to_csv(tmp_path / "sel.csv", index=False)
    import numpy as np
    import zarr

    zarr.create_array(store=str(tmp_path / "huge.zarr"), shape=(100_000, 100_000),
                      dtype=np.uint32, chunks=(4096, 4096), fill_value=0)
    o = str(tmp_path / "o")
    cases = [
        ("OME-TIFF claiming 10^6 x 10^6 px (info)", ["info", str(h.huge_claim_ome(tmp_path))]),
        ("20,000 1x1 pages (info)", ["info", str(h.many_pages(tmp_path))]),
        ("labels 40960^2 in zstd tiles (export-lmd)",
         ["export-lmd", "--labels", str(h.compressed_labels_bomb(tmp_path)), "--selection",
          str(tmp_path / "sel.csv"), "--calibration", "1,1;1,9;9,5", "--out", o + "1",
          "--pixel-size-um", "0.5"]),
        ("gzip bomb 200 MB of spaces (proteins)",
         ["proteins", str(h.gzip_bomb(tmp_path, 200)), "--out", o + "2.csv"]),
        ("zarr declaring 10^5 x 10^5 labels (measure)",
         ["measure", str(src / "s.ome.tif"), str(tmp_path / "huge.zarr"), "--out",
          o + "3.csv"]),
        ("GeoJSON nested 10^5 deep (regions)",
         ["regions", str(tmp_path / "cells.csv"), str(h.deep_json(tmp_path / "d.geojson")),
          "-o", o + "4.csv"]),
    ]
    proc = subprocess.run([sys.executable, "-c", _BOMB_RUNNER, json.dumps(cases)],
                          capture_output=True, text=True, env=_env(), timeout=600)
    peaks = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, rc, mb in peaks:
        print(f"peak RSS after {name}: {mb} MB (exit {rc})")  # -s shows the figures
    assert [rc for _, rc, _ in peaks[1:]] == [2] * len(cases), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == len(cases), proc.stderr
    assert max(mb for _, _, mb in peaks) <= 1024
