"""The proteomics demo step without a screen: files written, planted signal recovered."""

from __future__ import annotations

import importlib

import pandas as pd

from napari_dvp._demo import DemoState


def test_demo_step_headless(tmp_path):
    state = DemoState(out=tmp_path, size=256, seed=1)
    importlib.import_module("napari_dvp._demo.10_sample").run(state)
    importlib.import_module("napari_dvp._demo.60_proteomics").run(state)
    assert (tmp_path / "proteomics" / "TEN_synthetic.pg_matrix.tsv").is_file()
    assert (tmp_path / "proteomics" / "manifest.csv").is_file()
    for name in ("07_scores_by_class_region.png", "08_volcano.png", "09_heatmap.png"):
        assert (tmp_path / name).stat().st_size > 5000
    s = pd.read_csv(tmp_path / "scores.csv")
    up = s["interferon_planted_up"].astype(bool)
    assert up.any() and (~up).any()
    col = "HALLMARK_INTERFERON_GAMMA_RESPONSE"
    assert s.loc[up, col].min() > s.loc[~up, col].max()
