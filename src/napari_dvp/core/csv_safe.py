"""CSV/TSV files that are safe to open in a spreadsheet (OWASP CSV injection rule).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to Excel, LibreOffice and Google Sheets (``=HYPERLINK(…)``,
``@SUM(…)``, ``-2+3``…). Every table napari-dvp writes as text goes through
:func:`write_csv`, which puts a single quote ``'`` in front of such cells —
the OWASP recommendation — in text columns and in the header. Numbers are
never touched (a negative intensity stays a number), and a text cell that is
a plain number (``-5``, ``+1.5e3``) is left as it is: it is not a formula.

napari-dvp's own readers undo the quote (:func:`restore_text`), so a class
named ``=A`` survives ``classify`` -> ``export-lmd`` -> ``score`` unchanged.
"""

from __future__ import annotations

import os
import re
from typing import Any

__all__ = ["FORMULA_START", "neutralise", "neutralise_frame", "restore_text", "write_csv"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_QUOTED = re.compile(r"^'[=+\-@\t\r]")
_FORMULA = re.compile(r"^[=+\-@\t\r]")


def neutralise(value: Any) -> Any:
    """One cell: ``"=1+2"`` -> ``"'=1+2"``; numbers and other text unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def _match(values, pattern: re.Pattern):
    """Boolean array: string cells matching ``pattern``; each distinct value tested once."""
    import numpy as np
    import pandas as pd

    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists): test each
        return np.fromiter((isinstance(v, str) and bool(pattern.match(v)) for v in values),
                           dtype=bool, count=len(values))
    hit = np.fromiter((isinstance(v, str) and bool(pattern.match(v)) for v in uniques),
                      dtype=bool, count=len(uniques))
    return np.where(codes >= 0, hit[np.maximum(codes, 0)] if len(hit) else False, False)


def _text_positions(frame) -> list[int]:
    return [i for i, dt in enumerate(frame.dtypes)
            if dt.kind == "O" or str(dt) in ("string", "category")]


def neutralise_frame(frame):
    """``frame`` with formula-leading text cells and header names quoted (a copy if changed).

    Only object/string/category columns are looked at, each distinct value
    once; numeric columns are never touched.
    """
    import pandas as pd

    out = None
    for i in _text_positions(frame):
        values = frame.iloc[:, i]
        mask = _match(values, _FORMULA) & ~_match(values, _NUMBER)
        if mask.any():
            out = frame.copy() if out is None else out
            fixed = values.astype(object).to_numpy(copy=True)
            fixed[mask] = ["'" + str(v) for v in fixed[mask]]
            out.isetitem(i, fixed)
    header = [neutralise(c) for c in frame.columns]
    if header != list(frame.columns):
        out = frame.copy() if out is None else out
        out.columns = pd.Index(header)
    if not isinstance(frame.index, pd.MultiIndex) and frame.index.dtype.kind == "O":
        idx = frame.index.map(neutralise)
        if not idx.equals(frame.index):
            out = frame.copy() if out is None else out
            out.index = idx
    return frame if out is None else out


def write_csv(frame, path: str | os.PathLike[str], sep: str = ",", index: bool = False,
              **kwargs: Any) -> None:
    """``frame.to_csv(path, sep=sep, index=index)`` with formula cells neutralised.

    Write into an atomic temporary (``core.atomic``); this function does not
    make the write atomic by itself.
    """
    neutralise_frame(frame).to_csv(path, sep=sep, index=index, **kwargs)


def restore_text(frame):
    """Undo :func:`neutralise_frame` on a table napari-dvp wrote (text columns, header).

    A cell ``'=x`` becomes ``=x`` again; a cell that merely starts with a
    quote followed by anything else is left alone.
    """
    import pandas as pd

    out = None
    header = [c[1:] if isinstance(c, str) and _QUOTED.match(c) else c for c in frame.columns]
    if header != list(frame.columns):
        out = frame.copy()
        out.columns = pd.Index(header)
    for i in _text_positions(frame):
        values = frame.iloc[:, i]
        if str(values.dtype) == "category":
            continue
        mask = _match(values, _QUOTED)
        if mask.any():
            out = frame.copy() if out is None else out
            fixed = values.to_numpy(dtype=object, copy=True)
            fixed[mask] = [str(v)[1:] for v in fixed[mask]]
            out.isetitem(i, fixed)
    return frame if out is None else out
