"""Names that enter napari-dvp: sample ids, wells, class and region names.

They travel into microscope files (Leica XML, Zeiss PALM), spreadsheets and
file listings, so they are checked where they enter — read from a table,
a rules file, a GeoJSON, a classifier — and a bad one is refused with one
line naming the file, the column and the row:

* no control characters (tab, CR, LF, NUL, ESC … — Unicode category Cc),
  no line/paragraph separators (U+2028/U+2029) and no bidirectional
  overrides (U+202A-U+202E, U+2066-U+2069), which could hide or inject lines;
* at most :data:`MAX_NAME` characters.

Spreadsheet formulas (``=``, ``+``, ``-``, ``@``) are *not* refused here: a
class may well be called ``-`` or ``+/+``; the CSV writers neutralise them
(:mod:`napari_dvp.core.csv_safe`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .errors import DvpInputError

__all__ = ["MAX_NAME", "bad_name_reason", "check_name", "check_names", "check_table_names"]

MAX_NAME = 200
_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: columns of napari-dvp tables that hold names
NAME_COLUMNS = ("sample_id", "sample", "well", "class", "region", "run", "run_label")


def bad_name_reason(name: str) -> str | None:
    """Why ``name`` is refused, or ``None`` if it is fine."""
    m = _BAD.search(name)
    if m:
        ch = m.group()
        label = {"\t": "a tab", "\r": "a carriage return", "\n": "a line break",
                 "\x00": "a NUL byte"}.get(ch, f"the control character U+{ord(ch):04X}")
        return f"contains {label}"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long (at most {MAX_NAME})"
    return None


def check_name(name: Any, what: str, where: str = "") -> str:
    """Return ``str(name)`` or raise :class:`DvpInputError` naming ``what`` and ``where``."""
    text = "" if name is None else str(name)
    reason = bad_name_reason(text)
    if reason:
        shown = text[:40].encode("unicode_escape").decode("ascii")
        at = f" in {where}" if where else ""
        raise DvpInputError(f"{what} '{shown}'{at} {reason}; names may not contain control "
                            "characters: rename it")
    return text


def check_names(names: Iterable[Any], what: str, where: str = "") -> None:
    """Check every name (vectorised over unique values)."""
    for name in dict.fromkeys(names):
        if isinstance(name, str) or name is not None:
            check_name(name, what, where)


def check_table_names(table, where: str, columns: Iterable[str] = NAME_COLUMNS) -> None:
    """Check the name columns (``sample_id``, ``well``, ``class``, ``region`` …) of a
    pandas table read from ``where``; text columns only, one pass per column."""
    for col in columns:
        if col not in getattr(table, "columns", ()):
            continue
        values = table[col]
        if values.dtype.kind not in "OSU" and str(values.dtype) not in ("string", "category"):
            continue
        text = values.dropna().astype(str)
        hit = text.str.contains(_BAD.pattern, regex=True) | (text.str.len() > MAX_NAME)
        if hit.any():
            row = hit.to_numpy().nonzero()[0][0]
            check_name(text.iloc[row], f"{col}", f"{where} (row {row + 1})")
