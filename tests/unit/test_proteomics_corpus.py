"""A corpus of every supported layout, built here from the engines' public documentation.

Column names follow the public documentation / example files of each engine (read, not
copied): DIA-NN README and report columns 1.8-2.x (vdemichev/DiaNN), AlphaDIA
``docs/methods/output-format.md`` and its breaking-changes table (MannLabs/alphadia:
``pg`` -> ``pg.name``, ``run`` -> ``raw.name``, ``intensity`` -> ``pg.intensity`` …),
Spectronaut report schemas (``R.FileName``, ``PG.ProteinGroups``, ``EG.PrecursorId``,
``[n] run.PG.Quantity``; candidates ``Comparison (group1/group2)``, ``AVG Log2 Ratio``),
MaxQuant ``proteinGroups.txt`` (also the real file in ../shared/data), FragPipe
``combined_protein.tsv`` (``<sample> MaxLFQ Intensity``, ``contam_``/``rev_``) and the
Perseus matrix format (``#!{Type}`` / ``#!{C:…}`` rows, cox-labs/perseuspy test matrices).
The values are synthetic. Every case is checked for dimensions, five spot values and the
log2 state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.proteomics.readers import read_proteomics

RUNS = ["D:\\DVP\\TEN_A1.d", "D:\\DVP\\TEN_A2.d", "D:\\DVP\\TEN_B1.d", "D:\\DVP\\TEN_B2.d"]
GENES = ["STAT1", "STAT3", "JAK1", "IRF9", "KRT14", "CD8A", "HLA-A", "GBP1"]


@dataclass
class Case:
    path: Path
    fmt: str
    shape: tuple[int, int]               # (runs, protein groups)
    spots: dict[tuple[str, str], float]  # (run, protein id) -> value
    log2: bool
    kwargs: dict = field(default_factory=dict)


def _matrix(seed: int, n_p: int = 8, n_r: int = 4, missing: float = 0.2, log2=False):
    rng = np.random.default_rng(seed)
    L = rng.normal(22, 2, (n_p, n_r)).round(3)
    V = L if log2 else np.round(np.exp2(L), 1)
    V[rng.random(V.shape) < missing] = np.nan
    V[0, 0] = L[0, 0] if log2 else np.round(np.exp2(L[0, 0]), 1)  # never all missing
    return V


def _spots(V, ids, runs, k=5):
    pos = [(i, j) for i in range(V.shape[0]) for j in range(V.shape[1])][::3][:k]
    return {(runs[j], ids[i]): V[i, j] for i, j in pos}


def _fmt(v, comma=False):
    if not np.isfinite(v):
        return ""
    s = repr(float(v))
    return s.replace(".", ",") if comma else s


# ----------------------------------------------------------------------------- builders
def diann_pg_matrix_18(tmp: Path) -> Case:
    V = _matrix(1)
    ids = [f"P{i:05d}" for i in range(8)]
    df = pd.DataFrame({"Protein.Group": ids, "Protein.Ids": [f"{p};{p}-2" for p in ids],
                       "Protein.Names": [f"{g}_HUMAN" for g in GENES], "Genes": GENES,
                       "First.Protein.Description": "desc"})
    for j, r in enumerate(RUNS):
        df[r] = V[:, j]
    cont = {"Protein.Group": "Cont_P02533", "Protein.Ids": "Cont_P02533",
            "Protein.Names": "K1C14_HUMAN", "Genes": "KRT14", "First.Protein.Description": "c",
            **dict.fromkeys(RUNS, 1e6)}
    df = pd.concat([df, pd.DataFrame([cont])], ignore_index=True)
    p = tmp / "report.pg_matrix.tsv"
    df.to_csv(p, sep="\t", index=False, na_rep="")
    return Case(p, "diann_pg_matrix", (4, 8), _spots(V, ids, RUNS), False)


def diann_pg_matrix_2x(tmp: Path) -> Case:
    V = _matrix(2)
    ids = [f"Q{i:05d};Q{i:05d}-3" for i in range(8)]
    runs = [f"TEN_{w}.raw" for w in ("A1", "A2", "B1", "B2")]
    df = pd.DataFrame({"Protein.Group": ids, "Protein.Names": "", "Genes": GENES,
                       "First.Protein.Description": "", "N.Sequences": 4,
                       "N.Proteotypic.Sequences": 3})
    for j, r in enumerate(runs):
        df[r] = V[:, j]
    p = tmp / "report.pg_matrix.2x.tsv"
    df.to_csv(p, sep="\t", index=False, na_rep="")
    return Case(p, "diann_pg_matrix", (4, 8), _spots(V, ids, runs), False)


def _long_rows(V, ids, runs, n_prec=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i, pg in enumerate(ids):
        for j, r in enumerate(runs):
            if not np.isfinite(V[i, j]):
                continue
            for k in range(n_prec):
                rows.append({"run": r, "pg": pg, "gene": GENES[i], "prec": f"PEPT{i}IDE{k}2",
                             "pgq": V[i, j], "prq": float(np.round(rng.uniform(1e4, 1e6), 1)),
                             "q": 0.001 if k < 2 else 0.5})
    return pd.DataFrame(rows)


def diann_report_18_tsv(tmp: Path) -> Case:
    V = _matrix(3)
    ids = [f"P{i:05d}" for i in range(8)]
    runs = ["TEN_A1", "TEN_A2", "TEN_B1", "TEN_B2"]
    lr = _long_rows(V, ids, runs)
    df = pd.DataFrame({
        "File.Name": "D:\\raw\\" + lr["run"] + ".d", "Run": lr["run"], "Protein.Group": lr["pg"],
        "Protein.Ids": lr["pg"], "Protein.Names": lr["gene"] + "_HUMAN", "Genes": lr["gene"],
        "PG.Quantity": lr["pgq"] * 1.1, "PG.Normalised": lr["pgq"] * 1.05, "PG.MaxLFQ": lr["pgq"],
        "Genes.Quantity": lr["pgq"], "Genes.Normalised": lr["pgq"], "Genes.MaxLFQ": lr["pgq"],
        "Genes.MaxLFQ.Unique": lr["pgq"], "Modified.Sequence": lr["prec"],
        "Stripped.Sequence": lr["prec"], "Precursor.Id": lr["prec"], "Precursor.Charge": 2,
        "Q.Value": lr["q"], "PEP": 0.01, "Global.Q.Value": 0.001, "Protein.Q.Value": 0.001,
        "PG.Q.Value": 0.001, "Global.PG.Q.Value": 0.001, "GG.Q.Value": 0.001,
        "Translated.Q.Value": 0, "Proteotypic": 1, "Precursor.Quantity": lr["prq"],
        "Precursor.Normalised": lr["prq"], "RT": 12.3, "iRT": 30.1})
    p = tmp / "report.tsv"
    df.to_csv(p, sep="\t", index=False)
    return Case(p, "diann_report", (4, 8), _spots(V, ids, runs), False)


def diann_report_2x_parquet(tmp: Path) -> Case:
    V = _matrix(4)
    ids = [f"P{i:05d}" for i in range(8)]
    runs = ["TEN_A1", "TEN_A2", "TEN_B1", "TEN_B2"]
    lr = _long_rows(V, ids, runs, seed=4)
    df = pd.DataFrame({
        "Run.Index": lr["run"].map({r: i for i, r in enumerate(runs)}), "Run": lr["run"],
        "Channel": "", "Precursor.Id": lr["prec"], "Modified.Sequence": lr["prec"],
        "Stripped.Sequence": lr["prec"], "Precursor.Charge": 2, "Precursor.Lib.Index": 7,
        "Decoy": 0, "Proteotypic": 1, "Precursor.Mz": 500.2, "Protein.Ids": lr["pg"],
        "Protein.Group": lr["pg"], "Protein.Names": lr["gene"] + "_HUMAN", "Genes": lr["gene"],
        "RT": 10.0, "Q.Value": lr["q"], "PEP": 0.01, "Global.Q.Value": 0.001,
        "Lib.Q.Value": 0.001, "PG.Q.Value": 0.001, "Global.PG.Q.Value": 0.001,
        "Lib.PG.Q.Value": 0.001, "Precursor.Quantity": lr["prq"],
        "Precursor.Normalised": lr["prq"], "PG.TopN": lr["pgq"] * 0.9, "PG.MaxLFQ": lr["pgq"],
        "Genes.MaxLFQ": lr["pgq"]})
    decoy = df.iloc[[0]].assign(**{"Decoy": 1, "Protein.Group": "P99999",
                                   "Protein.Ids": "P99999", "Q.Value": 0.001})
    p = tmp / "report.parquet"
    pd.concat([df, decoy], ignore_index=True).to_parquet(p)
    return Case(p, "diann_report", (4, 8), _spots(V, ids, runs), False)


def diann_pr_matrix_top3(tmp: Path) -> Case:
    rng = np.random.default_rng(5)
    ids = [f"P{i:05d}" for i in range(6)]
    runs = ["TEN_A1.raw", "TEN_A2.raw", "TEN_B1.raw"]
    rows, exp = [], {}
    for i, pg in enumerate(ids):
        vals = np.round(rng.uniform(1e4, 1e7, (4, 3)), 1)
        vals[rng.random(vals.shape) < 0.25] = np.nan
        vals[0, :] = np.round(rng.uniform(1e4, 1e7, 3), 1)
        for k in range(4):
            rows.append({"Protein.Group": pg, "Protein.Ids": pg, "Protein.Names": "",
                         "Genes": GENES[i], "First.Protein.Description": "", "Proteotypic": 1,
                         "Stripped.Sequence": f"PEP{i}K{k}", "Modified.Sequence": f"PEP{i}K{k}",
                         "Precursor.Charge": 2, "Precursor.Id": f"PEP{i}K{k}2",
                         **{r: vals[k, j] for j, r in enumerate(runs)}})
        for j, r in enumerate(runs):
            col = vals[:, j][np.isfinite(vals[:, j])]
            exp[(r, pg)] = np.sort(col)[::-1][:3].mean()
    p = tmp / "report.pr_matrix.tsv"
    pd.DataFrame(rows).to_csv(p, sep="\t", index=False, na_rep="")
    spots = dict(list(exp.items())[::3][:5])
    return Case(p, "diann_pr_matrix", (3, 6), spots, False, {"aggregate": "top3"})


def alphadia_pg_old_tsv(tmp: Path) -> Case:
    V = _matrix(6)
    ids = [f"P{i:05d}" for i in range(8)]
    runs = [f"20231017_OA2_TiHe_ADIAMA_HeLa_{k:02d}" for k in range(4)]
    df = pd.DataFrame({"pg": ids, **{r: np.nan_to_num(V[:, j], nan=0.0)
                                     for j, r in enumerate(runs)}})
    p = tmp / "pg.matrix.tsv"
    df.to_csv(p, sep="\t", index=False)
    return Case(p, "alphadia", (4, 8), _spots(V, ids, runs), False)


def alphadia_pg_new_parquet(tmp: Path) -> Case:
    V = _matrix(7)
    ids = [f"P{i:05d};P{i:05d}-2" for i in range(8)]
    runs = [f"run_{k}" for k in range(4)]
    df = pd.DataFrame({"pg.name": ids, **{r: np.nan_to_num(V[:, j], nan=0.0)
                                          for j, r in enumerate(runs)}})
    p = tmp / "pg.matrix.parquet"
    df.to_parquet(p)
    return Case(p, "alphadia", (4, 8), _spots(V, ids, runs), False)


def _alphadia_old_precursors(tmp: Path):
    rng = np.random.default_rng(8)
    ids = [f"P{i:05d}" for i in range(5)]
    runs = ["run_A1", "run_A2", "run_B1"]
    rows, exp = [], {}
    for i, pg in enumerate(ids):
        for r in runs:
            vals = np.round(rng.uniform(1e4, 1e6, 4), 1)
            for k, v in enumerate(vals):
                rows.append({"run": r, "precursor_idx": 100 * i + k, "elution_group_idx": i,
                             "sequence": f"PEP{i}K{k}", "charge": 2, "mods": "", "mod_sites": "",
                             "proteins": pg, "genes": GENES[i], "pg": pg, "pg_master": pg,
                             "pg_qval": 0.001, "qval": 0.001 if k < 3 else 0.2, "decoy": 0,
                             "intensity": v, "rt_observed": 600.5 + k, "mz_observed": 512.3,
                             "mobility_observed": 0.9, "proba": 0.01, "score": 50.0})
            exp[(r, pg)] = np.sort(vals[:3])[::-1][:3].mean()  # qval > 0.01 row dropped
    rows.append({**rows[0], "decoy": 1, "pg": "P_DECOY", "proteins": "P_DECOY"})
    p = tmp / "precursors.tsv"
    pd.DataFrame(rows).to_csv(p, sep="\t", index=False)
    return p, exp


def alphadia_precursors_old_top3(tmp: Path) -> Case:
    p, exp = _alphadia_old_precursors(tmp)
    return Case(p, "alphadia_precursors", (3, 5), dict(list(exp.items())[::2][:5]), False,
                {"aggregate": "top3"})


def alphadia_precursors_new_parquet(tmp: Path) -> Case:
    V = _matrix(9, n_p=6, n_r=3)
    ids = [f"P{i:05d}" for i in range(6)]
    runs = ["raw_A1", "raw_A2", "raw_B1"]
    lr = _long_rows(V, ids, runs, seed=9)
    df = pd.DataFrame({"raw.name": lr["run"], "precursor.idx": np.arange(len(lr)),
                       "precursor.sequence": lr["prec"], "precursor.charge": 2,
                       "precursor.mods": "", "precursor.mod_sites": "",
                       "precursor.qval": lr["q"], "precursor.decoy": 0,
                       "precursor.intensity": lr["prq"], "precursor.rt.observed": 500.0,
                       "precursor.mz.observed": 600.1, "pg.name": lr["pg"],
                       "pg.proteins": lr["pg"], "pg.genes": lr["gene"],
                       "pg.master_protein": lr["pg"], "pg.qval": 0.001, "pg.intensity": lr["pgq"]})
    p = tmp / "precursors.parquet"
    df.to_parquet(p)
    return Case(p, "alphadia_precursors", (3, 6), _spots(V, ids, runs), False)


def spectronaut_long_decimal_commas(tmp: Path) -> Case:
    V = _matrix(10)
    ids = [f"P{i:05d}" for i in range(8)]
    runs = ["20240101_TEN_A1.raw", "20240101_TEN_A2.raw", "20240101_TEN_B1.raw",
            "20240101_TEN_B2.raw"]
    lr = _long_rows(V, ids, runs, seed=10)
    lines = ["R.Condition\tR.FileName\tR.Replicate\tPG.ProteinAccessions\tPG.ProteinGroups\t"
             "PG.Genes\tPG.ProteinDescriptions\tPG.Qvalue\tPG.Quantity\tEG.PrecursorId\t"
             "EG.Qvalue\tEG.TotalQuantity (Settings)\tFG.Charge"]
    for r in lr.itertuples():
        lines.append(f"TEN\t{r.run}\t1\t{r.pg}\t{r.pg}\t{r.gene}\tdesc\t0,0001\t"
                     f"{_fmt(r.pgq, True)}\t_{r.prec}_.2\t{_fmt(r.q / 100, True)}\t"
                     f"{_fmt(r.prq, True)}\t2")
    p = tmp / "spectronaut_report.tsv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Case(p, "spectronaut_long", (4, 8), _spots(V, ids, runs), False)


def spectronaut_pivot_filtered(tmp: Path) -> Case:
    V = _matrix(11)
    ids = [f"P{i:05d}" for i in range(8)]
    runs = ["TEN_A1.raw", "TEN_A2.raw", "TEN_B1.raw", "TEN_B2.raw"]
    head = ["PG.ProteinGroups", "PG.ProteinAccessions", "PG.Genes", "PG.ProteinDescriptions"] + \
        [f"[{j + 1}] {r}.PG.Quantity" for j, r in enumerate(runs)]
    lines = ["\t".join(head)]
    for i, pg in enumerate(ids):
        cells = [_fmt(v) or "Filtered" for v in V[i]]
        lines.append("\t".join([pg, pg, GENES[i], "desc", *cells]))
    p = tmp / "spectronaut_pivot.tsv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Case(p, "spectronaut_pivot", (4, 8), _spots(V, ids, runs), False)


def maxquant_tiny(tmp: Path) -> Case:
    V = _matrix(12)
    ids = [f"P{i:05d}" for i in range(8)]
    samples = ["s1", "s2", "s3", "s4"]
    df = pd.DataFrame({"Protein IDs": [f"{p};CON__Q3MHN5" for p in ids],
                       "Majority protein IDs": ids, "Gene names": GENES,
                       "Fasta headers": "", "Reverse": "", "Potential contaminant": "",
                       "Only identified by site": "", "Intensity": 1e9,
                       **{f"Intensity {s}": 1e8 for s in samples},
                       **{f"LFQ intensity {s}": np.nan_to_num(V[:, j], nan=0.0)
                          for j, s in enumerate(samples)}})
    extra = pd.DataFrame([{**df.iloc[0].to_dict(), "Protein IDs": "REV__P1",
                           "Majority protein IDs": "REV__P1", "Reverse": "+"},
                          {**df.iloc[0].to_dict(), "Protein IDs": "CON__P2",
                           "Majority protein IDs": "CON__P2", "Potential contaminant": "+"}])
    p = tmp / "proteinGroups.txt"
    pd.concat([df, extra], ignore_index=True).to_csv(p, sep="\t", index=False)
    return Case(p, "maxquant", (4, 8), _spots(V, ids, samples), False)


def fragpipe_combined(tmp: Path) -> Case:
    V = _matrix(13)
    ids = [f"P{i:05d}" for i in range(8)]
    samples = ["TEN_A1", "TEN_A2", "TEN_B1", "TEN_B2"]
    df = pd.DataFrame({"Protein": [f"sp|{p}|{g}_HUMAN" for p, g in zip(ids, GENES, strict=True)],
                       "Protein ID": ids, "Entry Name": [f"{g}_HUMAN" for g in GENES],
                       "Gene": GENES, "Description": "d", "Combined Total Peptides": 3})
    for j, s in enumerate(samples):
        df[f"{s} Spectral Count"] = 5
        df[f"{s} Intensity"] = 1e7
        df[f"{s} MaxLFQ Intensity"] = np.nan_to_num(V[:, j], nan=0.0)
    bad = pd.DataFrame([{**df.iloc[0].to_dict(), "Protein": "contam_sp|P02533|K1C14_HUMAN",
                         "Protein ID": "P02533"},
                        {**df.iloc[0].to_dict(), "Protein": "rev_sp|P11111|X_HUMAN",
                         "Protein ID": "P11111"}])
    p = tmp / "combined_protein.tsv"
    pd.concat([df, bad], ignore_index=True).to_csv(p, sep="\t", index=False)
    return Case(p, "fragpipe", (4, 8), _spots(V, ids, samples), False)


def perseus_log2(tmp: Path) -> Case:
    V = _matrix(14, log2=True)
    ids = [f"P{i:05d}" for i in range(8)]
    cols = ["LFQ intensity A1", "LFQ intensity A2", "LFQ intensity B1", "LFQ intensity B2"]
    head = [*cols, "Protein IDs", "Majority protein IDs", "Gene names", "Reverse",
            "Potential contaminant"]
    lines = ["\t".join(head),
             "#!{Type}E\tE\tE\tE\tT\tT\tT\tC\tC",
             "#!{C:Group}lesional\tlesional\tnon-lesional\tnon-lesional\t\t\t\t\t",
             "#!{Description}\t\t\t\t\t\t\t\t"]
    for i, p_ in enumerate(ids):
        cells = [_fmt(v) or "NaN" for v in V[i]]
        lines.append("\t".join([*cells, p_, p_, GENES[i], "", ""]))
    lines.append("\t".join(["25.1"] * 4 + ["CON__P1", "CON__P1", "KRT1", "", "+"]))
    p = tmp / "perseus_matrix.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Case(p, "perseus", (4, 8), _spots(V, ids, cols), True)


def generic_log2_centred(tmp: Path) -> Case:
    V = _matrix(15, log2=True) - 22.0
    ids = [f"P{i:05d}" for i in range(8)]
    runs = ["S1", "S2", "S3", "S4"]
    df = pd.DataFrame({"protein": ids, "gene": GENES, **{r: V[:, j] for j, r in enumerate(runs)}})
    p = tmp / "log2_centred.csv"
    df.to_csv(p, index=False, na_rep="NaN")
    return Case(p, "generic", (4, 8), _spots(V, ids, runs), True)


def generic_thousands_separators(tmp: Path) -> Case:
    V = _matrix(16)
    ids = [f"P{i:05d}" for i in range(8)]
    runs = ["S1", "S2", "S3", "S4"]
    lines = ["protein,gene," + ",".join(runs)]
    for i in range(8):
        cells = [f'"{v:,.1f}"' if np.isfinite(v) else "" for v in V[i]]
        lines.append(",".join([ids[i], GENES[i], *cells]))
    p = tmp / "thousands.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Case(p, "generic", (4, 8), _spots(V, ids, runs), False)


def generic_semicolon_decimal_commas(tmp: Path) -> Case:
    V = _matrix(17)
    ids = [f"P{i:05d}" for i in range(8)]
    runs = ["S1", "S2", "S3", "S4"]
    lines = ["protein_id;gene;" + ";".join(runs)]
    for i in range(8):
        lines.append(";".join([ids[i], GENES[i], *[_fmt(v, True) for v in V[i]]]))
    p = tmp / "european.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Case(p, "generic", (4, 8), _spots(V, ids, runs), False)


BUILDERS = [diann_pg_matrix_18, diann_pg_matrix_2x, diann_report_18_tsv, diann_report_2x_parquet,
            diann_pr_matrix_top3, alphadia_pg_old_tsv, alphadia_pg_new_parquet,
            alphadia_precursors_old_top3, alphadia_precursors_new_parquet,
            spectronaut_long_decimal_commas, spectronaut_pivot_filtered, maxquant_tiny,
            fragpipe_combined, perseus_log2, generic_log2_centred, generic_thousands_separators,
            generic_semicolon_decimal_commas]


@pytest.mark.parametrize("build", BUILDERS, ids=[b.__name__ for b in BUILDERS])
def test_corpus_layout(build, tmp_path):
    case = build(tmp_path)
    a = read_proteomics(case.path, **case.kwargs)
    assert a.uns["source"]["format"] == case.fmt
    assert a.shape == case.shape
    assert a.uns["log2"]["input_is_log2"] is case.log2
    for (run, pid), value in case.spots.items():
        got = float(a[run, pid].X[0, 0])
        if np.isfinite(value):
            assert got == pytest.approx(value, rel=1e-12), (run, pid)
        else:
            assert np.isnan(got), (run, pid)
    assert not a.var["contaminant"].any() and not a.var["decoy"].any()


def test_corpus_contaminants_counted_and_kept_on_request(tmp_path):
    for build, n in ((diann_pg_matrix_18, 1), (maxquant_tiny, 1), (fragpipe_combined, 1),
                     (perseus_log2, 1)):
        case = build(tmp_path)
        a = read_proteomics(case.path)
        assert a.uns["filtering"]["contaminants_removed"] == n, build.__name__
        kept = read_proteomics(case.path, remove_contaminants=False, remove_decoys=False)
        assert kept.n_vars > a.n_vars and kept.var["contaminant"].sum() == n
    mq = read_proteomics(maxquant_tiny(tmp_path).path)
    assert mq.uns["filtering"]["decoys_removed"] == 1
    fp = read_proteomics(fragpipe_combined(tmp_path).path)
    assert fp.uns["filtering"]["decoys_removed"] == 1
    assert diann_report_2x_parquet(tmp_path) and read_proteomics(
        tmp_path / "report.parquet").uns["filtering"]["decoy_rows_removed"] == 1


def test_corpus_perseus_groups_and_not_logged_again(tmp_path):
    from napari_dvp.core.proteomics.processing import ProcessingParams, process

    case = perseus_log2(tmp_path)
    a = read_proteomics(case.path)
    assert list(a.obs["Group"]) == ["lesional", "lesional", "non-lesional", "non-lesional"]
    p = process(a, ProcessingParams(normalise="none", min_valid=0.0))
    np.testing.assert_allclose(p.X, a.X)  # already log2: values unchanged
    assert p.uns["processing"]["log2_applied"] is False


def test_corpus_refusals(tmp_path):
    p, _ = _alphadia_old_precursors(tmp_path)
    with pytest.raises(DvpInputError, match=r"precursor-level report.*--aggregate top3"):
        read_proteomics(p)  # the case 1: not 100 proteins x 90 'runs'
    with pytest.raises(DvpInputError, match="--aggregate top3"):
        read_proteomics(diann_pr_matrix_top3(tmp_path).path)
    cand = tmp_path / "candidates.tsv"
    cand.write_text("Comparison (group1/group2)\tProteinGroups\tGenes\tAVG Log2 Ratio\tPvalue\t"
                    "Qvalue\nA / B\tP1\tSTAT1\t1.2\t0.001\t0.01\n")
    with pytest.raises(DvpInputError, match=r"Spectronaut candidates.*PG pivot"):
        read_proteomics(cand)
    man = tmp_path / "manifest.csv"
    man.write_text("sample_id,well,class,region,replicate,n_cells,area_um2,n_shapes,cell_ids\n"
                   "S1,A1,keratinocyte,epidermis,1,3,50.0,3,1;2;3\n")
    with pytest.raises(DvpInputError, match="LMD manifest"):
        read_proteomics(man)
    mixed = tmp_path / "mixed.tsv"
    mixed.write_text("protein\tS1\tS2\nP1\t1234,5\t0.5\nP2\t10,25\t7.5\n")
    with pytest.raises(DvpInputError, match=r"mixes locales.*'S1'.*'S2'"):
        read_proteomics(mixed)
    amb = tmp_path / "ambiguous.csv"
    amb.write_text('protein,S1\nP1,"1,234"\nP2,"5,678"\n')
    with pytest.raises(DvpInputError, match=r"column 'S1'.*decimal comma or a thousands"):
        read_proteomics(amb)
    nothing = tmp_path / "nothing.tsv"
    nothing.write_text("alpha\tbeta\n1\t2\n")
    with pytest.raises(DvpInputError, match="matches no known protein table layout"):
        read_proteomics(nothing)


def test_log2_statement_and_refusals(tmp_path):
    case = generic_thousands_separators(tmp_path)
    with pytest.raises(DvpInputError, match="said to be log2"):
        read_proteomics(case.path, log2="yes")
    lg = generic_log2_centred(tmp_path)
    with pytest.raises(DvpInputError, match="negative"):
        read_proteomics(lg.path, log2="no")
    amb = tmp_path / "spectral_counts.csv"
    amb.write_text("protein,S1,S2\nP1,120,80\nP2,64,300\nP3,90,75\n")
    with pytest.raises(DvpInputError, match="--log2 yes or --log2 no"):
        read_proteomics(amb)
    a = read_proteomics(amb, log2="no")
    assert a.uns["log2"] == {"input_is_log2": False, "decided_by": "user",
                             "detail": a.uns["log2"]["detail"]}
    # a DIA-NN matrix someone log2-transformed: read as log2, with a note
    V = _matrix(1, log2=True)
    df = pd.DataFrame({"Protein.Group": [f"P{i}" for i in range(8)], "Genes": GENES,
                       **{r: V[:, j] for j, r in enumerate(RUNS)}})
    p = tmp_path / "logged.pg_matrix.tsv"
    df.to_csv(p, sep="\t", index=False, na_rep="")
    b = read_proteomics(p)
    assert b.uns["log2"]["input_is_log2"] and any("look log2" in n for n in b.uns["notes"])


@pytest.mark.slow
def test_wide_table_parses(tmp_path):
    """10^5 run columns with decimal commas are read exactly (timed in
    bench/bench_proteomics_wide.py, not here)."""
    rng = np.random.default_rng(0)
    n = 100_000
    vals = np.round(rng.uniform(1e4, 1e8, (3, n)), 1).astype(str)
    vals[:, 5] = "1234,5"  # a decimal comma forces the exact text parser
    vals[:, 7] = "99,5"
    vals = np.char.replace(vals, ".", ",")
    header = "protein\t" + "\t".join(f"S{j}" for j in range(n))
    body = "\n".join(f"P{i}\t" + "\t".join(vals[i]) for i in range(3))
    p = tmp_path / "wide.tsv"
    p.write_text(header + "\n" + body + "\n")
    a = read_proteomics(p)
    assert a.shape == (n, 3)
    assert float(a["S5", "P0"].X[0, 0]) == 1234.5
    assert float(a["S9", "P2"].X[0, 0]) == float(vals[2, 9].replace(",", "."))
