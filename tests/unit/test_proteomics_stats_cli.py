"""``napari-dvp stats`` through the real CLI: tests, PCA, figures, metadata, Perseus groups."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_dvp.cli import main
from napari_dvp.core.proteomics import differential
from napari_dvp.core.proteomics.matching import apply_matches, match_runs
from napari_dvp.core.proteomics.processing import ProcessingParams, process
from napari_dvp.core.proteomics.readers import read_proteomics
from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix

from .test_proteomics_cli import _manifest
from .test_proteomics_corpus import perseus_log2


@pytest.mark.slow
def test_stats_two_groups_figures_and_meta(tmp_path, capsys):
    man = _manifest()
    man["patient"] = [f"pt{k % 4}" for k in range(len(man))]
    man.to_csv(tmp_path / "manifest.csv", index=False)
    write_pg_matrix(synthetic_pg_matrix(man, seed=5, n_proteins=300), tmp_path / "t.tsv")
    figs = tmp_path / "figs"
    figs.mkdir()
    rc = main(["stats", str(tmp_path / "t.tsv"), "--manifest", str(tmp_path / "manifest.csv"),
               "--out", str(tmp_path / "st.csv"), "--a", "CD8 T cell", "--figures", str(figs)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "moderated t (limma)" in out and "global rule" in out
    res = pd.read_csv(tmp_path / "st.csv").set_index("protein_id")
    # the CLI equals the Python API on the same numbers
    a = read_proteomics(tmp_path / "t.tsv")
    m, _ = apply_matches(a, match_runs(a.obs_names, man), man)
    ref = differential.compare(process(m, ProcessingParams()), "class", "CD8 T cell")
    np.testing.assert_allclose(res["t"].reindex(ref.index), ref["t"], rtol=1e-9)
    top = res.sort_values("p").head(3)["gene"].tolist()
    assert set(top) & {"CD8A", "CD3E", "GZMB"}  # planted CD8 T cell markers
    meta = json.loads((tmp_path / "st.meta.json").read_text())
    assert meta["statistics"]["test"] == "limma" and meta["statistics"]["prior_df"] > 0
    assert meta["processing"]["log2_applied"] is True and len(meta["pca"]["explained"]) == 3
    for name in ("volcano.png", "pca.png", "heatmap.png"):
        assert (figs / name).stat().st_size > 5000
    pcs = pd.read_csv(tmp_path / "st.pca.csv")
    assert {"sample_id", "class", "PC1", "PC2"} <= set(pcs.columns) and len(pcs) == 16
    # paired and ANOVA + Tukey
    assert main(["stats", str(tmp_path / "t.tsv"), "--manifest", str(tmp_path / "manifest.csv"),
                 "--out", str(tmp_path / "pa.csv"), "--group-by", "region", "--a", "blister",
                 "--b", "epidermis", "--test", "paired", "--pair-by", "patient",
                 "--valid-groups", "region"]) == 2  # 2 samples per patient and region
    assert "occurs twice" in capsys.readouterr().err
    assert main(["stats", str(tmp_path / "t.tsv"), "--manifest", str(tmp_path / "manifest.csv"),
                 "--out", str(tmp_path / "an.csv"), "--impute", "downshift", "--posthoc-top",
                 "5"]) == 0
    tk = pd.read_csv(tmp_path / "an.tukey.csv")
    assert tk["protein_id"].nunique() == 5 and len(tk) == 5 * 6


def test_stats_perseus_groups_without_manifest(tmp_path, capsys):
    case = perseus_log2(tmp_path)
    rc = main(["stats", str(case.path), "--out", str(tmp_path / "p.csv"), "--group-by", "Group",
               "--a", "lesional", "--test", "welch", "--min-valid", "0.5"])
    assert rc == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "already log2" in out and "Welch t" in out
    meta = json.loads((tmp_path / "p.meta.json").read_text())
    assert meta["processing"]["input_is_log2"] is True
    assert meta["processing"]["log2_applied"] is False
    assert "Group group" in meta["processing"]["valid_rule"]
