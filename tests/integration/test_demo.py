"""The main job end to end: `napari-dvp demo --headless` writes what a person looks at."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_headless_demo_writes_screenshots_and_outputs(tmp_path):
    out = tmp_path / "demo"
    env = dict(os.environ)
    res = subprocess.run(
        [sys.executable, "-m", "napari_dvp", "demo", "--headless", "--out", str(out),
         "--size", "1024"],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs, res.stdout
    from PIL import Image

    for name in pngs:
        with Image.open(out / name) as im:
            assert im.size[0] > 400 and im.size[1] > 300
            # a screenshot that is one flat colour shows nothing
            assert len(im.convert("L").getcolors(maxcolors=1 << 16) or [0] * 300) > 50, name
    # every step left what a person looks at
    for name in ["01_sample.png", "02_segmentation.png", "03_qc.png", "04_classes.png",
                 "05_lmd_preview.png", "06_jak_stat_overlay.png", "cells.csv",
                 "classes_by_region.csv", "regions.geojson", "scores.csv",
                 "lmd/manifest.csv", "lmd/lmd_shapes.xml"]:
        assert (out / name).is_file(), name
    assert list((out / "proteomics").glob("*.pg_matrix.tsv"))
    summary = (out / "SUMMARY.md").read_text()
    assert "## Files" in summary and "lmd/manifest.csv" in summary
    # the plan renders as a Markdown table, not as one long line
    assert "| sample_id | well |" in summary and "\n|---|---|" in summary
    # a clean run prints no warnings (FutureWarning, RuntimeWarning, UserWarning ...)
    noisy = [line for line in (res.stdout + res.stderr).splitlines() if "Warning" in line]
    assert not noisy, noisy[:5]
    import pandas as pd

    manifest = pd.read_csv(out / "lmd" / "manifest.csv")
    assert {"sample_id", "well", "cell_ids"} <= set(manifest.columns)
    assert len(manifest) >= 4


def test_demo_rejects_bad_size(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "napari_dvp", "demo", "--headless", "--out", str(tmp_path),
         "--size", "10"],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "--size 10" in res.stderr
