"""Marker gating: classes from per-cell intensities, thresholds and simple rules.

A rule reads like a pathologist says it::

    Keratinocyte: panCK+
    CD8 T cell: CD8+ and panCK-
    Macrophage: CD163+ and not CD8+
    Immune: (CD8+ or CD163+) and panCK-

``marker+`` means the cell's intensity (mean by default) is above the marker's
threshold, ``marker-`` at or below it. ``and``, ``or``, ``not`` and
parentheses combine them (the Unicode minus ``−`` works too).
Rules are tried in order; a cell gets the first class whose rule it meets,
otherwise :data:`UNCLASSIFIED`. Everything is evaluated over whole columns
(numpy boolean arrays), so 1M cells take milliseconds.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import write_text_atomic
from ..cells.columns import CLASS, mean_column, median_column
from ..errors import DvpInputError
from ..limits import check_input_file, loads_json
from ..names import check_name

UNCLASSIFIED = ""  #: class of a cell that meets no rule
FORMAT = "napari-dvp gating"
_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<word>[^\s()]+))")
_SIGNS = {"+": True, "-": False, "−": False}


@dataclass
class GateRule:
    """One class definition.

    Parameters
    ----------
    name
        Class name, e.g. ``"CD8 T cell"``.
    expr
        Rule text, e.g. ``"CD8+ and panCK-"``.
    color
        RGB 0-255 used for the class overlay.
    """

    name: str
    expr: str
    color: tuple[int, int, int] = (200, 200, 200)

    def markers(self) -> list[str]:
        """Markers this rule mentions, in order of appearance."""
        return [m for kind, m, _ in _tokens(self.expr) if kind == "marker"]


@dataclass
class GatingScheme:
    """Ordered rules plus one threshold per marker.

    Parameters
    ----------
    rules
        Tried in order; the first one a cell meets gives its class.
    thresholds
        Marker name -> intensity threshold (positive means strictly above).
    statistic
        ``"mean"`` or ``"median"``: which measurement column per marker is gated.
    """

    rules: list[GateRule] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    statistic: str = "mean"

    @property
    def class_names(self) -> list[str]:
        """Class names in rule order (without duplicates)."""
        return list(dict.fromkeys(r.name for r in self.rules))

    def markers(self) -> list[str]:
        """All markers the rules mention."""
        return list(dict.fromkeys(m for r in self.rules for m in r.markers()))

    def column(self, marker: str) -> str:
        """Cell-table column gated for ``marker``."""
        if self.statistic == "median":
            return median_column(marker)
        if self.statistic != "mean":
            raise DvpInputError(f"unknown statistic '{self.statistic}'; use 'mean' or 'median'")
        return mean_column(marker)

    def to_dict(self) -> dict:
        """Plain JSON-able dict."""
        return {
            "format": FORMAT,
            "version": 1,
            "statistic": self.statistic,
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
            "rules": [{"name": r.name, "rule": r.expr, "color": list(map(int, r.color))}
                      for r in self.rules],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> GatingScheme:
        """Inverse of :meth:`to_dict`; checks every rule parses."""
        if not isinstance(d, Mapping) or "rules" not in d:
            raise DvpInputError("not a gating file: no 'rules'; save one from the Gating widget")
        try:
            rules = [GateRule(str(r["name"]), str(r["rule"]),
                              tuple(int(c) for c in r.get("color", (200, 200, 200)))[:3])
                     for r in d["rules"]]
            thr = {str(k): float(v) for k, v in dict(d.get("thresholds", {})).items()}
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise DvpInputError(f"gating file is malformed ({exc}); save it again") from None
        bad_colour = [r.name for r in rules if len(r.color) != 3 or
                      not all(0 <= c <= 255 for c in r.color)]
        if bad_colour:
            raise DvpInputError(f"gating file gives class {bad_colour[0]!r} a colour outside "
                                "0-255 (three numbers, red green blue); set it in the Gating "
                                "widget")
        bad = [k for k, v in thr.items() if not np.isfinite(v)]
        if bad:
            raise DvpInputError(f"gating file gives marker {bad[0]!r} the threshold "
                                f"{thr[bad[0]]}; thresholds must be finite numbers, set it in "
                                "the Gating widget")
        for r in rules:
            check_name(r.name, "class name", "the gating file")
        scheme = cls(rules=rules, thresholds=thr, statistic=str(d.get("statistic", "mean")))
        for r in scheme.rules:
            compile_rule(r.expr)
        return scheme


def parse_rules(text: str) -> list[GateRule]:
    """Parse lines ``Class name: rule`` (blank lines and ``#`` comments are skipped)."""
    rules = []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if ":" not in line:
            raise DvpInputError(f"rule line {i} '{line}' has no ':'; write 'Class: marker+'")
        name, expr = (s.strip() for s in line.split(":", 1))
        if not name:
            raise DvpInputError(f"rule line {i} has no class name before ':'")
        check_name(name, "class name", f"rule line {i}")
        compile_rule(expr)
        rules.append(GateRule(name, expr))
    return rules


def _tokens(expr: str) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        if m.group("paren"):
            out.append(("paren", m.group("paren"), None))
            continue
        w = m.group("word")
        low = w.lower()
        if low in ("and", "&", "&&"):
            out.append(("op", "and", None))
        elif low in ("or", "|", "||"):
            out.append(("op", "or", None))
        elif low in ("not", "!"):
            out.append(("op", "not", None))
        else:
            for suffix, sign in sorted(_SIGNS.items(), key=lambda kv: -len(kv[0])):
                if low.endswith(suffix) and len(w) > len(suffix):
                    out.append(("marker", w[: -len(suffix)], sign))
                    break
            else:
                raise DvpInputError(
                    f"cannot read '{w}' in rule '{expr}'; write a marker with + or -, "
                    "e.g. 'CD8+ and panCK-'")
    return out


MAX_RULE_DEPTH = 32  #: parentheses / 'not' nested deeper than this are refused
MAX_RULE_TERMS = 1000  #: markers in one rule


def compile_rule(expr: str):
    """Parse a rule into a nested tuple tree; raises :class:`DvpInputError` if malformed.

    ``and``/``or`` chains become one n-ary node, and nesting (parentheses,
    ``not``) is limited to :data:`MAX_RULE_DEPTH`, so neither parsing nor
    evaluation recurses deeply whatever the text.
    """
    toks = _tokens(expr)
    if not toks:
        raise DvpInputError("empty rule; write e.g. 'panCK+'")
    n_markers = sum(1 for t in toks if t[0] == "marker")
    if n_markers > MAX_RULE_TERMS:
        raise DvpInputError(f"rule '{expr[:60]}…' has {n_markers} markers (at most "
                            f"{MAX_RULE_TERMS}); split it into simpler rules")
    level = deepest = 0
    for kind, word, _ in toks:
        if kind == "paren":
            level += 1 if word == "(" else -1
        deepest = max(deepest, level)
    not_run = run = 0
    for kind, word, _ in toks:  # 'not not not …' also nests
        run = run + 1 if (kind, word) == ("op", "not") else 0
        not_run = max(not_run, run)
    if deepest > MAX_RULE_DEPTH or not_run > MAX_RULE_DEPTH:
        raise DvpInputError(f"rule '{expr[:60]}…' nests more than {MAX_RULE_DEPTH} levels "
                            "deep; write it more simply")
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def parse_or():
        nodes = [parse_and()]
        while (t := peek()) and t[:2] == ("op", "or"):
            take()
            nodes.append(parse_and())
        return nodes[0] if len(nodes) == 1 else ("or", *nodes)

    def parse_and():
        nodes = [parse_not()]
        while (t := peek()) and t[:2] == ("op", "and"):
            take()
            nodes.append(parse_not())
        return nodes[0] if len(nodes) == 1 else ("and", *nodes)

    def parse_not():
        t = peek()
        if t and t[:2] == ("op", "not"):
            take()
            return ("not", parse_not())
        if t and t[:2] == ("paren", "("):
            take()
            node = parse_or()
            if not (peek() and peek()[:2] == ("paren", ")")):
                raise DvpInputError(f"missing ')' in rule '{expr}'")
            take()
            return node
        if t and t[0] == "marker":
            take()
            return ("marker", t[1], t[2])
        raise DvpInputError(f"rule '{expr}' is incomplete or has a stray word; "
                            "write e.g. 'CD8+ and panCK-'")

    tree = parse_or()
    if pos != len(toks):
        raise DvpInputError(f"rule '{expr}' has extra words after position {pos}; "
                            "join markers with 'and' / 'or'")
    return tree


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
