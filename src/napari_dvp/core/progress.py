"""Drive the progress generators of ``core`` (they yield ``(done, total)``, return a result)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any


def run_to_end(gen: Generator[Any, Any, Any],
               progress: Callable[..., None] | None = None) -> Any:
    """Drive a progress generator to its end and return its value.

    Parameters
    ----------
    gen
        A generator that yields progress tuples such as ``(done, total)`` and
        returns its result.
    progress
        Called with each yielded tuple unpacked, e.g. ``progress(done, total)``.

    Returns
    -------
    Any
        The generator's return value.
    """
    while True:
        try:
            step = next(gen)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(*step)
