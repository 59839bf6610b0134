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
    unit = f" ({info.unit})" if info.unit else ""
    default = f.default
    if isinstance(default, bool):
        return f"{info.help}{unit}"
    shown = "automatic" if default is None else ",".join(map(str, default)) \
        if isinstance(default, tuple) else default
    return f"{info.help}{unit}; default {shown}"


def add_params(parser: argparse.ArgumentParser | Any, cls: type, *, prefix: str = "",
               exclude: tuple[str, ...] = ()) -> None:
    """Add one option per parameter field of ``cls`` to ``parser`` (or an argument group).

    Booleans become ``--flag/--no-flag``; tuples comma-separated lists; choices
    a fixed set. The option's ``dest`` is ``prefix + field name``.
    """
    for f, info in param_fields(cls):
        flag = _flag(f, info, prefix)
        if flag is None or f.name in exclude:
            continue
        dest = (prefix + f.name).replace("-", "_")
        default = f.default
        kwargs: dict[str, Any] = {"dest": dest, "default": default, "help": _help(f, info)}
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif info.choices is not None:
            kwargs["choices"] = info.choices
            kwargs["type"] = type(info.choices[0])
        elif isinstance(default, tuple):
            kwargs["type"] = lambda s: tuple(x.strip() for x in s.split(",") if x.strip())
        elif isinstance(default, float) or (default is None and info.unit):
            kwargs["type"] = finite_float
        elif isinstance(default, int):
            kwargs["type"] = int
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
