"""The gating rule language and the gating scheme (rules, thresholds, statistic).

A rule reads like a pathologist says it::

    Keratinocyte: panCK+
    CD8 T cell: CD8+ and panCK-
    Macrophage: CD163+ and not CD8+
    Immune: (CD8+ or CD163+) and panCK-

``marker+`` means the cell's intensity (mean by default) is above the marker's
threshold, ``marker-`` at or below it. ``and``, ``or``, ``not`` and
parentheses combine them (the Unicode minus ``−`` works too).

This module is pure Python (no numpy, no pandas): the command line reads the
scheme's parameters from it to build ``--help``. Evaluating a scheme over a
cell table lives in :mod:`napari_dvp.core.classes.gating`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import DvpInputError
from ..names import check_name
from ..params import check_params, param

__all__ = ["FORMAT", "GateRule", "GatingScheme", "compile_rule", "parse_rules"]

FORMAT = "napari-dvp gating"
_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<word>[^\s()]+))")
_SIGNS = {"+": True, "-": False, "−": False}
_GREY = (200, 200, 200)


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
    color: tuple[int, int, int] = _GREY

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

    Raises
    ------
    DvpInputError
        An unknown statistic or a threshold that is not a finite number.
    """

    rules: list[GateRule] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    statistic: str = param(
        "mean", label="Cell intensity", choices=("mean", "median"),
        help="which per-cell intensity the thresholds apply to: the mean or the median of "
             "the cell's pixels (the median ignores a few bright pixels of a neighbour)")

    def __post_init__(self) -> None:
        check_params(self)
        for marker, value in self.thresholds.items():
            check_threshold(marker, value)

    @property
    def class_names(self) -> list[str]:
        """Class names in rule order (without duplicates)."""
        return list(dict.fromkeys(r.name for r in self.rules))

    def markers(self) -> list[str]:
        """All markers the rules mention."""
        return list(dict.fromkeys(m for r in self.rules for m in r.markers()))

    def column(self, marker: str) -> str:
        """Cell-table column gated for ``marker`` (``mean_<marker>`` or ``median_<marker>``)."""
        if self.statistic not in ("mean", "median"):
            raise DvpInputError(f"unknown statistic '{self.statistic}'; use 'mean' or 'median'")
        return f"{self.statistic}_{marker}"

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
        """Inverse of :meth:`to_dict`; checks every rule parses and every threshold is finite."""
        if not isinstance(d, Mapping) or "rules" not in d:
            raise DvpInputError("not a gating file: no 'rules'; save one from the Gating dock")
        try:
            rules = [GateRule(str(r["name"]), str(r["rule"]),
                              tuple(int(c) for c in r.get("color", _GREY))[:3])
                     for r in d["rules"]]
            thr = {str(k): float(v) for k, v in dict(d.get("thresholds", {})).items()}
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise DvpInputError(f"gating file is malformed ({exc}); save it again") from None
        bad_colour = [r.name for r in rules if len(r.color) != 3 or
                      not all(0 <= c <= 255 for c in r.color)]
        if bad_colour:
            raise DvpInputError(f"gating file gives class {bad_colour[0]!r} a colour outside "
                                "0-255 (three numbers, red green blue); set it in the Gating "
                                "dock")
        for r in rules:
            check_name(r.name, "class name", "the gating file")
        extra = {"statistic": str(d["statistic"])} if "statistic" in d else {}
        scheme = cls(rules=rules, thresholds=thr, **extra)
        for r in scheme.rules:
            compile_rule(r.expr)
        return scheme


def check_threshold(marker: str, value: float) -> float:
    """``value`` as a float; refuses NaN and infinity with one line naming the marker."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise DvpInputError(f"marker {marker!r} has the threshold {value}; thresholds must be "
                            "finite numbers, set it in the Gating dock")
    return number


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
