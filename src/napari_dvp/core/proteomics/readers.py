"""Read protein tables of every major search engine into one AnnData.

:func:`read_proteomics` recognises the layout from the table's content
(:func:`~.formats.detect_layout`) and returns an :class:`anndata.AnnData` with ``obs`` =
MS runs (index: the run name as written in the file), ``var`` = protein groups (index:
unique protein id; columns ``protein_ids, protein_names, gene, genes, description,
contaminant, decoy``) and ``X`` = values as read (float64, ``NaN`` = missing).

What else is decided on reading, and kept in ``uns``:

* ``uns["log2"]``: whether the values are already log2 (:mod:`.logscale`); linear
  intensities <= 0 are missing, log2 values are kept as they are;
* ``uns["filtering"]``: contaminant / decoy / site-only protein groups removed (or kept);
* ``uns["source"]``: file, layout, quantity used (e.g. ``PG.MaxLFQ``), aggregation;
* ``uns["notes"]``: things the user must hear (renamed duplicate ids, runs without values).

Numbers are read exactly (:mod:`.numbers`): decimal commas and thousands separators are
recognised per column, mixed locales are refused. Precursor-level reports without a
protein-group quantity are refused unless ``aggregate="top3"`` (:mod:`.aggregate`).
"""

from __future__ import annotations

import gzip
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..csv_safe import write_csv
from ..errors import DvpInputError, one_line
from ..limits import check_input_file
from .aggregate import AGGREGATES, top_n
from .contaminants import decoy_rows, plus_flag, prefix_flags
from .formats import GENERIC_ANNOT, GENERIC_GENE, GENERIC_ID, LAYOUTS, detect_layout
from .logscale import decide_log2
from .numbers import MISSING_WORDS, parse_numbers, parse_quantities
from .tables import TextTable, read_text_table

FORMATS: dict[str, str] = {k: v.description for k, v in LAYOUTS.items()
                           if v.level != "refused"}
FORMATS["h5ad"] = "AnnData .h5ad written by napari-dvp"
VAR_COLUMNS = ("protein_ids", "protein_names", "gene", "genes", "description")


# ----------------------------------------------------------------------------- header
def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _is_parquet(path: Path) -> bool:
    return ".parquet" in path.suffixes or path.suffix == ".pq"


def _peek(path: Path, n: int = 6) -> tuple[list[str], str | None, list[str]]:
    if not path.is_file():
        raise DvpInputError(f"{path} does not exist; give the search engine's protein table")
    if _is_parquet(path):
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names), None, []
        except Exception as exc:
            raise DvpInputError(f"{path.name} is not a readable parquet file ({exc})") from None
    try:
        with open(path, "rb") as raw:
            head = raw.read(4096)
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                head = fh.read(4096)
        with _open_text(path) as fh:
            lines = [fh.readline().rstrip("\r\n") for _ in range(n)]
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile, truncated stream
        raise DvpInputError(f"{path.name} could not be read ({type(exc).__name__}: "
                            f"{exc}); copy or export it again") from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise DvpInputError(f"{path.name} is not UTF-8 text (UTF-16 or binary); export the "
                            "table again as tab-separated text (UTF-8)")
    line = lines[0]
    if not line.strip():
        raise DvpInputError(f"{path.name} is empty or has no header line; export it again")
    sep = max(("\t", ",", ";"), key=line.count)
    if line.count(sep) == 0:
        raise DvpInputError(f"{path.name} has a single column; expected a tab/comma separated "
                            "table with one column per run")
    first_cells = [ln.split(sep, 1)[0] for ln in lines[1:] if ln]
    return [c.strip().strip('"') for c in line.split(sep)], sep, first_cells


def read_header(path: str | os.PathLike[str]) -> tuple[list[str], str | None]:
    """Column names of a table file and its separator (``None`` for parquet)."""
    cols, sep, _ = _peek(Path(path))
    return cols, sep


def detect_format(columns: list[str], annotation_rows: list[str] | None = None) -> str:
    """Name the layout (a key of :data:`FORMATS`) from a table's columns.

    Raises :class:`DvpInputError` for tables that are not protein quantities per run.
    """
    return detect_layout(list(columns), annotation_rows)


