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
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..csv_safe import write_csv
from ..errors import DvpInputError, one_line
from ..limits import check_input_file
from .aggregate import AGGREGATES
from .engines import _LONG, _READERS, _read_long
from .formats import LAYOUTS, detect_layout
from .logscale import decide_log2
from .raw_tables import _is_parquet, _open_text, _Raw
from .raw_tables import to_intensity as to_intensity  # public: kept importable from here

FORMATS: dict[str, str] = {k: v.description for k, v in LAYOUTS.items()
                           if v.level != "refused"}
FORMATS["h5ad"] = "AnnData .h5ad written by napari-dvp"
VAR_COLUMNS = ("protein_ids", "protein_names", "gene", "genes", "description")


# ----------------------------------------------------------------------------- header
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
