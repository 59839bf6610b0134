"""Cell tables on disk: read and write ``.csv`` / ``.tsv`` / ``.txt`` / ``.parquet``.

One implementation for every command that takes or writes a cell table, so the
extension rules (tab-separated for ``.tsv``/``.txt``, Parquet for ``.parquet``,
comma-separated otherwise) and the error messages are the same everywhere.

Text files are written with spreadsheet formulas neutralised
(:mod:`~napari_dvp.core.csv_safe`) and read back with the quote undone; names
(``class``, ``region``, ``sample`` …) are checked for control characters on
the way in (:mod:`~napari_dvp.core.names`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..atomic import atomic_path
from ..csv_safe import restore_text, write_csv
from ..errors import DvpInputError
from ..limits import check_input_file
from ..names import check_table_names
from .columns import validate

_TAB = (".tsv", ".txt")


def _kind(path: Path) -> str:
    s = path.suffix.lower()
    return "parquet" if s == ".parquet" else ("\t" if s in _TAB else ",")


def read_cell_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a cell table from .csv / .tsv / .txt (tab) / .parquet and validate it.

    Text ``class`` and ``region`` columns keep empty cells as ``""``.

    Raises
    ------
    DvpInputError
        Missing or unreadable file, or a table that is not a valid cell table.
    """
    p = Path(path)
    if not p.exists():
        raise DvpInputError(f"cell table {p} not found")
    check_input_file(p, "cell table")
    kind = _kind(p)
    try:
        if kind == "parquet":
            t = pd.read_parquet(p)
        else:
            t = pd.read_csv(p, sep=kind, keep_default_na=False, na_values=[""])
    except Exception as exc:
        raise DvpInputError(f"cannot read cell table {p}: {type(exc).__name__}: {exc}") from None
    if kind != "parquet":
        t = restore_text(t)
    for c in ("class", "region"):
        if c in t.columns:
            t[c] = t[c].fillna("").astype(str)
    check_table_names(t, p.name)
    return validate(t)


def write_table(path: str | os.PathLike[str], table: pd.DataFrame) -> None:
    """Write a table atomically: .parquet, tab-separated for .tsv/.txt, else comma-separated."""
    p = Path(path)
    kind = _kind(p)
    with atomic_path(p) as tmp:
        if kind == "parquet":
            table.to_parquet(tmp, index=False)
        else:
            write_csv(table, tmp, sep=kind)