# ----------------------------------------------------------------------------- values
def to_intensity(frame: pd.DataFrame, source: str = "table") -> np.ndarray:
    """Quantity columns to float64 read exactly; zeros, negatives and missing words -> NaN."""
    out = parse_quantities(frame, source)
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def _text(frame, col: str | None) -> np.ndarray:
    if isinstance(frame, TextTable):
        return frame.col(col)
    if col is None or col not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[col].astype("string").fillna("").str.strip().to_numpy(dtype=object)


def run_label(run: str) -> str:
    """File name of a run without folders and raw-file extensions (``D:\\x\\A_1.d`` -> ``A_1``)."""
    name = re.split(r"[\\/]", str(run).strip())[-1]
    return re.sub(r"(\.(d|raw|wiff2?|mzml|dia|mgf|htrms|mzxml|gz|zip))+$", "", name,
                  flags=re.IGNORECASE)


def run_labels(runs) -> np.ndarray:
    """:func:`run_label` of many runs at once (vectorised)."""
    s = pd.Series(list(runs), dtype="string").str.strip().str.split(r"[\\/]", regex=True).str[-1]
    s = s.str.replace(r"(\.(d|raw|wiff2?|mzml|dia|mgf|htrms|mzxml|gz|zip))+$", "", regex=True,
                      flags=re.IGNORECASE)
    return s.fillna("").to_numpy(dtype=object)


@dataclass
class _Raw:
    """What a layout reader found, before the common checks."""

    ids: np.ndarray
    values: np.ndarray            # proteins x runs, as read (NaN = missing word/empty)
    runs: list[str]
    var: dict[str, np.ndarray] = field(default_factory=dict)
    contaminant: np.ndarray | None = None
    decoy: np.ndarray | None = None
    site_only: np.ndarray | None = None
    source: dict = field(default_factory=dict)
    obs: dict[str, list] = field(default_factory=dict)
    zero_is_missing: bool = True
    filtering: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- tables
def _read_text_table(path: Path, sep: str | None, usecols=None, skiprows=None) -> pd.DataFrame:
    """Every column as text (numbers are parsed by :mod:`.numbers`, exactly)."""
    if sep is None:
        return pd.read_parquet(path, columns=usecols)
    return pd.read_csv(path, sep=sep, usecols=usecols, dtype=str, keep_default_na=False,
                       quotechar='"', skiprows=skiprows, low_memory=False)


_NULLS = sorted({v for w in MISSING_WORDS - {"inf", "-inf", "+inf", "infinity", "-infinity",
                                             "+infinity"}
                 for v in (w, w.upper(), w.title())})


def _read_matrix_fast(path: Path, sep: str | None, text: list[str], numeric: list[str]
                      ) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """Text columns and a proteins x runs float64 block, parsed by pyarrow with explicit
    column types (no type inference, no per-cell Python work). ``None`` when the file
    needs the exact text parser (decimal commas, thousands separators, odd words …).
    """
    if sep is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    types = {**{c: pa.float64() for c in numeric}, **{c: pa.string() for c in text}}
    try:
        tbl = pacsv.read_csv(
            path, parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=_NULLS,
                                                 strings_can_be_null=False,
                                                 include_columns=text + numeric))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    values = np.empty((tbl.num_rows, len(numeric)), dtype=np.float64)
    for j, c in enumerate(numeric):
        values[:, j] = tbl.column(c).to_numpy()
    texts = {c: pc.utf8_trim_whitespace(tbl.column(c)).to_numpy(zero_copy_only=False)
             .astype(object) for c in text}
    return texts, values


def _numbers(df, cols: list[str], name: str) -> np.ndarray:
    if isinstance(df, TextTable):
        return parse_quantities(df.block(cols), name, names=cols)
    return parse_quantities(df[cols], name)


def _first_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys (first-seen order) and the row of each one's first occurrence."""
    codes, uniq = pd.factorize(np.asarray(keys, dtype=object), sort=False)
    first = np.full(len(uniq), -1)
    rows = np.arange(len(codes))[::-1]
    first[codes[::-1]] = rows
    return np.asarray(uniq, dtype=object), first


