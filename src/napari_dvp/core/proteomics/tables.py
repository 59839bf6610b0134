"""A table read as text: column names and one array per column, no DataFrame overhead.

Protein tables can be very wide (10^5 run columns); pandas spends most of its time
building 10^5 Series there. :func:`read_text_table` reads every cell as text with the C
``csv`` module (quotes handled) into one 2-D object array; numbers are then parsed by
:mod:`.numbers`, exactly and vectorised.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DvpInputError

csv.field_size_limit(2**31 - 1)  # protein id lists can be long


class TextTable:
    """Columns of a table (object arrays of stripped strings, or numeric arrays).

    Parameters
    ----------
    names
        Column names, in file order.
    columns
        One 1-D array per column.
    """

    def __init__(self, names: list[str], columns: list[np.ndarray]) -> None:
        self.columns = [str(n) for n in names]
        self._cols = columns
        self._index = {n: i for i, n in enumerate(self.columns)}
        self.n_rows = len(columns[0]) if columns else 0
        self.index_name: str | None = None
        self._text: dict[int, np.ndarray] = {}
        self._block: np.ndarray | None = None

    @classmethod
    def from_block(cls, names: list[str], block: np.ndarray) -> TextTable:
        """From a rows x columns object array."""
        t = cls(names, [block[:, j] for j in range(block.shape[1])])
        t._block = block
        return t

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> TextTable:
        """From a DataFrame (parquet): numeric columns stay numeric."""
        cols = []
        for c in df.columns:
            s = df[c]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                cols.append(s.to_numpy(dtype=np.float64, na_value=np.nan))
            else:
                cols.append(s.astype("string").fillna("").str.strip().to_numpy(dtype=object))
        t = cls([str(c) for c in df.columns], cols)
        t.index_name = df.index.name
        return t

    def __len__(self) -> int:
        return self.n_rows

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def col(self, name: str | None) -> np.ndarray:
        """Column as text (``""`` for missing); all ``""`` for an absent column."""
        if name is None or name not in self._index:
            return np.full(self.n_rows, "", dtype=object)
        j = self._index[name]
        if j not in self._text:
            c = self._cols[j]
            if c.dtype != object:
                self._text[j] = np.array(["" if not np.isfinite(v) else repr(float(v))
                                          for v in c], dtype=object)
            else:
                self._text[j] = pd.Series(c, dtype="string").str.strip().fillna("") \
                    .to_numpy(dtype=object)
        return self._text[j]

    def raw(self, name: str) -> np.ndarray:
        """Column as stored (text or numbers)."""
        return self._cols[self._index[name]]

    def block(self, names: list[str]):
        """The cells of ``names`` for :func:`~.numbers.parse_numbers` (a DataFrame when
        some columns are numeric, else a 2-D object array)."""
        if self._block is not None:
            return self._block[:, [self._index[n] for n in names]]
        cols = [self._cols[self._index[n]] for n in names]
        if cols and all(c.dtype != object for c in cols):
            return pd.DataFrame(np.column_stack(cols), columns=names)
        if any(c.dtype != object for c in cols):
            return pd.DataFrame(dict(zip(names, cols, strict=True)))
        if not cols:
            return np.empty((self.n_rows, 0), dtype=object)
        return np.column_stack(cols) if len(cols) > 1 else cols[0][:, None]

    def take(self, rows: np.ndarray) -> TextTable:
        """A table of the given row positions."""
        t = TextTable(self.columns, [c[rows] for c in self._cols])
        t.index_name = self.index_name
        return t


def _open(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="strict", newline="")
    return open(path, encoding="utf-8", errors="strict", newline="")


def read_text_table(path: Path, sep: str | None, skip_after_header: int = 0) -> TextTable:
    """Every cell of a text table as a stripped string (parquet: as stored).

    Rows with fewer fields than the header end in empty cells (DIA-NN writes such rows).

    Raises
    ------
    DvpInputError
        A row with more fields than the header (ragged table).
    """
    if sep is None:
        df = pd.read_parquet(path)
        if df.index.name is not None:
            df = df.reset_index()
        return TextTable.from_frame(df)
    with _open(path) as fh:
        rd = csv.reader(fh, delimiter=sep, quotechar='"')
        header = next(rd, [])
        for _ in range(skip_after_header):
            next(rd, None)
        rows = [r for r in rd if r and not (len(r) == 1 and not r[0].strip())]
    names = [h.strip().strip('"') for h in header]
    n = len(names)
    bad = next((i for i, r in enumerate(rows) if len(r) > n), None)
    if bad is None:  # short rows: the missing trailing cells are empty (as pandas reads them)
        rows = [r if len(r) == n else r + [""] * (n - len(r)) for r in rows]
    else:
        raise DvpInputError(f"{path.name} could not be parsed as a table (line "
                            f"{bad + 2 + skip_after_header} has {len(rows[bad])} fields, the "
                            f"header {n}); export it again as tab-separated text")
    block = np.array(rows, dtype=object) if rows else np.empty((0, n), dtype=object)
    return TextTable.from_block(names, block)
