"""The ``napari-dvp`` command: the same core functions as the widgets, for batch runs.

Errors the user can fix (:class:`~napari_dvp.core.errors.DvpError`) print one
line on stderr and exit non-zero (2 for bad input); no traceback unless
``--debug`` is given.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from . import __version__, commands
from .core.errors import DvpError, one_line


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command found in :mod:`napari_dvp.commands`."""
    parser = argparse.ArgumentParser(
        prog="napari-dvp",
        description="Deep Visual Proteomics: from tissue image to cut plan to protein map.",
    )
    parser.add_argument("--version", action="version", version=f"napari-dvp {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``napari-dvp``; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 1
    try:
        return int(args._run(args) or 0)
    except DvpError as exc:
        if args.debug:
            raise
        print(f"napari-dvp {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` & co.: the work is done, stay quiet
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"napari-dvp {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, but the user still gets one line
        if args.debug:
            raise
        print(
            f"napari-dvp {args.command}: internal error: {type(exc).__name__}: {one_line(exc)} "
            "(rerun with --debug for details and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
