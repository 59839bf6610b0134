"""``napari-dvp study …``, ``sample --cohort`` and ``demo --study`` from the command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from napari_dvp.cli import main


def test_new_add_status_remove_and_refusals(tmp_path, capsys):
    s = tmp_path / "st"
    assert main(["study", "new", str(s), "--name", "TEN cohort"]) == 0
    assert main(["study", "add", str(s), "--slide", "TEN1", "--patient", "P01", "--condition",
                 "TEN", "--pixel-size", "0.5", "--marks", "10,10;10,200;200,10",
                 "--meta", "age=54", "drug=allopurinol"]) == 0
    rec = json.loads((s / "study.json").read_text())["slides"][0]
    assert rec["calibration"] == [[10.0, 10.0], [10.0, 200.0], [200.0, 10.0]]
    assert rec["meta"] == {"age": "54", "drug": "allopurinol"} and rec["pixel_size_um"] == 0.5
    capsys.readouterr()
    assert main(["study", "status", str(s)]) == 0
    out = capsys.readouterr().out
    assert "TEN1" in out and "segmented" in out
    # one-line errors, exit 2, nothing half-written
    assert main(["study", "add", str(s), "--slide", "TEN1", "--patient", "P", "--condition",
                 "TEN"]) == 2
    assert "already in the study" in capsys.readouterr().err
    assert main(["study", "add", str(s), "--slide", "x", "--patient", "P", "--condition", "T",
                 "--meta", "novalue"]) == 2
    assert main(["study", "plan", str(s)]) == 2
    assert "not segmented" in capsys.readouterr().err
    assert main(["study", "export-lmd", str(s)]) == 2
    assert "no study plan" in capsys.readouterr().err
    assert main(["study", "compare", str(s), "--a", "TEN", "--b", "MDE"]) == 2
    assert main(["study", "status", str(tmp_path / "nothing")]) == 2
    assert main(["study", "remove", str(s), "--slide", "TEN1"]) == 0
    assert json.loads((s / "study.json").read_text())["slides"] == []
    assert not (s / "plan").exists()


@pytest.mark.slow
def test_demo_study_then_cli_on_its_study(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--study", "--slides", "5", "--size", "256", "--out", str(out)]) == 0
    summary = (out / "SUMMARY.md").read_text()
    assert "recovered where planted (> 80 % of the measured members up at q <= 5 %): YES" \
        in summary
    assert "no interferon effect where none was planted: YES" in summary
    rec = pd.read_csv(out / "study" / "results" / "planted_effect_recovery.csv")
    assert set(rec.loc[rec["planted here"] == "yes", "cell type"]) == {
        "keratinocyte", "CD8 T cell", "macrophage"}
    for name in ("figures/interferon_on_slides.png", "figures/pca.png",
                 "figures/pathway_heatmap.png", "study/plan/plate_1.png",
                 "study/plan/plate_map.csv", "study/lmd/manifest.csv"):
        assert (out / name).is_file(), name
    s = out / "study"
    capsys.readouterr()
    assert main(["study", "status", str(s)]) == 0
    assert "False" not in capsys.readouterr().out  # every step done for every slide
    # the CLI reruns pieces under the output policy
    assert main(["study", "plan", str(s), "--plate", "96", "--layout", "randomised"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["study", "plan", str(s), "--plate", "96", "--layout", "randomised",
                 "--groups", "keratinocyte:epidermis:8", "--overwrite"]) == 0
    plan = pd.read_csv(s / "plan" / "plan.csv", keep_default_na=False)
    assert set(plan.loc[plan["kind"] == "sample", "class"]) == {"keratinocyte"}
    res = tmp_path / "cmp"
    assert main(["study", "compare", str(s), "--a", "TEN", "--b", "MDE", "--cell-type",
                 "keratinocyte", "--out", str(res)]) == 0
    table = pd.read_csv(res / "keratinocyte.csv")
    assert {"gene", "log2_fc", "p", "q"} <= set(table.columns)
    assert (res / "keratinocyte_volcano.png").is_file()
    assert (res / "anova_keratinocyte.csv").is_file()
    figs = tmp_path / "figs"
    assert main(["study", "figures", str(s), "--protein", "STAT1", "--out", str(figs)]) == 0
    assert (figs / "slides.png").is_file()


def test_sample_cohort(tmp_path, capsys):
    out = tmp_path / "cohort"
    assert main(["sample", "--cohort", "3", "--size", "256", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "TEN1" in text and "MDE1" in text and "healthy1" in text
    study = json.loads((out / "study.json").read_text())
    assert [s["condition"] for s in study["slides"]] == ["TEN", "MDE", "healthy"]
    for s in study["slides"]:
        assert (out / "slides" / s["slide"] / "project.json").is_file()
        assert (out / "images" / f"{s['slide']}.ome.tif").is_file()
    assert main(["sample", "--cohort", "3", "--size", "256", "--out", str(out)]) == 2
    assert main(["sample", "--cohort", "0", "--out", str(tmp_path / "x")]) == 2