# ----------------------------------------------------------------------------- layouts
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


# ----------------------------------------------------------------------------- finishing
def _finish(raw: _Raw, source: Path, fmt: str, log2, remove_contaminants: bool,
            remove_decoys: bool) -> ad.AnnData:
    runs = [str(r) for r in raw.runs]
    idx = pd.Index(runs)
    dup = idx[idx.duplicated()]
    if len(dup):
        raise DvpInputError(f"{source.name} has run {dup[0]!r} more than once; "
                            "give each MS run a unique name")
    if not runs:
        raise DvpInputError(f"{source.name}: found no run (sample) columns with numbers; "
                            f"is it a {FORMATS.get(fmt, fmt)}?")
    values = np.asarray(raw.values, dtype=np.float64).reshape(len(raw.ids), len(runs))
    if values.size == 0:
        raise DvpInputError(f"{source.name} has no protein rows; export the table with proteins")
    values[~np.isfinite(values)] = np.nan
    state = decide_log2(values, log2, name=source.name,
                        engine_linear=fmt not in ("perseus", "generic"))
    if not state["input_is_log2"]:
        values[values <= 0] = np.nan
    if not np.isfinite(values).any():
        raise DvpInputError(f"{source.name} holds no intensity: every value is missing, zero, "
                            "NaN or infinite; check the export")
    n = len(raw.ids)
    cont = np.zeros(n, bool) if raw.contaminant is None else np.asarray(raw.contaminant, bool)
    decoy = np.zeros(n, bool) if raw.decoy is None else np.asarray(raw.decoy, bool)
    site = np.zeros(n, bool) if raw.site_only is None else np.asarray(raw.site_only, bool)
    drop = (cont & remove_contaminants) | (decoy & remove_decoys) | (site & remove_contaminants)
    filtering = {**raw.filtering,
                 "contaminants": int(cont.sum()), "decoys": int(decoy.sum()),
                 "only_identified_by_site": int(site.sum()),
                 "contaminants_removed": int((cont & remove_contaminants).sum()),
                 "decoys_removed": int((decoy & remove_decoys & ~(cont & remove_contaminants))
                                       .sum()),
                 "site_only_removed": int((site & remove_contaminants & ~cont & ~decoy).sum()),
                 "removed": int(drop.sum()), "remove_contaminants": bool(remove_contaminants),
                 "remove_decoys": bool(remove_decoys)}
    keep = ~drop
    if not keep.any():
        raise DvpInputError(f"{source.name}: every protein group is a contaminant or decoy; "
                            "check the export or keep them (--keep-contaminants)")
    values = values[keep]
    ids = pd.Series(np.asarray(raw.ids, dtype=object)[keep], dtype="string").fillna("") \
        .str.strip()
    ids = ids.mask(ids == "", "protein_" + pd.Series(np.flatnonzero(keep).astype(str)))
    var = pd.DataFrame(index=pd.Index(ids.to_numpy(dtype=object), name="protein_id"))
    for col in VAR_COLUMNS:
        vals = raw.var.get(col)
        var[col] = np.asarray(vals, dtype=object)[keep] if vals is not None else ""
    var = var.fillna("").astype(str)
    if (var["genes"] == "").all():
        var["genes"] = var["gene"]
    first = pd.Series(var["genes"].to_numpy(), dtype="string").str.split(";").str[0].fillna("")
    var["gene"] = np.where(var["gene"] == "", first.to_numpy(dtype=object), var["gene"])
    var["contaminant"] = cont[keep]
    var["decoy"] = decoy[keep]
    obs = pd.DataFrame({"run": runs}, index=pd.Index(runs, name="run_name"))
    obs["run_label"] = run_labels(runs)
    for k, v in raw.obs.items():
        obs[k] = [str(x) for x in v]
    notes = []
    with warnings.catch_warnings():  # duplicate protein ids are made unique just below
        warnings.filterwarnings("ignore", "Variable names are not unique", UserWarning)
        adata = ad.AnnData(X=values.T.copy(), obs=obs, var=var)
    if adata.var_names.has_duplicates:
        dups = adata.var_names[adata.var_names.duplicated()].unique()
        adata.var_names_make_unique()
        notes.append(f"{len(dups)} protein id(s) occur more than once (e.g. {dups[0]!r}); the "
                     "repeats were renamed with a -1, -2 … suffix")
    empty = ~np.isfinite(adata.X).any(axis=1)
    if empty.any():
        names = ", ".join(run_label(r) for r in adata.obs_names[empty][:5])
        notes.append(f"{int(empty.sum())} run(s) have no protein value at all ({names}); their "
                     "scores will be blank")
    if state["decided_by"] == "values" and state["input_is_log2"] and fmt not in (
            "perseus", "generic"):
        notes.append(f"values look log2 ({state['detail']}) although "
                     f"{LAYOUTS[fmt].description} is written as linear intensities; read as "
                     "log2 (pass --log2 no to override)")
    adata.uns["source"] = {"file": str(source), "format": fmt,
                           "description": FORMATS.get(fmt, fmt), **raw.source}
    adata.uns["log2"] = state
    adata.uns["filtering"] = filtering
    adata.uns["notes"] = notes
    if fmt == "maxquant":  # kept for readers of earlier files
        adata.uns["source"]["removed_rows"] = {
            "Reverse": int(decoy.sum()), "Potential contaminant": int(cont.sum()),
            "Only identified by site": int(site.sum())}
    return adata


