"""One reader per search-engine layout (DIA-NN matrices and long reports, Spectronaut,
AlphaDIA, MaxQuant, FragPipe, Perseus, a generic wide matrix), each returning a
:class:`~.raw_tables._Raw`; :mod:`.readers` picks one and applies the common checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .aggregate import AGGREGATES, top_n
from .contaminants import decoy_rows, plus_flag, prefix_flags
from .formats import GENERIC_ANNOT, GENERIC_GENE, GENERIC_ID, LAYOUTS
from .numbers import parse_numbers, parse_quantities
from .raw_tables import (
    _first_rows,
    _numbers,
    _open_text,
    _Raw,
    _read_matrix_fast,
    _read_text_table,
    _text,
)
from .tables import read_text_table

_DIANN_ANNOT = {"Protein.Group", "Protein.Ids", "Protein.Names", "Genes",
                "First.Protein.Description", "N.Sequences", "N.Proteotypic.Sequences"}


def _read_diann_pg(path: Path, cols: list[str], sep, **_) -> _Raw:
    runs = [c for c in cols if c not in _DIANN_ANNOT]
    text = [c for c in ("Protein.Group", "Protein.Ids", "Protein.Names", "Genes",
                        "First.Protein.Description") if c in cols]
    # pyarrow's typed reader is fast for the usual hundreds of runs, slow for 10^4+ columns
    fast = _read_matrix_fast(path, sep, text, runs) if len(runs) <= 2000 else None
    if fast is not None:
        t, values = fast

        def col(c):
            return t.get(c, np.full(len(values), "", dtype=object))
    else:
        df = read_text_table(path, sep)
        values = _numbers(df, runs, path.name)

        def col(c):
            return _text(df, c)
    cont, decoy = prefix_flags(col("Protein.Group"))
    return _Raw(col("Protein.Group"), values, runs,
                {"protein_ids": col("Protein.Ids"), "protein_names": col("Protein.Names"),
                 "genes": col("Genes"), "description": col("First.Protein.Description")},
                contaminant=cont, decoy=decoy)


@dataclass(frozen=True)
class _Long:
    """Column names of a long (one row per precursor and run) report."""

    run: tuple[str, ...]
    pg: tuple[str, ...]
    annot: dict
    pg_quantity: tuple[str, ...]
    precursor_quantity: tuple[str, ...]
    precursor_key: tuple[tuple[str, ...], ...]
    q_columns: tuple[str, ...]
    hint: str


_LONG = {
    "diann_report": _Long(
        run=("Run", "File.Name"), pg=("Protein.Group",),
        annot={"protein_ids": "Protein.Ids", "protein_names": "Protein.Names",
               "genes": "Genes", "description": "First.Protein.Description"},
        pg_quantity=("PG.MaxLFQ", "PG.Quantity"),
        precursor_quantity=("Precursor.Normalised", "Precursor.Quantity"),
        precursor_key=(("Precursor.Id",), ("Modified.Sequence", "Precursor.Charge")),
        q_columns=("Q.Value", "PG.Q.Value"), hint="report.pg_matrix.tsv"),
    "spectronaut_long": _Long(
        run=("R.FileName", "R.Label", "R.Raw File Name"),
        pg=("PG.ProteinGroups", "PG.ProteinAccessions"),
        annot={"protein_ids": "PG.ProteinAccessions", "protein_names": "PG.ProteinNames",
               "genes": "PG.Genes", "description": "PG.ProteinDescriptions"},
        pg_quantity=("PG.Quantity",),
        precursor_quantity=("EG.TotalQuantity (Settings)", "FG.Quantity", "FG.MS2Quantity"),
        precursor_key=(("EG.PrecursorId",), ("FG.Id",), ("EG.ModifiedSequence", "FG.Charge")),
        q_columns=("PG.Qvalue", "EG.Qvalue"), hint="a report with PG.Quantity"),
    "alphadia_precursors": _Long(
        run=("raw.name", "run"), pg=("pg.name", "pg"),
        annot={"protein_ids": "pg.proteins", "genes": "pg.genes"},
        pg_quantity=("pg.intensity",),
        precursor_quantity=("precursor.intensity", "intensity"),
        precursor_key=(("precursor.mod_seq_charge_hash",), ("mod_seq_charge_hash",),
                       ("precursor.sequence", "precursor.mods", "precursor.charge"),
                       ("sequence", "mods", "charge"), ("precursor_idx",)),
        q_columns=("precursor.qval", "pg.qval", "qval", "pg_qval"), hint="pg.matrix.tsv"),
}
_ALPHADIA_OLD_ANNOT = {"protein_ids": "proteins", "genes": "genes"}


def _first(cols: set[str], names) -> str | None:
    return next((c for c in names if c in cols), None)


def _read_long(path: Path, cols: list[str], sep, fmt: str, q_value: float,
               aggregate: str | None, **_) -> _Raw:
    spec = _LONG[fmt]
    have = set(cols)
    run_col, pg_col = _first(have, spec.run), _first(have, spec.pg)
    if run_col is None or pg_col is None:
        raise KeyError(spec.run[0] if run_col is None else spec.pg[0])
    annot = dict(spec.annot)
    if fmt == "alphadia_precursors" and run_col == "run":
        annot = dict(_ALPHADIA_OLD_ANNOT)
    pg_q = _first(have, spec.pg_quantity)
    pr_q = _first(have, spec.precursor_quantity)
    if fmt == "alphadia_precursors" and run_col == "run":
        pg_q = None  # AlphaDIA 1.x `intensity`: not documented as a protein-group quantity
    key = next((k for k in spec.precursor_key if set(k) <= have), ())
    name = LAYOUTS[fmt].description
    if aggregate is None and pg_q is None:
        what = "a precursor-level report" if pr_q else "a report"
        raise DvpInputError(f"{path.name} is {what} ({name}) without a protein-group quantity; "
                            f"export the protein-group matrix ({spec.hint}) or pass "
                            "--aggregate top3")
    if aggregate is not None and (pr_q is None or not key):
        raise DvpInputError(f"{path.name}: --aggregate needs precursor quantities and ids "
                            f"({spec.precursor_quantity[0]}, {'+'.join(spec.precursor_key[0])}),"
                            " which this report lacks; export them or drop --aggregate")
    qcols = [c for c in spec.q_columns if c in have]
    dcols = [c for c in ("Decoy", "decoy", "precursor.decoy", "EG.IsDecoy") if c in have]
    quant = pr_q if aggregate is not None else pg_q
    want = list(dict.fromkeys([run_col, pg_col, *[c for c in annot.values() if c in have],
                               quant, *qcols, *dcols,
                               *(key if aggregate is not None else ())]))
    df = _read_text_table(path, sep, usecols=want)
    nums = parse_quantities(df[[quant, *qcols]], path.name)
    decoy = decoy_rows(df)
    keep = ~decoy
    for j in range(len(qcols)):
        q = nums[:, j + 1]
        keep &= np.where(np.isnan(q), 1.0, q) <= q_value
    filtering = {"decoy_rows_removed": int(decoy.sum())}
    if not keep.any():
        raise DvpInputError(f"{path.name}: no row passes the q-value filter ({', '.join(qcols)} "
                            f"<= {q_value}); raise the q-value limit or check the report")
    sub = df.loc[keep]
    v = nums[keep, 0]
    pg = sub[pg_col].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    run = sub[run_col].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    if aggregate is not None:
        prec = sub[key[0]].astype(str)
        for k in key[1:]:
            prec = prec + "\x1f" + sub[k].astype(str)
        prec = prec.to_numpy(dtype=object)
        n = AGGREGATES[aggregate]
        ids, runs, values = top_n(pg, run, prec, v, n=n)
        source = {"quantity": f"{aggregate} of {quant}", "aggregate": aggregate}
    else:
        ids, runs, values = _pivot_max(pg, run, v)
        source = {"quantity": quant}
    first = pd.DataFrame({c: sub[c].to_numpy() for c in annot.values() if c in sub.columns})
    first["__pg"] = pg
    first = first.groupby("__pg", sort=False).first().reindex(ids)
    var = {k: _text(first, c) for k, c in annot.items()}
    cont, dec = prefix_flags(ids)
    return _Raw(ids, values, list(runs), var, contaminant=cont, decoy=dec, source=source,
                filtering=filtering)


def _pivot_max(pg: np.ndarray, run: np.ndarray, v: np.ndarray):
    """Long (protein group, run, value) -> proteins x runs, max per cell (the engine's
    protein-group quantity repeats on every precursor row of that group and run)."""
    pi, ids = pd.factorize(pg, sort=False)
    ri, runs = pd.factorize(run, sort=False)
    out = np.full((len(ids), len(runs)), -np.inf)
    ok = np.isfinite(v)
    np.maximum.at(out, (pi[ok], ri[ok]), v[ok])
    out[~np.isfinite(out)] = np.nan
    return np.asarray(ids, dtype=object), np.asarray(runs, dtype=object), out


def _read_diann_pr_matrix(path: Path, cols: list[str], sep, aggregate: str | None, **_) -> _Raw:
    annot = _DIANN_ANNOT | {"Proteotypic", "Stripped.Sequence", "Modified.Sequence",
                            "Precursor.Charge", "Precursor.Id"}
    runs = [c for c in cols if c not in annot]
    if aggregate is None:
        raise DvpInputError(f"{path.name} is a DIA-NN precursor matrix (one row per precursor); "
                            "export report.pg_matrix.tsv or pass --aggregate top3")
    df = read_text_table(path, sep)
    vals = _numbers(df, runs, path.name)
    key = "Precursor.Id" if "Precursor.Id" in df else "Modified.Sequence"
    n_r = len(runs)
    pg = np.repeat(_text(df, "Protein.Group"), n_r)
    prec = np.repeat(_text(df, key), n_r)
    run = np.tile(np.asarray(runs, dtype=object), len(df))
    ids, found_runs, values = top_n(pg, run, prec, vals.ravel(), n=AGGREGATES[aggregate])
    uniq, first_rows = _first_rows(_text(df, "Protein.Group"))
    first = df.take(first_rows[pd.Index(uniq).get_indexer(ids)])
    var = {"protein_ids": _text(first, "Protein.Ids"),
           "protein_names": _text(first, "Protein.Names"), "genes": _text(first, "Genes"),
           "description": _text(first, "First.Protein.Description")}
    order = [runs.index(r) for r in found_runs]
    full = np.full((len(ids), n_r), np.nan)
    full[:, order] = values
    cont, dec = prefix_flags(ids)
    return _Raw(ids, full, runs, var, contaminant=cont, decoy=dec,
                source={"quantity": f"{aggregate} of precursor quantities",
                        "aggregate": aggregate})


def _read_spectronaut_pivot(path: Path, cols: list[str], sep, **_) -> _Raw:
    df = read_text_table(path, sep)
    pg_col = "PG.ProteinGroups" if "PG.ProteinGroups" in df else "PG.ProteinAccessions"
    qcols = [c for c in cols if c.endswith(".PG.Quantity")]
    if not qcols:
        raise KeyError("<run>.PG.Quantity")
    runs = [re.sub(r"^\[\d+\]\s*", "", c[: -len(".PG.Quantity")]) for c in qcols]
    vals = _numbers(df, qcols, path.name)
    if "EG.PrecursorId" in df or "FG.Id" in df or pd.Series(df.col(pg_col)).duplicated().any():
        # a precursor-level pivot repeats the protein-group quantity on every precursor row
        pg = _text(df, pg_col)
        codes, ids = pd.factorize(pg, sort=False)
        agg = np.full((len(ids), len(qcols)), -np.inf)
        for j in range(len(qcols)):
            ok = np.isfinite(vals[:, j])
            np.maximum.at(agg[:, j], codes[ok], vals[ok, j])
        agg[~np.isfinite(agg)] = np.nan
        df = df.take(_first_rows(pg)[1])
        vals = agg
    cont, dec = prefix_flags(_text(df, pg_col), _text(df, "PG.ProteinAccessions"))
    return _Raw(_text(df, pg_col), vals, runs,
                {"protein_ids": _text(df, "PG.ProteinAccessions") if "PG.ProteinAccessions"
                 in df else _text(df, pg_col),
                 "protein_names": _text(df, "PG.ProteinNames"), "genes": _text(df, "PG.Genes"),
                 "description": _text(df, "PG.ProteinDescriptions")},
                contaminant=cont, decoy=dec, source={"quantity": "PG.Quantity"})


def _read_maxquant(path: Path, cols: list[str], sep, **_) -> _Raw:
    df = read_text_table(path, sep)
    prefix = "LFQ intensity " if any(c.startswith("LFQ intensity ") for c in cols) \
        else "Intensity "
    qcols = [c for c in cols if c.startswith(prefix)]
    if not qcols:
        raise KeyError("LFQ intensity <run>")
    id_col = "Majority protein IDs" if "Majority protein IDs" in df else "Protein IDs"
    genes = _text(df, "Gene names")
    if "Gene names" not in df and "Fasta headers" in df:
        genes = (pd.Series(df.col("Fasta headers"), dtype="string").str.findall(r"GN=(\S+)")
                 .str.join(";").fillna("").to_numpy(dtype=object))
    pcont, pdec = prefix_flags(_text(df, id_col))
    cont = plus_flag(df, "Potential contaminant") | plus_flag(df, "Contaminant") | pcont
    dec = plus_flag(df, "Reverse") | pdec
    return _Raw(_text(df, id_col), _numbers(df, qcols, path.name),
                [c[len(prefix):] for c in qcols],
                {"protein_ids": _text(df, "Protein IDs"),
                 "protein_names": _text(df, "Protein names"), "genes": genes,
                 "description": _text(df, "Fasta headers")},
                contaminant=cont, decoy=dec, site_only=plus_flag(df, "Only identified by site"),
                source={"quantity": prefix.strip()})


def _read_fragpipe(path: Path, cols: list[str], sep, **_) -> _Raw:
    df = read_text_table(path, sep)
    other = (" MaxLFQ Intensity", " Razor Intensity", " Unique Intensity", " Total Intensity")
    for suffix in (" MaxLFQ Intensity", " Intensity", " Razor Intensity"):
        qcols = [c for c in cols if c.endswith(suffix) and c != suffix.strip()
                 and (suffix != " Intensity" or not c.endswith(other))]
        if qcols:
            break
    else:
        raise KeyError("<run> Intensity")
    gene_col = "Gene" if "Gene" in cols else ("Gene Names" if "Gene Names" in cols else None)
    desc = "Description" if "Description" in cols else "Protein Description"
    cont, dec = prefix_flags(_text(df, "Protein"), _text(df, "Protein ID"))
    return _Raw(_text(df, "Protein ID"), _numbers(df, qcols, path.name),
                [c[: -len(suffix)] for c in qcols],
                {"protein_ids": _text(df, "Protein ID"), "protein_names": _text(df, "Entry Name"),
                 "genes": _text(df, gene_col), "description": _text(df, desc)},
                contaminant=cont, decoy=dec, source={"quantity": suffix.strip()})


_ALPHADIA_ANNOT = {"pg", "pg.name", "genes", "gene", "proteins", "protein_names", "pg.genes",
                   "pg.proteins", "pg.master_protein"}


def _read_alphadia(path: Path, cols: list[str], sep, **_) -> _Raw:
    df = read_text_table(path, sep)
    pg_col = "pg.name" if "pg.name" in df else "pg"
    runs = [c for c in df.columns if c not in _ALPHADIA_ANNOT]
    parsed = parse_numbers(df.block(runs), path.name, names=runs)
    text = [runs[j] for j in np.flatnonzero(parsed.formats == "text")]
    if text:
        raise DvpInputError(f"{path.name}: column {text[0]!r} holds text "
                            f"({parsed.text_example[runs.index(text[0])]!r}), so this is not an "
                            "AlphaDIA pg.matrix (one number per run); give pg.matrix.tsv")
    gene_col = next((c for c in ("pg.genes", "genes", "gene") if c in df), None)
    prot_col = next((c for c in ("pg.proteins", "proteins") if c in df), None)
    cont, dec = prefix_flags(_text(df, pg_col), _text(df, prot_col))
    return _Raw(_text(df, pg_col), parsed.values, [str(r) for r in runs],
                {"protein_ids": _text(df, prot_col or pg_col), "genes": _text(df, gene_col)},
                contaminant=cont, decoy=dec)


def _read_perseus(path: Path, cols: list[str], sep, **_) -> _Raw:
    if sep is None:
        raise DvpInputError(f"{path.name}: a Perseus matrix is a text file, not parquet")
    with _open_text(path) as fh:
        fh.readline()
        annot_rows, n_skip = [], 0
        for line in fh:
            if not line.startswith("#!{"):
                break
            annot_rows.append(line.rstrip("\r\n").split(sep))
            n_skip += 1
    rows = {}
    for r in annot_rows:
        m = re.match(r"#!\{([^}]*)\}(.*)", r[0])
        rows[m.group(1)] = [m.group(2), *r[1:]] + [""] * (len(cols) - len(r))
    if "Type" not in rows:
        raise DvpInputError(f"{path.name}: Perseus matrix without a #!{{Type}} row; export it "
                            "again from Perseus")
    types = [t.strip() for t in rows["Type"][: len(cols)]]
    main = [c for c, t in zip(cols, types, strict=True) if t == "E"]
    if not main:
        raise DvpInputError(f"{path.name}: Perseus matrix without main (E) columns; mark the "
                            "intensity columns as main columns in Perseus")
    df = read_text_table(path, sep, skip_after_header=n_skip)
    text_cols = [c for c, t in zip(cols, types, strict=True) if t == "T"]
    low = {c: c.strip().lower() for c in text_cols}
    id_col = next((c for c in text_cols if low[c] in ("majority protein ids", "protein ids",
                                                     "protein.group", "protein id", "pg",
                                                     "protein")), None) \
        or next((c for c in text_cols if low[c] in GENERIC_ID), None) \
        or (text_cols[0] if text_cols else None)
    if id_col is None:
        raise DvpInputError(f"{path.name}: Perseus matrix without a text (T) column of protein "
                            "ids; keep the protein id column when exporting")
    gene_col = next((c for c in text_cols if low[c] in GENERIC_GENE), None)
    pcont, pdec = prefix_flags(_text(df, id_col))
    obs = {}
    for key, vals in rows.items():
        if key.startswith("C:"):
            obs[key[2:]] = [vals[cols.index(c)] for c in main]
    return _Raw(_text(df, id_col), _numbers(df, main, path.name), main,
                {"protein_ids": _text(df, "Protein IDs") if "Protein IDs" in df
                 else _text(df, id_col), "protein_names": _text(df, "Protein names"),
                 "genes": _text(df, gene_col), "description": _text(df, "Fasta headers")},
                contaminant=plus_flag(df, "Potential contaminant") | plus_flag(df, "Contaminant")
                | pcont, decoy=plus_flag(df, "Reverse") | pdec,
                site_only=plus_flag(df, "Only identified by site"), obs=obs,
                source={"quantity": "main (E) columns", "perseus_rows": sorted(rows)})


def _read_generic(path: Path, cols: list[str], sep, **_) -> _Raw:
    df = read_text_table(path, sep)
    lower = {c: c.strip().lower() for c in df.columns}
    cand = [c for c in df.columns if lower[c] not in GENERIC_ANNOT]
    parsed = parse_numbers(df.block(cand), path.name, names=cand)
    numeric, text = [], []
    for j, c in enumerate(cand):
        fmt, frac = parsed.formats[j], parsed.text_fraction[j]
        if fmt != "text":
            numeric.append(j)
        elif frac >= 1.0 or frac > 0.5:
            text.append(c)
        else:
            raise DvpInputError(f"{path.name}: column {c!r} mixes numbers and text "
                                f"({parsed.text_example[j]!r}); fix or re-export the table")
    if not numeric:
        raise DvpInputError(f"{path.name} has no numeric column (no run with intensities); "
                            "export proteins as rows and one numeric column per run")
    text_cols = [c for c in df.columns if lower[c] in GENERIC_ANNOT] + text
    id_col = next((c for c in text_cols if lower[c] in GENERIC_ID), None) \
        or next((c for c in text_cols if lower[c] in GENERIC_GENE), None)
    if id_col is None:
        raise DvpInputError(f"{path.name} has no protein id column (protein, protein_id, gene "
                            "…); name the id column")
    gene_col = next((c for c in text_cols if lower[c] in GENERIC_GENE), None)
    genes_col = next((c for c in text_cols if lower[c] == "genes"), gene_col)
    runs = [cand[j] for j in numeric]
    ids_col = next((c for c in text_cols if lower[c] == "protein_ids"), id_col)
    cont, dec = prefix_flags(_text(df, id_col))
    return _Raw(_text(df, id_col), parsed.values[:, numeric], runs,
                {"protein_ids": _text(df, ids_col),
                 "protein_names": _text(df, next((c for c in text_cols if lower[c] in
                                                  ("protein_names", "protein names")), None)),
                 "gene": _text(df, gene_col), "genes": _text(df, genes_col),
                 "description": _text(df, next((c for c in text_cols
                                                if lower[c] == "description"), None))},
                contaminant=cont, decoy=dec)


_READERS = {"diann_pg_matrix": _read_diann_pg, "diann_pr_matrix": _read_diann_pr_matrix,
            "spectronaut_pivot": _read_spectronaut_pivot, "maxquant": _read_maxquant,
            "fragpipe": _read_fragpipe, "alphadia": _read_alphadia, "perseus": _read_perseus,
            "generic": _read_generic}


