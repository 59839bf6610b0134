"""Read protein tables of every major search engine into one AnnData.

:func:`read_proteomics` detects the format from the column names and returns an
:class:`anndata.AnnData` with ``obs`` = MS runs (index: the run name as written in
the file), ``var`` = protein groups (index: unique protein id; columns
``protein_ids, protein_names, gene, genes, description``) and ``X`` = intensities
(float64, ``NaN`` = missing; zeros and "Filtered" cells are missing too).

Formats (``FORMATS``): DIA-NN ``pg_matrix`` and long ``report.tsv``/``.parquet``,
AlphaDIA ``pg.matrix.tsv``/``.parquet``, Spectronaut pivot and long reports,
MaxQuant ``proteinGroups.txt``, FragPipe ``combined_protein.tsv``, a generic
CSV/TSV matrix and ``.h5ad`` written by :func:`write_h5ad`.
"""

from __future__ import annotations

import gzip
import os
import re
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..csv_safe import write_csv
from ..errors import DvpInputError, one_line
from ..limits import check_input_file

FORMATS: dict[str, str] = {
    "diann_pg_matrix": "DIA-NN protein-group matrix (report.pg_matrix.tsv)",
    "diann_report": "DIA-NN long report (report.tsv / report.parquet)",
    "alphadia": "AlphaDIA protein matrix (pg.matrix.tsv / .parquet)",
    "spectronaut_pivot": "Spectronaut pivot report (PG.Quantity per run)",
    "spectronaut_long": "Spectronaut long report (R.FileName, PG.Quantity)",
    "maxquant": "MaxQuant proteinGroups.txt",
    "fragpipe": "FragPipe combined_protein.tsv",
    "generic": "generic matrix (protein column + one numeric column per run)",
    "h5ad": "AnnData .h5ad written by napari-dvp",
}
VAR_COLUMNS = ("protein_ids", "protein_names", "gene", "genes", "description")
_MISSING_WORDS = {"", "filtered", "nan", "na", "n/a", "none", "null", "#n/a", "-", "inf"}
_GENERIC_GENE = ("gene", "genes", "gene names", "gene_names", "gene name", "gene_name",
                 "gene symbol", "gene_symbol", "symbol", "pg.genes")
_GENERIC_ID = ("protein_id", "protein id", "protein", "protein ids", "protein.group",
               "protein group", "protein_group", "uniprot", "accession", "pg",
               "majority protein ids")
_GENERIC_ANNOT = set(_GENERIC_GENE) | set(_GENERIC_ID) | {
    "protein_ids", "protein_names", "protein names", "description", "protein.names",
    "protein.ids", "first.protein.description", "fasta headers"}


# ----------------------------------------------------------------------------- header / detect
def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _is_parquet(path: Path) -> bool:
    return ".parquet" in path.suffixes or path.suffix == ".pq"


def read_header(path: str | os.PathLike[str]) -> tuple[list[str], str | None]:
    """Column names of a table file and its separator (``None`` for parquet)."""
    path = Path(path)
    if not path.is_file():
        raise DvpInputError(f"{path} does not exist; give the search engine's protein table")
    if _is_parquet(path):
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names), None
        except Exception as exc:
            raise DvpInputError(f"{path.name} is not a readable parquet file ({exc})") from None
    try:
        with open(path, "rb") as raw:
            head = raw.read(4096)
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                head = fh.read(4096)
        with _open_text(path) as fh:
            line = fh.readline().rstrip("\r\n")
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile, truncated stream
        raise DvpInputError(f"{path.name} could not be read ({type(exc).__name__}: "
                            f"{exc}); copy or export it again") from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise DvpInputError(f"{path.name} is not UTF-8 text (UTF-16 or binary); export the "
                            "table again as tab-separated text (UTF-8)")
    if not line.strip():
        raise DvpInputError(f"{path.name} is empty or has no header line; export it again")
    sep = max(("\t", ",", ";"), key=line.count)
    if line.count(sep) == 0:
        raise DvpInputError(f"{path.name} has a single column; expected a tab/comma separated "
                            "table with one column per run")
    return [c.strip().strip('"') for c in line.split(sep)], sep


