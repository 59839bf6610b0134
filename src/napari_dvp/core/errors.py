"""Errors that the user can act on.

Every reader and core function raises :class:`DvpInputError` (or a subclass)
for bad input. Its message is a single line that says what is wrong and what
to do. The CLI turns it into exit code 2 and one line on stderr; the widgets
turn it into a napari notification. Anything else escaping is a bug.
"""

from __future__ import annotations


class DvpError(Exception):
    """Base class of napari-dvp's user-facing errors."""

    exit_code = 1


class DvpInputError(DvpError, ValueError):
    """A file, table or parameter that napari-dvp cannot use as given.

    Parameters
    ----------
    message
        One line: what is wrong and what the user can do about it.
    """

    exit_code = 2


class DvpCancelled(DvpError):
    """A long job was cancelled by the user; the previous state is intact."""

    exit_code = 130


def one_line(message: str) -> str:
    """Collapse whitespace so a message prints as a single line."""
    return " ".join(str(message).split())
