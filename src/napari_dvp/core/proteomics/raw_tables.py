"""What a layout reader of :mod:`.engines` returns (:class:`_Raw`) and the table primitives
the readers share: text files (gzip too), every column as text, a fast typed matrix read
with pyarrow, exact numbers (:mod:`.numbers`), first occurrences of keys.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .numbers import MISSING_WORDS, parse_quantities
from .tables import TextTable


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _is_parquet(path: Path) -> bool:
    return ".parquet" in path.suffixes or path.suffix == ".pq"


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