def detect_format(columns: list[str]) -> str:
    """Name the format (a key of :data:`FORMATS`) from a table's column names."""
    cols = set(columns)
    if "Protein.Group" in cols and "Run" in cols | {"File.Name"} and (
            "PG.MaxLFQ" in cols or "PG.Quantity" in cols):
        return "diann_report"
    if "Protein.Group" in cols and ("Genes" in cols or "Protein.Ids" in cols):
        return "diann_pg_matrix"
    if "R.FileName" in cols and "PG.ProteinGroups" in cols:
        return "spectronaut_long"
    if "PG.ProteinGroups" in cols and any(c.endswith(".PG.Quantity") for c in columns):
        return "spectronaut_pivot"
    if ("Protein IDs" in cols or "Majority protein IDs" in cols) and any(
            c.startswith(("LFQ intensity ", "Intensity ")) for c in columns):
        return "maxquant"
    if "Protein ID" in cols and any(c.endswith(" Intensity") for c in columns):
        return "fragpipe"
    if "pg" in cols:
        return "alphadia"
    return "generic"


# ----------------------------------------------------------------------------- value parsing
def to_intensity(frame: pd.DataFrame) -> np.ndarray:
    """Convert quantity columns to float64; zeros, "Filtered", text and <= 0 become NaN.

    Decimal commas (``"1234,5"``) are read as decimal points.
    """
    out = np.empty(frame.shape, dtype=np.float64)
    for j, col in enumerate(frame.columns):
        s = frame[col]
        if not pd.api.types.is_numeric_dtype(s):
            s = s.astype("string").str.strip().str.replace(",", ".", regex=False)
            s = pd.to_numeric(s.mask(s.str.lower().isin(_MISSING_WORDS)), errors="coerce")
        out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
    out[~np.isfinite(out) | (out <= 0)] = np.nan
    return out


def _text(frame: pd.DataFrame, col: str | None) -> np.ndarray:
    if col is None or col not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[col].astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _build(ids, values, runs, source: Path, fmt: str, **var_cols) -> ad.AnnData:
    runs = [str(r) for r in runs]
    dup = pd.Index(runs)[pd.Index(runs).duplicated()]
    if len(dup):
        raise DvpInputError(f"{source.name} has run {dup[0]!r} more than once; "
                            "give each MS run a unique name")
    if not runs:
        raise DvpInputError(f"{source.name}: found no run (sample) columns with numbers; "
                            f"is it a {FORMATS[fmt]}?")
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise DvpInputError(f"{source.name} has no protein rows; export the table with proteins")
    if not np.isfinite(values).any():
        raise DvpInputError(f"{source.name} holds no intensity: every value is missing, zero, "
                            "NaN or infinite; check the export")
    ids = pd.Series(np.asarray(ids, dtype=object), dtype="string").fillna("").str.strip()
    ids = ids.mask(ids == "", "protein_" + pd.Series(np.arange(len(ids)).astype(str)))
    var = pd.DataFrame(index=pd.Index(ids.to_numpy(dtype=object), name="protein_id"))
    for col in VAR_COLUMNS:
        vals = var_cols.get(col)
        var[col] = np.asarray(vals, dtype=object) if vals is not None else ""
    if (var["genes"] == "").all():
        var["genes"] = var["gene"]
    first = pd.Series(var["genes"].to_numpy(), dtype="string").str.split(";").str[0].fillna("")
    var["gene"] = np.where(var["gene"] == "", first.to_numpy(dtype=object), var["gene"])
    var = var.astype(str)
    obs = pd.DataFrame({"run": runs}, index=pd.Index(runs, name="run_name"))
    obs["run_label"] = [run_label(r) for r in runs]
    X = np.asarray(values, dtype=np.float64).T  # runs x proteins
    with warnings.catch_warnings():  # duplicate protein ids are made unique just below
        warnings.filterwarnings("ignore", "Variable names are not unique", UserWarning)
        adata = ad.AnnData(X=X, obs=obs, var=var)
    if adata.var_names.has_duplicates:
        adata.var_names_make_unique()
    adata.uns["source"] = {"file": str(source), "format": fmt, "description": FORMATS[fmt]}
    return adata