# ----------------------------------------------------------------------------- public API
def read_proteomics(path: str | os.PathLike[str], fmt: str | None = None, *,
                    q_value: float = 0.01, log2="auto", aggregate: str | None = None,
                    remove_contaminants: bool = True, remove_decoys: bool = True
                    ) -> ad.AnnData:
    """Read a search engine's protein table into AnnData (obs = runs, var = proteins).

    Parameters
    ----------
    path
        The file (``.tsv``, ``.txt``, ``.csv``, optionally ``.gz``; ``.parquet``; ``.h5ad``).
    fmt
        Force a layout (a key of :data:`FORMATS`); detected from the content by default.
    q_value
        Precursor and protein-group q-value limit for long reports.
    log2
        Are the values already log2? ``"auto"`` (decide from the values), ``"yes"``, ``"no"``.
    aggregate
        ``None`` (use the engine's protein-group quantity; refuse precursor reports without
        one) or ``"top3"`` (mean of the 3 most intense precursors per group and run).
    remove_contaminants, remove_decoys
        Drop contaminant (and MaxQuant site-only) / decoy protein groups.

    Returns
    -------
    anndata.AnnData
        ``X`` values as read (NaN = missing), ``obs`` runs (``run``, ``run_label``),
        ``var`` proteins, ``uns["source"|"log2"|"filtering"|"notes"]``.

    Raises
    ------
    DvpInputError
        Unknown layout, not a protein table, unreadable numbers, duplicate run names …
    """
    path = Path(path)
    if path.exists():  # regular file, size cap, no decompression bomb
        check_input_file(path, "protein table", whole=path.suffix.lower() != ".h5ad")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise DvpInputError(f"aggregation {aggregate!r} is unknown; use "
                            f"{', '.join(AGGREGATES)}")
    if path.suffix.lower() == ".h5ad":
        return _read_h5ad(path)
    cols, sep, first_cells = _peek(path)
    if fmt is None:
        fmt = detect_layout(cols, first_cells, name=path.name)
    if fmt not in FORMATS or fmt == "h5ad":
        raise DvpInputError(f"unknown proteomics format {fmt!r}; choose one of "
                            f"{', '.join(k for k in FORMATS if k != 'h5ad')}")
    dup = pd.Index(cols)[pd.Index(cols).duplicated()]
    if len(dup):
        raise DvpInputError(f"{path.name} has column {dup[0]!r} more than once (duplicate run "
                            "name); rename the runs so each is unique")
    try:
        if fmt in _LONG:
            raw = _read_long(path, cols, sep, fmt, q_value, aggregate)
        else:
            raw = _READERS[fmt](path, cols, sep, aggregate=aggregate)
        return _finish(raw, path, fmt, log2, remove_contaminants, remove_decoys)
    except KeyError as exc:
        raise DvpInputError(f"{path.name} does not look like a {FORMATS[fmt]}: column "
                            f"{exc} is missing; check the export or choose another format"
                            ) from None
    except UnicodeDecodeError as exc:
        raise DvpInputError(f"{path.name} is not UTF-8 text ({exc.reason}, byte "
                            f"{exc.object[exc.start:exc.start + 1]!r} at {exc.start}); save it "
                            "as UTF-8 text") from None
    except (pd.errors.ParserError, ValueError) as exc:
        if isinstance(exc, DvpInputError):
            raise
        raise DvpInputError(f"{path.name} could not be parsed as a table ({one_line(exc)[:150]}"
                            "); export it again as tab-separated text") from None
    except (OSError, EOFError) as exc:  # truncated .gz, damaged parquet pages
        raise DvpInputError(f"{path.name} is damaged ({type(exc).__name__}: {exc}); copy or "
                            "export it again") from None


