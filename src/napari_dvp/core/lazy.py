"""Packages whose public names are imported on first use (light ``--help``, fast start)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each public name of ``package`` on first use.

    Parameters
    ----------
    package
        The package's ``__name__`` (relative module paths resolve against it).
    exports
        Public name -> module that defines it (``".backends"``, ``"..progress"``).
    """
    import sys

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(exports[name], package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    return __getattr__