def run_label(run: str) -> str:
    """File name of a run without folders and raw-file extensions (``D:\\x\\A_1.d`` -> ``A_1``)."""
    name = re.split(r"[\\/]", str(run).strip())[-1]
    return re.sub(r"(\.(d|raw|wiff2?|mzml|dia|mgf|htrms|mzxml|gz|zip))+$", "", name,
                  flags=re.IGNORECASE)


# ----------------------------------------------------------------------------- formats
def _read_table(path: Path, sep: str | None, usecols=None) -> pd.DataFrame:
    if sep is None:
        return pd.read_parquet(path, columns=usecols)
    if path.suffix != ".gz":
        try:  # multi-threaded parser: a 10k x 400 matrix in well under a second
            return pd.read_csv(path, sep=sep, usecols=usecols, engine="pyarrow")
        except Exception:  # odd quoting, ragged rows…: the C parser is more forgiving
            pass
    return pd.read_csv(path, sep=sep, usecols=usecols, low_memory=False, quotechar='"')


_NULLS = sorted({v for w in _MISSING_WORDS - {"inf"} for v in (w, w.upper(), w.title())})


def _read_matrix_fast(path: Path, sep: str | None, text: list[str], numeric: list[str]
                      ) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """Text columns and a runs x proteins float64 block, parsed by pyarrow with explicit
    column types (no type inference, no per-cell Python work). ``None`` when the file
    needs the forgiving parser (decimal commas, odd words, ragged rows …).
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
    values = np.empty((len(numeric), tbl.num_rows), dtype=np.float64)  # runs x proteins
    for j, c in enumerate(numeric):
        values[j] = tbl.column(c).to_numpy()
    values[~np.isfinite(values) | (values <= 0)] = np.nan
    texts = {c: pc.utf8_trim_whitespace(tbl.column(c)).to_numpy(zero_copy_only=False)
             .astype(object) for c in text}
    return texts, values


def _read_diann_pg(path: Path, cols: list[str], sep) -> ad.AnnData:
    annot = ["Protein.Group", "Protein.Ids", "Protein.Names", "Genes",
             "First.Protein.Description", "N.Sequences", "N.Proteotypic.Sequences"]
    runs = [c for c in cols if c not in annot]
    text = [c for c in ("Protein.Group", "Protein.Ids", "Protein.Names", "Genes",
                        "First.Protein.Description") if c in cols]
    fast = _read_matrix_fast(path, sep, text, runs) if "Protein.Group" in text else None
    if fast is not None:
        t, values = fast

        def col(c):
            return t.get(c)
    else:
        df = _read_table(path, sep)
        values = to_intensity(df[runs]).T

        def col(c):
            return _text(df, c)
    return _build(col("Protein.Group"), values.T, runs, path, "diann_pg_matrix",
                  protein_ids=col("Protein.Ids"), protein_names=col("Protein.Names"),
                  genes=col("Genes"), description=col("First.Protein.Description"))


def _pivot_long(df, run_col, id_col, q_col, annot: dict[str, str], path, fmt, q_cols=()):
    keep = pd.Series(True, index=df.index)
    for qc, limit in q_cols:
        if qc in df.columns:
            keep &= pd.to_numeric(df[qc], errors="coerce").fillna(1.0) <= limit
    df = df.loc[keep]
    if df.empty:
        raise DvpInputError(f"{path.name}: no row passes the q-value filter; raise the "
                            "q-value limit or check the report")
    vals = pd.Series(to_intensity(df[[q_col]])[:, 0], index=df.index)
    wide = (pd.DataFrame({"id": df[id_col].astype(str).to_numpy(), "run": df[run_col].astype(str)
                          .to_numpy(), "v": vals.to_numpy()})
            .groupby(["id", "run"], sort=False)["v"].max().unstack("run"))
    first = df.groupby(df[id_col].astype(str), sort=False).first().reindex(wide.index)
    var_cols = {k: _text(first, v) for k, v in annot.items()}
    return _build(wide.index, wide.to_numpy(), wide.columns, path, fmt, **var_cols)


def _read_diann_report(path: Path, cols: list[str], sep, q_value: float) -> ad.AnnData:
    run_col = "Run" if "Run" in cols else "File.Name"
    quant = "PG.MaxLFQ" if "PG.MaxLFQ" in cols else "PG.Quantity"
    want = [c for c in (run_col, "Protein.Group", "Protein.Ids", "Protein.Names", "Genes", quant,
                        "Q.Value", "PG.Q.Value") if c in cols]
    df = _read_table(path, sep, usecols=want)
    return _pivot_long(df, run_col, "Protein.Group", quant,
                       {"protein_ids": "Protein.Ids", "protein_names": "Protein.Names",
                        "genes": "Genes"}, path, "diann_report",
                       q_cols=(("Q.Value", q_value), ("PG.Q.Value", q_value)))


def _read_spectronaut_long(path: Path, cols: list[str], sep, q_value: float) -> ad.AnnData:
    want = [c for c in ("R.FileName", "PG.ProteinGroups", "PG.Genes", "PG.ProteinNames",
                        "PG.ProteinDescriptions", "PG.Quantity", "PG.Qvalue") if c in cols]
    if "PG.Quantity" not in want:
        raise DvpInputError(f"{path.name}: Spectronaut long report without PG.Quantity; "
                            "export the report with the PG.Quantity column")
    df = _read_table(path, sep, usecols=want)
    return _pivot_long(df, "R.FileName", "PG.ProteinGroups", "PG.Quantity",
                       {"protein_ids": "PG.ProteinGroups", "protein_names": "PG.ProteinNames",
                        "genes": "PG.Genes", "description": "PG.ProteinDescriptions"},
                       path, "spectronaut_long", q_cols=(("PG.Qvalue", q_value),))


def _read_spectronaut_pivot(path: Path, cols: list[str], sep) -> ad.AnnData:
    df = _read_table(path, sep)
    qcols = [c for c in cols if c.endswith(".PG.Quantity")]
    runs = [re.sub(r"^\[\d+\]\s*", "", c[: -len(".PG.Quantity")]) for c in qcols]
    return _build(df["PG.ProteinGroups"], to_intensity(df[qcols]), runs, path,
                  "spectronaut_pivot", protein_ids=_text(df, "PG.ProteinGroups"),
                  protein_names=_text(df, "PG.ProteinNames"), genes=_text(df, "PG.Genes"),
                  description=_text(df, "PG.ProteinDescriptions"))


def _read_maxquant(path: Path, cols: list[str], sep) -> ad.AnnData:
    df = _read_table(path, sep)
    prefix = "LFQ intensity " if any(c.startswith("LFQ intensity ") for c in cols) \
        else "Intensity "
    qcols = [c for c in cols if c.startswith(prefix)]
    flags = [c for c in ("Reverse", "Potential contaminant", "Contaminant",
                         "Only identified by site") if c in df.columns]
    bad = np.zeros(len(df), dtype=bool)
    removed = {}
    for c in flags:
        hit = df[c].astype("string").str.strip().eq("+").fillna(False).to_numpy(dtype=bool)
        removed[c] = int(hit.sum())
        bad |= hit
    df = df.loc[~bad]
    id_col = "Majority protein IDs" if "Majority protein IDs" in df.columns else "Protein IDs"
    genes = _text(df, "Gene names")
    if "Gene names" not in df.columns and "Fasta headers" in df.columns:
        genes = (df["Fasta headers"].astype("string").str.findall(r"GN=(\S+)").str.join(";")
                 .fillna("").to_numpy(dtype=object))
    adata = _build(df[id_col], to_intensity(df[qcols]), [c[len(prefix):] for c in qcols], path,
                   "maxquant", protein_ids=_text(df, "Protein IDs"),
                   protein_names=_text(df, "Protein names"), genes=genes,
                   description=_text(df, "Fasta headers"))
    adata.uns["source"]["quantity"] = prefix.strip()
    adata.uns["source"]["removed_rows"] = removed
    return adata


def _read_fragpipe(path: Path, cols: list[str], sep) -> ad.AnnData:
    df = _read_table(path, sep)
    other = (" MaxLFQ Intensity", " Razor Intensity", " Unique Intensity", " Total Intensity")
    for suffix in (" MaxLFQ Intensity", " Intensity", " Razor Intensity"):
        qcols = [c for c in cols if c.endswith(suffix) and c != suffix.strip()
                 and (suffix != " Intensity" or not c.endswith(other))]
        if qcols:
            break
    gene_col = "Gene" if "Gene" in cols else ("Gene Names" if "Gene Names" in cols else None)
    desc = "Description" if "Description" in cols else "Protein Description"
    adata = _build(df["Protein ID"], to_intensity(df[qcols]),
                   [c[: -len(suffix)] for c in qcols], path, "fragpipe",
                   protein_ids=_text(df, "Protein ID"), protein_names=_text(df, "Entry Name"),
                   genes=_text(df, gene_col), description=_text(df, desc))
    adata.uns["source"]["quantity"] = suffix.strip()
    return adata


def _read_alphadia(path: Path, cols: list[str], sep) -> ad.AnnData:
    df = _read_table(path, sep)
    if "pg" not in df.columns and df.index.name == "pg":
        df = df.reset_index()
    annot = {"pg", "genes", "gene", "proteins", "protein_names"}
    runs = [c for c in df.columns if c not in annot]
    gene_col = "genes" if "genes" in df.columns else ("gene" if "gene" in df.columns else None)
    return _build(df["pg"], to_intensity(df[runs]), runs, path, "alphadia",
                  protein_ids=_text(df, "pg"), genes=_text(df, gene_col))


def _read_generic(path: Path, cols: list[str], sep) -> ad.AnnData:
    df = _read_table(path, sep)
    lower = {c: str(c).strip().lower() for c in df.columns}
    numeric = []
    for c in df.columns:
        if lower[c] in _GENERIC_ANNOT:
            continue
        vals = to_intensity(df[[c]])[:, 0]
        filled = df[c].astype("string").str.strip().fillna("")
        text = ~filled.str.lower().isin(_MISSING_WORDS) & np.isnan(vals) & (filled != "0")
        if pd.api.types.is_numeric_dtype(df[c]) or (np.isfinite(vals).any() and
                                                     text.mean() < 0.1):
            numeric.append(c)
    if not numeric:
        raise DvpInputError(f"{path.name} has no numeric column (no run with intensities); "
                            "export proteins as rows and one numeric column per run")
    text_cols = [c for c in df.columns if c not in numeric]
    if not text_cols:
        raise DvpInputError(f"{path.name} has no protein id column; put protein ids or gene "
                            "names in the first column")
    id_col = next((c for c in text_cols if lower[c] in _GENERIC_ID), text_cols[0])
    gene_col = next((c for c in text_cols if lower[c] in _GENERIC_GENE), None)
    genes_col = next((c for c in text_cols if lower[c] == "genes"), gene_col)
    return _build(df[id_col], to_intensity(df[numeric]), numeric, path, "generic",
                  protein_ids=_text(df, "protein_ids" if "protein_ids" in df.columns else id_col),
                  protein_names=_text(df, "protein_names"),
                  gene=_text(df, gene_col), genes=_text(df, genes_col),
                  description=_text(df, "description"))


# ----------------------------------------------------------------------------- public API
def read_proteomics(path: str | os.PathLike[str], fmt: str | None = None, *,
                    q_value: float = 0.01) -> ad.AnnData:
    """Read a search engine's protein table into AnnData (obs = runs, var = proteins).

    Parameters
    ----------
    path
        The file (``.tsv``, ``.txt``, ``.csv``, optionally ``.gz``; ``.parquet``; ``.h5ad``).
    fmt
        Force a format (a key of :data:`FORMATS`); detected from the columns by default.
    q_value
        Precursor and protein-group q-value limit for long reports (DIA-NN, Spectronaut).

    Returns
    -------
    anndata.AnnData
        ``X`` intensities (NaN = missing), ``obs`` runs (``run``, ``run_label``),
        ``var`` proteins (``protein_ids, protein_names, gene, genes, description``),
        ``uns["source"]`` file and format.

    Raises
    ------
    DvpInputError
        Unknown format, no numeric column, duplicate run names, unreadable file.
    """
    path = Path(path)
    if path.exists():  # regular file, size cap, no decompression bomb
        check_input_file(path, "protein table", whole=path.suffix.lower() != ".h5ad")
    if path.suffix.lower() == ".h5ad":
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
        return adata
    cols, sep = read_header(path)
    if fmt is None:
        fmt = detect_format(cols)
    if fmt not in FORMATS or fmt == "h5ad":
        raise DvpInputError(f"unknown proteomics format {fmt!r}; choose one of "
                            f"{', '.join(k for k in FORMATS if k != 'h5ad')}")
    dup = pd.Index(cols)[pd.Index(cols).duplicated()]
    if len(dup):
        raise DvpInputError(f"{path.name} has column {dup[0]!r} more than once (duplicate run "
                            "name); rename the runs so each is unique")
    readers = {"diann_pg_matrix": _read_diann_pg, "spectronaut_pivot": _read_spectronaut_pivot,
               "maxquant": _read_maxquant, "fragpipe": _read_fragpipe,
               "alphadia": _read_alphadia, "generic": _read_generic}
    try:
        if fmt == "diann_report":
            return _read_diann_report(path, cols, sep, q_value)
        if fmt == "spectronaut_long":
            return _read_spectronaut_long(path, cols, sep, q_value)
        return readers[fmt](path, cols, sep)
    except KeyError as exc:
        raise DvpInputError(f"{path.name} does not look like a {FORMATS[fmt]}: column "
                            f"{exc} is missing; check the export or choose another format"
                            ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DvpInputError(f"{path.name} could not be parsed as a table ({one_line(exc)}); "
                            "export it "
                            "again as tab-separated text") from None
    except (OSError, EOFError) as exc:  # truncated .gz, damaged parquet pages
        raise DvpInputError(f"{path.name} is damaged ({type(exc).__name__}: {exc}); copy or "
                            "export it again") from None


def to_tidy_frame(adata: ad.AnnData) -> pd.DataFrame:
    """Proteins as rows: annotation columns, then one intensity column per run."""
    annot = adata.var[list(VAR_COLUMNS)].reset_index(names="protein_id")
    values = pd.DataFrame(np.asarray(adata.X, dtype=np.float64).T,
                          columns=[str(r) for r in adata.obs_names])
    return pd.concat([annot, values], axis=1)


def write_tidy(adata: ad.AnnData, path: str | os.PathLike[str]) -> Path:
    """Write the tidy matrix as CSV (``.csv``), TSV (``.tsv``/``.txt``) or ``.h5ad``, atomically."""
    path = Path(path)
    if path.suffix.lower() == ".h5ad":
        return write_h5ad(adata, path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    with atomic_path(path) as tmp:
        write_csv(to_tidy_frame(adata), tmp, sep=sep)
    return path


def write_h5ad(adata: ad.AnnData, path: str | os.PathLike[str]) -> Path:
    """Write AnnData to ``.h5ad`` atomically (obs = samples/runs, var = proteins)."""
    path = Path(path)
    with atomic_path(path, suffix=".h5ad") as tmp:
        adata.write_h5ad(tmp)
    return path