def _read_h5ad(path: Path) -> ad.AnnData:
    if not path.is_file():
        raise DvpInputError(f"{path} does not exist; give an .h5ad written by napari-dvp")
    try:
        adata = ad.read_h5ad(path)
    except Exception as exc:  # h5py OSError, KeyError … on a damaged or foreign file
        raise DvpInputError(f"{path.name} is not a readable .h5ad file ({type(exc).__name__}"
                            "); write it again with `napari-dvp proteins FILE --out x.h5ad`"
                            ) from None
    missing = [c for c in VAR_COLUMNS if c not in adata.var.columns]
    if missing:
        raise DvpInputError(f"{path.name} lacks protein annotations {missing}; write it "
                            "with `napari-dvp proteins FILE --out x.h5ad`")
    if "log2" not in adata.uns:
        adata.uns["log2"] = decide_log2(np.asarray(adata.X, dtype=float), "auto", path.name)
    return adata


def to_tidy_frame(adata: ad.AnnData) -> pd.DataFrame:
    """Proteins as rows: annotation columns, then one value column per run."""
    annot = adata.var[list(VAR_COLUMNS)].reset_index(names="protein_id")
    values = pd.DataFrame(np.asarray(adata.X, dtype=np.float64).T,
                          columns=[str(r) for r in adata.obs_names])
    return pd.concat([annot, values], axis=1)


def metadata(adata: ad.AnnData) -> dict:
    """What a reader of an output must know: source, log2 state, filters, notes."""
    def plain(v):
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple, np.ndarray)):
            return [plain(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        return v

    return {k: plain(adata.uns[k]) for k in ("source", "log2", "filtering", "processing",
                                               "notes") if k in adata.uns}


def write_tidy(adata: ad.AnnData, path: str | os.PathLike[str]) -> Path:
    """Write the tidy matrix as CSV (``.csv``), TSV (``.tsv``/``.txt``) or ``.h5ad``, atomically."""
    path = Path(path)
    if path.suffix.lower() == ".h5ad":
        return write_h5ad(adata, path)
    with atomic_path(path) as tmp:
        write_tidy_to(adata, tmp, path.suffix)
    return path


def write_tidy_to(adata: ad.AnnData, tmp: Path, suffix: str) -> None:
    """Write the tidy matrix to an (already temporary) path; the format follows ``suffix``."""
    if suffix.lower() == ".h5ad":
        adata.write_h5ad(tmp)
        return
    sep = "\t" if suffix.lower() in (".tsv", ".txt") else ","
    write_csv(to_tidy_frame(adata), tmp, sep=sep)


def write_h5ad(adata: ad.AnnData, path: str | os.PathLike[str]) -> Path:
    """Write AnnData to ``.h5ad`` atomically (obs = samples/runs, var = proteins)."""
    path = Path(path)
    with atomic_path(path, suffix=".h5ad") as tmp:
        adata.write_h5ad(tmp)
    return path
