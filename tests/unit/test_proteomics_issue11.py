"""Issue 11's list of silent misreads and bad inputs, through the real CLI and core.

Every bad input: exit 2, one line on stderr, nothing written (no output, no temporary, no
folder). The misreads of the issue now read right or are refused.
"""

from __future__ import annotations

import json
import re

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from napari_dvp.cli import main
from napari_dvp.core.proteomics.genesets import GeneSet
from napari_dvp.core.proteomics.processing import ProcessingParams, process
from napari_dvp.core.proteomics.readers import read_proteomics
from napari_dvp.core.proteomics.scores import gene_set_scores, protein_values
from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix

from .test_proteomics_cli import _manifest
from .test_proteomics_corpus import _alphadia_old_precursors, diann_pr_matrix_top3


def _bad_files(tmp):
    files = {}
    files["alphadia_precursors"], _ = _alphadia_old_precursors(tmp)
    files["pr_matrix"] = diann_pr_matrix_top3(tmp).path
    m = tmp / "manifest_as_matrix.csv"
    _manifest().to_csv(m, index=False)
    files["manifest"] = m
    c = tmp / "candidates.tsv"
    c.write_text("Comparison (group1/group2)\tProteinGroups\tGenes\tAVG Log2 Ratio\tPvalue\t"
                 "Qvalue\nA / B\tP1\tSTAT1\t1.2\t0.001\t0.01\n")
    files["candidates"] = c
    mixed = tmp / "mixed.tsv"
    mixed.write_text("protein\tS1\tS2\nP1\t1234,5\t1000.5\nP2\t10,25\t7.5\n")
    files["mixed_locales"] = mixed
    amb = tmp / "ambiguous.csv"
    amb.write_text('protein,S1,S2\nP1,"1,234","5,678"\nP2,"2,345","9,999"\n')
    files["thousands_or_decimal"] = amb
    sc = tmp / "counts.csv"
    sc.write_text("protein,S1,S2\nP1,120,80\nP2,64,300\n")
    files["log2_undecidable"] = sc
    text = tmp / "mixed_text.csv"
    text.write_text("protein,S1,S2\nP1,1200.5,3000\nP2,high,4000\nP3,1500,2000\nP4,900,800\n")
    files["number_and_text"] = text
    none = tmp / "no_layout.tsv"
    none.write_text("alpha\tbeta\nx\t2\n")
    files["no_layout"] = none
    return files


EXPECT = {"alphadia_precursors": "precursor-level report.*--aggregate top3",
          "pr_matrix": "precursor matrix.*--aggregate top3",
          "manifest": "LMD manifest",
          "candidates": "Spectronaut candidates",
          "mixed_locales": "mixes locales",
          "thousands_or_decimal": "decimal comma or a thousands separator",
          "log2_undecidable": "--log2 yes or --log2 no",
          "number_and_text": "mixes numbers and text",
          "no_layout": "matches no known protein table layout"}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("good11")
    man = _manifest()
    man.to_csv(root / "manifest.csv", index=False)
    write_pg_matrix(synthetic_pg_matrix(man, seed=2, n_proteins=400), root / "TEN.pg_matrix.tsv")
    return root


