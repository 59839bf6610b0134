"""Every proteomics reader: real files from ../shared/data and tiny files in every format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.proteomics.readers import (
    detect_format,
    read_header,
    read_proteomics,
    run_label,
    to_tidy_frame,
    write_h5ad,
    write_tidy,
)

NAN = np.nan


def _vals(adata, protein, run):
    return float(adata[run, protein].X[0, 0])


# ----------------------------------------------------------------------------- real files
def test_real_diann_pg_matrix(shared_data):
    a = read_proteomics(shared_data / "proteomics" / "diann_report.pg_matrix.tsv")
    assert a.uns["source"]["format"] == "diann_pg_matrix"
    assert a.shape == (20, 10)
    assert list(a.obs_names[:3]) == ["S1", "S2", "S3"]
    raw = pd.read_csv(shared_data / "proteomics" / "diann_report.pg_matrix.tsv", sep="\t")
    expect = raw[[f"S{i}" for i in range(1, 21)]].to_numpy(float).T
    np.testing.assert_array_equal(np.isnan(a.X), np.isnan(expect))
    np.testing.assert_allclose(a.X[~np.isnan(expect)], expect[~np.isnan(expect)])
    assert a.var["gene"].iloc[0] == "HDLBP"
    assert a.var["genes"].iloc[3] == "NUDT3;NUDT4;NUDT4B" and a.var["gene"].iloc[3] == "NUDT3"


def test_real_maxquant(shared_data):
    path = shared_data / "proteomics" / "maxquant_proteinGroups.txt"
    a = read_proteomics(path)
    raw = pd.read_csv(path, sep="\t", low_memory=False)
    flagged = (raw[["Reverse", "Potential contaminant", "Only identified by site"]] == "+").any(
        axis=1)
    assert a.uns["source"]["format"] == "maxquant"
    assert a.uns["source"]["quantity"] == "LFQ intensity"
    assert a.n_vars == int((~flagged).sum()) == 773
    assert a.n_obs == 10 and "AC386_b" in a.obs_names
    kept = raw.loc[~flagged, [c for c in raw.columns if c.startswith("LFQ intensity ")]]
    expect = kept.to_numpy(float).T
    assert np.isnan(a.X).sum() == (expect == 0).sum()  # MaxQuant writes 0 for missing
    np.testing.assert_allclose(a.X[expect > 0], expect[expect > 0])
    assert not a.var_names.str.contains("REV__").any()


def test_real_diann_long_report(shared_data):
    path = shared_data / "proteomics" / "diann_1.9.0_report_head.tsv"
    a = read_proteomics(path)
    raw = pd.read_csv(path, sep="\t")
    ok = raw[(raw["Q.Value"] <= 0.01) & (raw["PG.Q.Value"] <= 0.01)]
    assert a.uns["source"]["format"] == "diann_report"
    assert set(a.obs_names) == set(ok["Run"])
    assert a.n_vars == ok["Protein.Group"].nunique()
    row = ok.iloc[0]
    assert _vals(a, row["Protein.Group"], row["Run"]) == pytest.approx(row["PG.MaxLFQ"])
    strict = read_proteomics(path, q_value=0.001)
    n_strict = ((raw["Q.Value"] <= 0.001) & (raw["PG.Q.Value"] <= 0.001)).sum()
    assert np.isfinite(strict.X).sum() < np.isfinite(a.X).sum()
    assert np.isfinite(strict.X).sum() <= n_strict
    with pytest.raises(DvpInputError, match="q-value"):
        read_proteomics(path, q_value=1e-6)


# ----------------------------------------------------------------------------- tiny files
def _write(path, text):
    path.write_text(text)
    return path


def test_tiny_diann_pg_matrix(tmp_path):
    p = _write(tmp_path / "report.pg_matrix.tsv",
               "Protein.Group\tProtein.Ids\tProtein.Names\tGenes\tFirst.Protein.Description\t"
               "D:\\raw\\TEN_A1.d\tD:\\raw\\TEN_A2.d\n"
               "P42224\tP42224\tSTAT1_HUMAN\tSTAT1\tSTAT1 protein\t1000\t\n"
               "P40763\tP40763\tSTAT3_HUMAN\tSTAT3\tSTAT3 protein\t2000.5\t3000\n")
    a = read_proteomics(p)
    assert a.uns["source"]["format"] == "diann_pg_matrix"
    assert list(a.obs["run_label"]) == ["TEN_A1", "TEN_A2"]
    np.testing.assert_array_equal(a.X, [[1000, 2000.5], [NAN, 3000]])
    assert list(a.var["gene"]) == ["STAT1", "STAT3"]


def test_diann_pg_matrix_fast_and_forgiving_parsers_agree(tmp_path, monkeypatch):
    from napari_dvp.core.proteomics import engines

    head = ("Protein.Group\tProtein.Ids\tProtein.Names\tGenes\tFirst.Protein.Description\t"
            "N.Sequences\tD:\\raw\\TEN_A1.d\tD:\\raw\\TEN_A2.d\n")
    clean = _write(tmp_path / "clean.pg_matrix.tsv", head +
                   " P42224 \tP42224\tSTAT1_HUMAN\t STAT1;STAT1B \t\t4\t1000\tNaN\n"
                   "\tP40763\tSTAT3_HUMAN\t\tSTAT3 protein\t2\t0\t3e3\n")
    odd = _write(tmp_path / "odd.pg_matrix.tsv", head +
                 " P42224 \tP42224\tSTAT1_HUMAN\t STAT1;STAT1B \t\t4\t1000\tFiltered\n"
                 "\tP40763\tSTAT3_HUMAN\t\tSTAT3 protein\t2\t0,0\t3000,0\n")
    fast = read_proteomics(clean)
    slow = read_proteomics(odd)  # decimal commas: pyarrow refuses, pandas path reads it
    for a in (fast, slow):
        np.testing.assert_array_equal(a.X, [[1000, NAN], [NAN, 3000]])
        assert list(a.var_names) == ["P42224", "protein_1"]
        assert list(a.var["gene"]) == ["STAT1", ""]
        assert list(a.var["genes"]) == ["STAT1;STAT1B", ""]
        assert list(a.var["description"]) == ["", "STAT3 protein"]
    pd.testing.assert_frame_equal(fast.var, slow.var)
    monkeypatch.setattr(engines, "read_text_table",
                        lambda *a, **k: pytest.fail("slow path used"))
    read_proteomics(clean)  # the clean file never needs the pandas parser


def _long_diann():
    return pd.DataFrame({
        "File.Name": ["x\\r1.d", "x\\r1.d", "x\\r2.d", "x\\r2.d", "x\\r2.d"],
        "Run": ["r1", "r1", "r2", "r2", "r2"],
        "Protein.Group": ["P1", "P1", "P1", "P2", "P3"],
        "Protein.Ids": ["P1", "P1", "P1", "P2", "P3"],
        "Protein.Names": ["A_HUMAN"] * 3 + ["B_HUMAN", "C_HUMAN"],
        "Genes": ["STAT1"] * 3 + ["STAT3", "JAK1"],
        "PG.MaxLFQ": [10.0, 10.0, 20.0, 30.0, 40.0],
        "Q.Value": [0.001, 0.002, 0.001, 0.001, 0.05],
        "PG.Q.Value": [0.001] * 5,
    })


@pytest.mark.parametrize("ext", ["tsv", "parquet"])
def test_tiny_diann_report(tmp_path, ext):
    df = _long_diann()
    p = tmp_path / f"report.{ext}"
    df.to_csv(p, sep="\t", index=False) if ext == "tsv" else df.to_parquet(p)
    a = read_proteomics(p)
    assert a.uns["source"]["format"] == "diann_report"
    assert list(a.var_names) == ["P1", "P2"]  # P3 fails the precursor q-value 0.01
    assert _vals(a, "P1", "r1") == 10 and _vals(a, "P2", "r2") == 30
    assert np.isnan(_vals(a, "P2", "r1"))
    assert read_proteomics(p, q_value=0.1).n_vars == 3


@pytest.mark.parametrize("ext", ["tsv", "parquet"])
def test_tiny_alphadia(tmp_path, ext):
    df = pd.DataFrame({"pg": ["P1", "P2"], "run_A1": [5.0, 0.0], "run_A2": [0.0, 7.0]})
    p = tmp_path / f"pg.matrix.{ext}"
    df.to_csv(p, sep="\t", index=False) if ext == "tsv" else df.to_parquet(p)
    a = read_proteomics(p)
    assert a.uns["source"]["format"] == "alphadia"
    np.testing.assert_array_equal(a.X, [[5, NAN], [NAN, 7]])  # 0 = missing


def test_tiny_alphadia_parquet_with_index(tmp_path):
    df = pd.DataFrame({"run_A1": [5.0, 0.0]}, index=pd.Index(["P1", "P2"], name="pg"))
    p = tmp_path / "pg.matrix.parquet"
    df.to_parquet(p)
    a = read_proteomics(p)
    assert list(a.var_names) == ["P1", "P2"]


def test_tiny_spectronaut_pivot_filtered_and_decimal_commas(tmp_path):
    p = _write(tmp_path / "spectronaut_pivot.tsv",
               "PG.ProteinGroups\tPG.Genes\tPG.ProteinDescriptions\t"
               "[1] 20240101_TEN_A1.raw.PG.Quantity\t[2] 20240101_TEN_A2.raw.PG.Quantity\n"
               "P42224\tSTAT1\tSignal transducer\t1234,5\tFiltered\n"
               "P40763\tSTAT3\tSignal transducer 3\tNaN\t99\n")
    a = read_proteomics(p)
    assert a.uns["source"]["format"] == "spectronaut_pivot"
    assert list(a.obs_names) == ["20240101_TEN_A1.raw", "20240101_TEN_A2.raw"]
    np.testing.assert_array_equal(a.X, [[1234.5, NAN], [NAN, 99]])
    assert run_label(a.obs_names[0]) == "20240101_TEN_A1"


def test_tiny_spectronaut_long(tmp_path):
    p = _write(tmp_path / "spectronaut_long.tsv",
               "R.FileName\tPG.ProteinGroups\tPG.Genes\tPG.Quantity\tPG.Qvalue\n"
               "runA1\tP1\tSTAT1\t10,5\t0,001\n"
               "runA1\tP2\tSTAT3\tFiltered\t0,001\n"
               "runA2\tP1\tSTAT1\t11\t0,001\n"
               "runA2\tP2\tSTAT3\t12\t0,5\n")
    a = read_proteomics(p)
    assert a.uns["source"]["format"] == "spectronaut_long"
    assert _vals(a, "P1", "runA1") == 10.5 and _vals(a, "P1", "runA2") == 11
    assert np.isnan(_vals(a, "P2", "runA1")) and np.isnan(_vals(a, "P2", "runA2"))


def test_tiny_maxquant_filters_and_gene_names(tmp_path):
    p = _write(tmp_path / "proteinGroups.txt",
               "Protein IDs\tMajority protein IDs\tGene names\tIntensity\tIntensity s1\t"
               "Intensity s2\tLFQ intensity s1\tLFQ intensity s2\tReverse\t"
               "Potential contaminant\tOnly identified by site\n"
               "P1;P1-2\tP1\tSTAT1\t30\t10\t20\t11\t0\t\t\t\n"
               "REV__P9\tREV__P9\t\t5\t5\t0\t5\t0\t+\t\t\n"
               "CON__P8\tCON__P8\tKRT1\t5\t5\t0\t5\t0\t\t+\t\n"
               "P7\tP7\tJAK1\t5\t5\t0\t5\t0\t\t\t+\n"
               "P2\tP2\tSTAT3\t4\t0\t4\t0\t4\t\t\t\n")
    a = read_proteomics(p)
    assert a.uns["source"]["format"] == "maxquant"
    assert list(a.var_names) == ["P1", "P2"] and list(a.var["gene"]) == ["STAT1", "STAT3"]
    np.testing.assert_array_equal(a.X, [[11, NAN], [NAN, 4]])  # LFQ preferred, 0 = missing
    assert a.uns["source"]["removed_rows"] == {"Reverse": 1, "Potential contaminant": 1,
                                               "Only identified by site": 1}


def test_tiny_maxquant_without_lfq_uses_intensity_and_fasta_genes(tmp_path):
    p = _write(tmp_path / "proteinGroups.txt",
               "Protein IDs\tFasta headers\tIntensity\tIntensity s1\tIntensity s2\n"
               "P1\tsp|P1|STAT1_HUMAN Signal OS=Homo sapiens GN=STAT1 PE=1\t30\t10\t20\n")
    a = read_proteomics(p)
    assert a.uns["source"]["quantity"] == "Intensity"
    assert list(a.obs_names) == ["s1", "s2"] and a.var["gene"].iloc[0] == "STAT1"


def test_tiny_fragpipe(tmp_path):
    p = _write(tmp_path / "combined_protein.tsv",
               "Protein\tProtein ID\tEntry Name\tGene\tDescription\ts1 Intensity\t"
               "s1 MaxLFQ Intensity\ts1 Razor Intensity\ts2 Intensity\ts2 MaxLFQ Intensity\t"
               "s2 Razor Intensity\n"
               "sp|P1|STAT1_HUMAN\tP1\tSTAT1_HUMAN\tSTAT1\tdesc\t9\t10\t8\t0\t0\t0\n")
    a = read_proteomics(p)
    assert a.uns["source"]["format"] == "fragpipe"
    assert a.uns["source"]["quantity"] == "MaxLFQ Intensity"
    assert list(a.obs_names) == ["s1", "s2"]
    np.testing.assert_array_equal(a.X, [[10], [NAN]])
    p2 = _write(tmp_path / "combined_protein2.tsv",
                "Protein ID\tGene\ts1 Intensity\ts1 Razor Intensity\ts2 Intensity\n"
                "P1\tSTAT1\t9\t8\t7\n")
    b = read_proteomics(p2)
    assert list(b.obs_names) == ["s1", "s2"] and b.uns["source"]["quantity"] == "Intensity"


def test_tiny_generic_csv_and_tidy_roundtrip(tmp_path):
    p = _write(tmp_path / "matrix.csv",
               "protein,gene,TEN_A1,TEN_A2\nP1,STAT1,1500.5,\nP2,STAT3,0,2e6\n")
    a = read_proteomics(p)
    assert a.uns["source"]["format"] == "generic"
    np.testing.assert_array_equal(a.X, [[1500.5, NAN], [NAN, 2e6]])
    assert list(a.var["gene"]) == ["STAT1", "STAT3"]
    out = write_tidy(a, tmp_path / "tidy.csv")
    back = read_proteomics(out)
    np.testing.assert_array_equal(back.X, a.X)
    assert list(back.var["gene"]) == ["STAT1", "STAT3"]
    tidy = to_tidy_frame(a)
    assert list(tidy.columns[:2]) == ["protein_id", "protein_ids"]


def test_h5ad_roundtrip(tmp_path):
    p = _write(tmp_path / "m.tsv", "pg\tr1\tr2\nP1\t1\t2\n")
    a = read_proteomics(p)
    out = write_h5ad(a, tmp_path / "m.h5ad")
    b = read_proteomics(out)
    np.testing.assert_array_equal(a.X, b.X)
    assert b.uns["source"]["format"] == "alphadia"


def test_detect_format_names():
    assert detect_format(["Protein.Group", "Genes", "a"]) == "diann_pg_matrix"
    assert detect_format(["R.FileName", "PG.ProteinGroups", "PG.Quantity"]) == "spectronaut_long"
    assert detect_format(["protein", "S1"]) == "generic"
    with pytest.raises(DvpInputError, match="matches no known protein table layout"):
        detect_format(["x", "y"])


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs(tmp_path):
    with pytest.raises(DvpInputError, match="does not exist"):
        read_proteomics(tmp_path / "nope.tsv")
    empty = _write(tmp_path / "empty.tsv", "")
    with pytest.raises(DvpInputError, match="empty"):
        read_proteomics(empty)
    text = _write(tmp_path / "text.csv", "protein,gene,note\nP1,STAT1,hello\nP2,STAT3,x\n")
    with pytest.raises(DvpInputError, match="no numeric column"):
        read_proteomics(text)
    dup = _write(tmp_path / "dup.tsv", "pg\tr1\tr1\nP1\t1\t2\n")
    with pytest.raises(DvpInputError, match="more than once"):
        read_proteomics(dup)
    ok = _write(tmp_path / "ok.tsv", "pg\tr1\nP1\t1\n")
    with pytest.raises(DvpInputError, match="unknown proteomics format"):
        read_proteomics(ok, fmt="skyline")
    with pytest.raises(DvpInputError, match="does not look like"):
        read_proteomics(ok, fmt="maxquant")
    one = _write(tmp_path / "one.tsv", "justonecolumn\nP1\n")
    with pytest.raises(DvpInputError, match="single column"):
        read_header(one)
