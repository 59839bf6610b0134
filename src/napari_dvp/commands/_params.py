"""Command-line options built from a core parameter dataclass (see :mod:`..core.params`).

One ``--flag`` per :func:`~napari_dvp.core.params.param` field, with the
dataclass default, the declared choices, and a help text that names the unit
and the default. Numbers are parsed strictly: NaN and infinity are refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from typing import Any

from ..core.params import ParamInfo, param_fields
from ._safety import float_range, int_range

__all__ = ["add_params", "finite_float", "params_from_args"]


def finite_float(text: str) -> float:
    """``argparse`` type: a finite float (refuses ``nan``, ``inf``, ``1e400``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number (got {text!r})")
    return value


def _flag(f: dataclasses.Field, info: ParamInfo, prefix: str) -> str | None:
    if info.flag == "":
        return None
    return "--" + prefix + (info.flag or f.name.replace("_", "-"))


def _help(f: dataclasses.Field, info: ParamInfo) -> str:
    """The option's help text; ``%`` doubled, as argparse formats help with ``%``."""
    unit = f" ({info.unit})" if info.unit else ""
    default = f.default
    if isinstance(default, bool):
        text = f"{info.help}{unit}"
    else:
        shown = "automatic" if default is None else ",".join(map(str, default)) \
            if isinstance(default, tuple) else default
        text = f"{info.help}{unit}; default {'none' if shown in ('', ()) else shown}"
    return text.replace("%", "%%")


def _int(bound: float | None) -> int | None:
    return None if bound is None else int(bound)


def add_params(parser: argparse.ArgumentParser | Any, cls: type, *, prefix: str = "",
               exclude: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> None:
    """Add one option per parameter field of ``cls`` to ``parser`` (or an argument group).

    ``exclude`` leaves fields out; ``only`` keeps just the fields named.

    Booleans become ``--flag/--no-flag``; tuples comma-separated lists; choices
    a fixed set. The option's ``dest`` is ``prefix + field name``.
    """
    for f, info in param_fields(cls):
        flag = _flag(f, info, prefix)
        if flag is None or f.name in exclude or (only is not None and f.name not in only):
            continue
        dest = (prefix + f.name).replace("-", "_")
        default = f.default
        kwargs: dict[str, Any] = {"dest": dest, "default": default, "help": _help(f, info)}
        if not isinstance(default, bool) and info.choices is None:
            kwargs["metavar"] = flag[2:].upper().replace("-", "_")
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif info.choices is not None:
            kwargs["choices"] = info.choices
            kwargs["type"] = type(info.choices[0])
        elif isinstance(default, tuple):
            kwargs["type"] = lambda s: tuple(x.strip() for x in s.split(",") if x.strip())
        elif isinstance(default, float) or (default is None and info.unit):
            # the declared range is checked while parsing, so a wrong value names its option
            kwargs["type"] = (finite_float if info.min is None and info.max is None
                              else float_range(info.min, info.max))
        elif isinstance(default, int):
            kwargs["type"] = int_range(_int(info.min), _int(info.max))
        parser.add_argument(flag, **kwargs)


def params_from_args(cls: type, args: argparse.Namespace, *, prefix: str = "",
                     **overrides: Any) -> Any:
    """Build ``cls`` from the parsed options of :func:`add_params` (plus ``overrides``).

    The dataclass checks its own values (``check_params``), so an out-of-range
    option gives the same one-line error as in the dock.
    """
    values = {}
    for f, _info in param_fields(cls):
        dest = (prefix + f.name).replace("-", "_")
        if hasattr(args, dest):
            values[f.name] = getattr(args, dest)
    values.update(overrides)
    return cls(**values)
