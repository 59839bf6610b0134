"""Marker gating: classes from per-cell intensities, thresholds and simple rules.

The rule language and the :class:`GatingScheme` live in
:mod:`napari_dvp.core.classes.gating_scheme` (pure Python); this module
evaluates a scheme over a cell table. Rules are tried in order; a cell gets the
first class whose rule it meets, otherwise :data:`UNCLASSIFIED`. Everything is
evaluated over whole columns (numpy boolean arrays), so 1M cells take
milliseconds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_text_atomic
from ..cells.columns import CLASS
from ..errors import DvpInputError
from ..limits import check_input_file, loads_json
from .gating_scheme import FORMAT, GateRule, GatingScheme, compile_rule, parse_rules

__all__ = [
    "FORMAT",
    "UNCLASSIFIED",
    "GateRule",
    "GatingScheme",
    "apply_gating",
    "compile_rule",
    "default_thresholds",
    "gate_codes",
    "load_gating",
    "load_rules",
    "parse_rules",
    "positive_masks",
    "save_gating",
]

UNCLASSIFIED = ""  #: class of a cell that meets no rule


def _eval(node, pos: Mapping[str, np.ndarray]) -> np.ndarray:
    kind = node[0]
    if kind == "marker":
        return pos[node[1]] if node[2] else ~pos[node[1]]
    if kind == "not":
        return ~_eval(node[1], pos)
    out = _eval(node[1], pos)
    for child in node[2:]:
        out = out & _eval(child, pos) if kind == "and" else out | _eval(child, pos)
    return out


def positive_masks(table: pd.DataFrame, scheme: GatingScheme) -> dict[str, np.ndarray]:
    """``{marker: cells above threshold}`` for every marker the rules mention."""
    out = {}
    for m in scheme.markers():
        col = scheme.column(m)
        if col not in table.columns:
            have = [c.split("_", 1)[1] for c in table.columns
                    if c.startswith(f"{scheme.statistic}_")]
            raise DvpInputError(f"unknown marker '{m}' in the rules; the cell table has "
                                f"{', '.join(have) or 'no intensity columns'}")
        if m not in scheme.thresholds:
            raise DvpInputError(f"no threshold for marker '{m}'; set one in the Gating widget")
        out[m] = table[col].to_numpy(dtype=float) > float(scheme.thresholds[m])
    return out


def gate_codes(table: pd.DataFrame, scheme: GatingScheme) -> np.ndarray:
    """Class code per row: 0 = unclassified, k = ``scheme.class_names[k-1]`` (uint8)."""
    names = scheme.class_names
    if len(names) > 254:
        raise DvpInputError("more than 254 classes; merge some")
    pos = positive_masks(table, scheme)
    codes = np.zeros(len(table), dtype=np.uint8)
    free = np.ones(len(table), dtype=bool)
    for r in scheme.rules:
        hit = _eval(compile_rule(r.expr), pos) & free
        codes[hit] = names.index(r.name) + 1
        free &= ~hit
    return codes


def apply_gating(table: pd.DataFrame, scheme: GatingScheme) -> pd.Series:
    """Class name per row of ``table`` (``""`` for cells no rule matches), named ``class``."""
    lookup = np.array([UNCLASSIFIED, *scheme.class_names], dtype=object)
    return pd.Series(lookup[gate_codes(table, scheme)], index=table.index, name=CLASS)


def default_thresholds(
    table: pd.DataFrame, markers: Sequence[str], statistic: str = "mean"
) -> dict[str, float]:
    """Otsu threshold of each marker's per-cell intensity (on log1p values).

    A starting point the user then moves on the histogram.
    """
    from skimage.filters import threshold_otsu

    scheme = GatingScheme(statistic=statistic)
    out = {}
    for m in markers:
        col = scheme.column(m)
        if col not in table.columns:
            raise DvpInputError(f"cell table has no column '{col}' for marker '{m}'")
        v = table[col].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        if v.size < 2 or np.ptp(v) == 0:
            out[m] = float(v[0]) if v.size else 0.0
            continue
        out[m] = float(np.expm1(threshold_otsu(np.log1p(np.clip(v, 0, None)))))
    return out


def save_gating(path: str | os.PathLike[str], scheme: GatingScheme) -> None:
    """Write the scheme as JSON (atomically)."""
    write_text_atomic(path, json.dumps(scheme.to_dict(), indent=2))


def load_gating(path: str | os.PathLike[str]) -> GatingScheme:
    """Read a scheme written by :func:`save_gating`."""
    try:
        if os.path.exists(path):  # a regular file under the size cap (never a FIFO)
            check_input_file(path, "gating file")
        with open(path, encoding="utf-8") as fh:
            d = loads_json(fh.read(), f"gating file {os.path.basename(path)}")
    except FileNotFoundError:
        raise DvpInputError(f"gating file {path} not found") from None
    except OSError as exc:
        raise DvpInputError(f"cannot read gating file {path} ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DvpInputError(f"{path} is not a gating JSON file ({exc.__class__.__name__})"
                            ) from None
    return GatingScheme.from_dict(d)


def load_rules(path: str | os.PathLike[str]) -> GatingScheme:
    """Read gating rules: a ``.json`` saved by :func:`save_gating`, or a text file of lines
    ``Class name: rule`` (UTF-8).

    Raises
    ------
    DvpInputError
        Missing file, not UTF-8 text, no rule, or a rule that does not parse.
    """
    if str(path).lower().endswith(".json"):
        return load_gating(path)
    try:
        if os.path.exists(path):  # a regular file under the size cap (never a FIFO)
            check_input_file(path, "rules file")
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DvpInputError(f"rules file {path} not found") from None
    except OSError as exc:
        raise DvpInputError(f"cannot read rules file {path} ({exc.strerror})") from None
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
            raise UnicodeDecodeError("utf-8", raw[:1], 0, 1, "UTF-16 or binary")
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DvpInputError(f"rules file {os.path.basename(path)} is not UTF-8 text; save the "
                            "lines 'Class: marker+' as plain text (UTF-8)") from None
    rules = parse_rules(text)
    if not rules:
        raise DvpInputError(f"rules file {os.path.basename(path)} holds no rule; write lines "
                            "like 'CD8 T cell: CD8+ and panCK-'")
    return GatingScheme(rules)
