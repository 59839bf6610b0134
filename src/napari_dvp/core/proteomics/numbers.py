"""Numbers in protein tables: read exactly, or refused with the column named.

Search engines write numbers in the locale of the computer they ran on. A value is
never guessed: every text cell of the quantity / q-value columns is classified, then each
column's number format is decided from the evidence of all its cells, and a file whose
columns disagree is refused.

Formats (per column):

``point``
    ``1234.5``, ``1.5E+06``, ``12`` (decimal point, no grouping; ``12`` and ``1E-05``
    read the same in every locale).
``comma``
    decimal comma: ``1234,5``, ``0,001``, ``1,5E+06``; dot thousands groups are
    accepted in this locale (``1.234,5``, ``1.234.567``).
``thousands``
    comma thousands groups with a decimal point: ``1,234``, ``1,234,567.5``.

Evidence: ``1234,5`` / ``0,25`` / ``1.234,5`` prove ``comma``; ``1,234,567`` /
``1,234.5`` prove ``thousands``; ``0.5`` / ``1.5e6`` prove ``point`` (a decimal
point). ``1,234`` alone is ambiguous (1.234 or 1234): it follows the file's other
columns, and is refused when nothing decides. A column with proofs of two formats,
or a file with a ``comma`` column and a ``point``/``thousands`` column, is refused
(mixed locales).

Missing words (``""``, ``NaN``, ``Filtered``, ``NA``, ``#N/A``, ``-``, ``inf`` …)
are missing. Any other text makes the column *text* (the caller decides whether that
is an error or an annotation column). Everything is vectorised over the distinct
strings of the whole block, so a table with 10^5 columns parses in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DvpInputError

MISSING_WORDS = frozenset({"", "filtered", "nan", "na", "n/a", "none", "null", "#n/a", "-",
                           "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity",
                           "#num!", "#value!", "#div/0!"})
_EXP = r"(?:[eE][+-]?\d+)?"
_PLAIN = rf"[+-]?(?:\d+\.?\d*|\.\d+){_EXP}"
_POINT_PROOF = rf"[+-]?(?:\d*\.\d+|\d+\.){_EXP}"
_DOT3 = r"[+-]?\d{1,3}(?:\.\d{3})+"               # 1.234 (point) or 1234 (German)
_COMMA_DEC = rf"[+-]?\d+,\d+{_EXP}"
_AMBIG = r"[+-]?\d{1,3},\d{3}"                      # 1,234: 1.234 or 1234
_THOUSANDS = rf"[+-]?\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?{_EXP}"
_GERMAN = rf"[+-]?\d{{1,3}}(?:\.\d{{3}})+(?:,\d+)?{_EXP}"

# categories of a distinct string
MISSING, PLAIN_INT, POINT, DOT3, COMMA, AMBIG, THOUSANDS, GERMAN, TEXT = range(9)
FORMATS = ("point", "comma", "thousands")


@dataclass
class ParsedNumbers:
    """Values of a block of columns and what each column turned out to be.

    Attributes
    ----------
    values
        float64, rows x columns, NaN where missing or text.
    formats
        Per column: ``"point"``, ``"comma"``, ``"thousands"`` or ``"text"``.
    text_example
        Per column: the first text cell (``""`` if none).
    text_fraction
        Per column: fraction of non-missing cells that are text.
    """

    values: np.ndarray
    formats: np.ndarray
    text_example: np.ndarray
    text_fraction: np.ndarray


def _classify(uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Category, point value and comma value of each distinct string (vectorised in
    pyarrow: RE2 regular expressions, no Python work per string)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pc.utf8_trim_whitespace(pa.array(uniq, type=pa.string()))
    n = len(s)
    cat = np.full(n, TEXT, dtype=np.int8)

    def hit(pattern: str, arr=s) -> np.ndarray:
        return pc.match_substring_regex(arr, f"^(?:{pattern})$").to_numpy(zero_copy_only=False)

    has_comma = pc.match_substring(s, ",").to_numpy(zero_copy_only=False)
    if has_comma.any():  # order matters: later assignments win
        cat[hit(_COMMA_DEC)] = COMMA
        cat[hit(_THOUSANDS)] = THOUSANDS
        cat[hit(_AMBIG)] = AMBIG
        cat[hit(_GERMAN) & has_comma] = GERMAN
    multi_dot = pc.count_substring(s, ".").to_numpy(zero_copy_only=False) >= 2
    if multi_dot.any():
        cat[hit(_GERMAN) & multi_dot] = GERMAN
    plain = hit(_PLAIN)
    cat[plain] = PLAIN_INT
    cat[plain & hit(_POINT_PROOF)] = POINT
    cat[plain & hit(_DOT3)] = DOT3
    low = pc.utf8_lower(s)
    cat[pc.is_in(low, value_set=pa.array(sorted(MISSING_WORDS))).to_numpy(
        zero_copy_only=False)] = MISSING
    point = np.full(n, np.nan)
    comma = np.full(n, np.nan)
    pidx = np.flatnonzero(np.isin(cat, (PLAIN_INT, POINT, DOT3, AMBIG, THOUSANDS)))
    if len(pidx):
        sub = s.take(pa.array(pidx))
        point[pidx] = pc.cast(pc.replace_substring(sub, ",", ""), pa.float64()).to_numpy(
            zero_copy_only=False)
    cidx = np.flatnonzero(np.isin(cat, (PLAIN_INT, DOT3, COMMA, AMBIG, GERMAN)))
    if len(cidx):
        sub = pc.replace_substring(pc.replace_substring(s.take(pa.array(cidx)), ".", ""), ",",
                                   ".")
        comma[cidx] = pc.cast(sub, pa.float64()).to_numpy(zero_copy_only=False)
    return cat, point, comma


def parse_numbers(frame, source: str = "table", names=None) -> ParsedNumbers:
    """Read the cells of ``frame`` as numbers, exactly (see the module's rules).

    ``frame`` is a DataFrame (numeric columns are taken as they are) or a 2-D object
    array of cell strings with ``names``. Only locale conflicts raise; text cells are
    reported per column (``formats == "text"``) for the caller to judge.

    Raises
    ------
    DvpInputError
        A column mixes number formats, a file mixes locales, or ``1,234``-style values
        cannot be decided; the message names the column.
    """
    if isinstance(frame, pd.DataFrame):
        n_rows, n_cols = frame.shape
        names = [str(c) for c in frame.columns]
        numeric = np.array([pd.api.types.is_numeric_dtype(t) for t in frame.dtypes], bool)
    else:
        n_rows, n_cols = frame.shape
        names = [str(c) for c in names]
        numeric = np.zeros(n_cols, dtype=bool)
    values = np.full((n_rows, n_cols), np.nan)
    formats = np.full(n_cols, "point", dtype=object)
    example = np.full(n_cols, "", dtype=object)
    text_frac = np.zeros(n_cols)
    for j in np.flatnonzero(numeric):
        values[:, j] = frame.iloc[:, j].to_numpy(dtype=np.float64, na_value=np.nan)
    obj = np.flatnonzero(~numeric)
    if not len(obj) or n_rows == 0:
        return ParsedNumbers(values, formats, example, text_frac)
    if isinstance(frame, pd.DataFrame):
        block = frame.iloc[:, obj].astype(object).to_numpy()
    else:
        block = np.asarray(frame, dtype=object)
    codes, uniq = pd.factorize(block.ravel(order="F"), use_na_sentinel=True)
    uniq = np.asarray([u if isinstance(u, str) else str(u) for u in uniq], dtype=object) \
        if len(uniq) and not all(isinstance(u, str) for u in uniq[:1000]) else \
        np.asarray(uniq, dtype=object)
    cat_u, point_u, comma_u = _classify(uniq)
    codes = codes.reshape(block.shape, order="F")
    cat = np.where(codes >= 0, cat_u[np.maximum(codes, 0)], MISSING).astype(np.int8)

    def any_(k: int) -> np.ndarray:
        return (cat == k).any(axis=0)

    comma_proof = any_(COMMA) | any_(GERMAN)
    thousands_proof = any_(THOUSANDS)
    point_proof = any_(POINT)
    ambiguous = any_(AMBIG)
    dot3 = any_(DOT3)
    is_text = cat == TEXT
    n_val = (cat != MISSING).sum(axis=0)
    text_frac[obj] = np.where(n_val > 0, is_text.sum(axis=0) / np.maximum(n_val, 1), 0.0)
    first_text = np.argmax(is_text, axis=0)
    has_text = is_text.any(axis=0)
    col_names = np.array(names, dtype=object)[obj]

    bad = comma_proof & (thousands_proof | point_proof)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise DvpInputError(
            f"{source}: column {col_names[j]!r} mixes decimal commas and decimal points / "
            "thousands separators; export the table again with one number format")
    file_comma = bool(comma_proof.any())
    file_point = bool((thousands_proof | point_proof).any())
    if file_comma and file_point:
        jc = int(np.flatnonzero(comma_proof)[0])
        jp = int(np.flatnonzero(thousands_proof | point_proof)[0])
        raise DvpInputError(
            f"{source} mixes locales: column {col_names[jc]!r} has decimal commas, column "
            f"{col_names[jp]!r} decimal points; export the table again with one number format")
    mode = np.full(len(obj), "point", dtype=object)
    mode[comma_proof] = "comma"
    mode[thousands_proof] = "thousands"
    undecided = ambiguous & ~comma_proof & ~thousands_proof & ~point_proof
    if undecided.any():
        if file_comma:
            mode[undecided] = "comma"
        elif file_point or dot3[undecided].any():
            mode[undecided] = "thousands"
        else:
            j = int(np.flatnonzero(undecided)[0])
            k = int(np.argmax(cat[:, j] == AMBIG))
            raise DvpInputError(
                f"{source}: column {col_names[j]!r} has {str(block[k, j]).strip()!r}, which "
                "reads as a decimal comma or a thousands separator; export the numbers "
                "without thousands separators")
    # thousands values in a decimal-point column are thousands too ("1,234" next to "0.5")
    mode[ambiguous & point_proof & ~comma_proof] = "thousands"
    use_comma = mode == "comma"
    point_cells = point_u[np.maximum(codes, 0)]
    comma_cells = comma_u[np.maximum(codes, 0)]
    out = np.where(use_comma[None, :], comma_cells, point_cells)
    ok = (cat != MISSING) & (cat != TEXT)
    # a "1,234"-style cell in a point column without thousands proof cannot be exact
    out[(cat == AMBIG) & (mode == "point")[None, :]] = np.nan
    values[:, obj] = np.where(ok, out, np.nan)
    formats[obj] = np.where(has_text, "text", mode)
    example[obj] = np.where(has_text, [str(block[first_text[i], i]).strip()[:40]
                                       if has_text[i] else "" for i in range(len(obj))], "")
    return ParsedNumbers(values, formats, example, text_frac)


def parse_quantities(frame, source: str = "table", names=None) -> np.ndarray:
    """Numbers of quantity columns; any text (other than missing words) is refused.

    Raises
    ------
    DvpInputError
        Text in a quantity column (names the column and the value), or a locale conflict.
    """
    parsed = parse_numbers(frame, source, names=names)
    text = np.flatnonzero(parsed.formats == "text")
    if len(text):
        j = int(text[0])
        cols = list(frame.columns) if isinstance(frame, pd.DataFrame) else list(names)
        raise DvpInputError(f"{source}: column {str(cols[j])!r} holds text "
                            f"({parsed.text_example[j]!r}) where numbers are expected; "
                            "fix or re-export the table")
    return parsed.values