@pytest.mark.parametrize("command", ["proteins", "score", "stats"])
def test_every_bad_input_one_line_nothing_written(command, good, tmp_path, capsys):
    files = _bad_files(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    for key, path in files.items():
        argv = {"proteins": ["proteins", str(path), "--out", str(out / "m.csv")],
                "score": ["score", str(path), "--manifest", str(good / "manifest.csv"),
                          "--out", str(out / "s.csv"), "--h5ad", str(out / "p.h5ad")],
                "stats": ["stats", str(path), "--manifest", str(good / "manifest.csv"),
                          "--out", str(out / "st.csv"), "--a", "keratinocyte"]}[command]
        rc = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2, (key, err)
        assert len(err) == 1 and ": error: " in err[0], (key, err)
        assert re.search(EXPECT[key], err[0]), (key, err[0])
        assert list(out.iterdir()) == [], (key, list(out.iterdir()))


def test_score_h5ad_unwritable_leaves_no_csv(good, tmp_path, capsys, monkeypatch):
    base = ["score", str(good / "TEN.pg_matrix.tsv"), "--manifest", str(good / "manifest.csv"),
            "--out", str(tmp_path / "scores.csv")]
    # a folder that does not exist: refused before any work, and not created
    rc = main([*base, "--h5ad", str(tmp_path / "no" / "such" / "p.h5ad")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "does not exist" in err[0]
    assert not (tmp_path / "no").exists() and list(tmp_path.iterdir()) == []
    # a "folder" that is a file
    (tmp_path / "afile").write_text("x")
    rc = main([*base, "--h5ad", str(tmp_path / "afile" / "p.h5ad")])
    assert rc == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
    # the h5ad write itself fails (disk full): no CSV, no temporary left behind
    def boom(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ad.AnnData, "write_h5ad", boom)
    rc = main([*base, "--h5ad", str(tmp_path / "p.h5ad")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "No space left" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_cli_notes_duplicates_and_empty_runs(tmp_path, capsys):
    p = tmp_path / "dup.pg_matrix.tsv"
    p.write_text("Protein.Group\tGenes\tA1\tA2\tA3\n"
                 "P1\tSTAT1\t1000\t\t2000\nP1\tSTAT1\t3000\t\t4000\nP2\tJAK1\t5000\t\t6000\n")
    assert main(["proteins", str(p), "--out", str(tmp_path / "m.csv")]) == 0
    text = capsys.readouterr().out
    assert "1 protein id(s) occur more than once (e.g. 'P1')" in text
    assert "1 run(s) have no protein value at all (A2)" in text
    meta = json.loads((tmp_path / "m.meta.json").read_text())
    assert meta["log2"]["input_is_log2"] is False and len(meta["notes"]) == 2


def _adata(genes, X):
    var = pd.DataFrame({"protein_ids": "", "protein_names": "", "gene": [g.split(";")[0] for g
                        in genes], "genes": genes, "description": ""},
                       index=[f"P{i}" for i in range(len(genes))])
    obs = pd.DataFrame({"class": ["k"] * X.shape[0]}, index=[f"S{i}" for i in
                                                              range(X.shape[0])])
    return ad.AnnData(X=X, obs=obs, var=var)


def test_all_genes_of_a_group_aliases_and_labels():
    rng = np.random.default_rng(0)
    genes = ["RIGI", "TMA7;TMA7B", "STAT1", "IRF9;IRF9B", "GBP1", "OAS1", "MX1", "ISG15"]
    a = _adata(genes, np.exp2(rng.normal(20, 1, (6, len(genes)))))
    p = process(a, ProcessingParams(min_valid=0.0))
    gs = {"IFN": GeneSet("IFN", "", ("DDX58", "IRF9B", "STAT1", "GBP1", "OAS1", "MX1"))}
    res = gene_set_scores(p, gs, min_members=5)
    cov = res.coverage.iloc[0]
    assert cov["n_found"] == 6 and "DDX58->RIGI" in cov["renamed"]
    assert res.scores["IFN"].notna().all()  # 6 measured members >= 5
    assert protein_values(p, "DDX58").name == "RIGI"
    assert protein_values(p, "TMA7B").name == "TMA7B"  # not "TMA7"


def test_failed_run_gets_blank_scores_with_the_reason():
    """A run with 3 proteins of the set measured gets no score (the issue's HLA-A case)."""
    rng = np.random.default_rng(1)
    genes = [f"G{i}" for i in range(40)]
    X = np.exp2(rng.normal(20, 1, (6, 40)))
    X[5, 3:] = np.nan  # the failed run: only G0..G2 measured
    p = process(_adata(genes, X), ProcessingParams(min_valid=0.0))
    res = gene_set_scores(p, {"S": GeneSet("S", "", tuple(genes[:10]))})
    assert np.isnan(res.scores.loc["S5", "S"]) and res.scores["S"].drop("S5").notna().all()
    assert res.members.loc["S5", "S"] == 3
    assert res.reasons.loc["S5", "S"] == "3 of 10 members measured (< 5)"
    assert res.coverage.loc[0, "samples_scored"] == 5


def test_demo_fold_change_survives_log2_input(tmp_path):
    """The issue's case 3: a log2 copy of the demo matrix gives the same fold change."""
    man = _manifest()
    tab = synthetic_pg_matrix(man, seed=3, n_proteins=300)
    runs = [c for c in tab.columns if c.startswith("D:")]
    logged = tab.copy()
    logged[runs] = np.log2(logged[runs])
    write_pg_matrix(tab, tmp_path / "lin.pg_matrix.tsv")
    lp = tmp_path / "log2.tsv"
    logged.rename(columns={"Protein.Group": "protein"}).drop(
        columns=["Protein.Ids", "Protein.Names", "First.Protein.Description"]).rename(
        columns={"Genes": "gene"}).to_csv(lp, sep="\t", index=False, na_rep="NaN")
    a, b = read_proteomics(tmp_path / "lin.pg_matrix.tsv"), read_proteomics(lp)
    assert not a.uns["log2"]["input_is_log2"] and b.uns["log2"]["input_is_log2"]
    pa_, pb = (process(x, ProcessingParams(normalise="none", valid_mode="global",
                                           min_valid=0.0)) for x in (a, b))
    np.testing.assert_allclose(pa_.X, pb.X, rtol=1e-5, atol=1e-5)
