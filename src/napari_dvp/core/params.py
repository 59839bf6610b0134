"""Parameters declared once: default, label, help, unit and range live on the core dataclass.

A step's parameters are a dataclass whose fields are made with :func:`param`.
The dock widget builds its form from them (``_qt/_forms.py``), the command
line its options (``commands/_params.py``), and :func:`check_params` refuses
out-of-range, NaN or infinite values with one line — so a default, a limit or
a help text is written in exactly one place.

This module imports nothing heavy: command modules read it to build ``--help``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import DvpInputError

__all__ = ["ParamInfo", "check_params", "param", "param_fields"]

_KEY = "napari_dvp"


@dataclass(frozen=True)
class ParamInfo:
    """What a user needs to know about one parameter.

    Attributes
    ----------
    label
        Short name shown in the form ("Margin around cells").
    help
        One sentence: what it does and when to change it (tooltip and ``--help``).
    unit
        Unit shown after the value ("µm", "µm²", "px", "%"), or "".
    min, max
        Allowed range (inclusive); ``None`` = unbounded.
    step
        Spin-box step in the form.
    decimals
        Decimals shown in the form (floats).
    choices
        Allowed values, for a drop-down and ``choices=`` on the command line.
    flag
        Command-line option name without dashes (default: the field name with
        ``_`` -> ``-``); ``""`` leaves the field out of the command line.
    gui
        Whether the dock shows the field.
    optional
        ``None`` is allowed (e.g. "automatic").
    """

    label: str
    help: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    step: float | None = None
    decimals: int | None = None
    choices: tuple[Any, ...] | None = None
    flag: str | None = None
    gui: bool = True
    optional: bool = False


def param(default: Any, *, label: str, help: str, unit: str = "",
          min: float | None = None, max: float | None = None,
          step: float | None = None, decimals: int | None = None,
          choices: Sequence[Any] | None = None, flag: str | None = None,
          gui: bool = True, optional: bool = False) -> Any:
    """A dataclass field that carries its :class:`ParamInfo`.

    Examples
    --------
    >>> @dataclass
    ... class Margins:
    ...     dilate_um: float = param(0.5, label="Margin", help="Cut this far around a cell",
    ...                              unit="µm", min=0, max=50)
    """
    info = ParamInfo(label, help, unit, min, max, step, decimals,
                     tuple(choices) if choices is not None else None, flag, gui, optional)
    if isinstance(default, (list, dict, set)):
        raise TypeError("param() needs an immutable default (use a tuple)")
    return dataclasses.field(default=default, metadata={_KEY: info})


def param_fields(cls_or_obj: Any) -> list[tuple[dataclasses.Field, ParamInfo]]:
    """The fields of a parameter dataclass that were declared with :func:`param`, in order."""
    return [(f, f.metadata[_KEY]) for f in dataclasses.fields(cls_or_obj) if _KEY in f.metadata]


def check_params(obj: Any) -> None:
    """Refuse a value outside its declared range, NaN/infinite numbers and unknown choices.

    Call it from ``__post_init__`` of every parameter dataclass.

    Raises
    ------
    DvpInputError
        Naming the parameter, the value and what is allowed.
    """
    for f, info in param_fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            if info.optional or f.default is None:
                continue
            raise DvpInputError(f"{info.label} ({f.name}) must be set")
        if info.choices is not None and value not in info.choices:
            allowed = ", ".join(map(str, info.choices))
            raise DvpInputError(f"{info.label} ({f.name}) must be one of {allowed} "
                                f"(got {value!r})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            raise DvpInputError(f"{info.label} ({f.name}) must be a finite number "
                                f"(got {value})")
        lo, hi = info.min, info.max
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = (f"between {lo:g} and {hi:g}" if lo is not None and hi is not None
                   else f">= {lo:g}" if lo is not None else f"<= {hi:g}")
            unit = f" {info.unit}" if info.unit else ""
            raise DvpInputError(f"{info.label} ({f.name}) must be {rng}{unit} (got {value:g})")
