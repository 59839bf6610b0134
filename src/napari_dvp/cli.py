"""The ``napari-dvp`` command: the same core functions as the widgets, for batch runs.

Errors the user can fix (:class:`~napari_dvp.core.errors.DvpError`) print one
line on stderr and exit non-zero (2 for bad input); no traceback unless
``--debug`` is given. So do mistyped options (argparse), files the system
refuses (permission, disk full: ``OSError``), input nested too deeply
(``RecursionError``) and input too big for the memory (``MemoryError``).

Ctrl-C (SIGINT) anywhere exits 130 with one line: the first one unwinds the
run (outputs are rolled back by :class:`~napari_dvp.core.outputs.Outputs`,
child processes are stopped by their context managers), a second one during
that clean-up stops at once (after rolling back what it can).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pkgutil
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from . import __version__, commands
from .core.errors import DvpError, one_line


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``napari-dvp CMD: error: …``) and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        print(f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)",
              file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command found in :mod:`napari_dvp.commands`."""
    parser = _Parser(
        prog="napari-dvp",
        description="Deep Visual Proteomics: from tissue image to cut plan to protein map.",
    )
    parser.add_argument("--version", action="version", version=f"napari-dvp {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, a mistyped option (one line, exit 2)
        return exc.code if isinstance(exc.code, int) else 2
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 1
    name = f"napari-dvp {args.command}"
    with _sigint():
        try:
            return int(args._run(args) or 0)
        except DvpError as exc:
            if args.debug:
                raise
            print(f"{name}: error: {one_line(exc)}", file=sys.stderr)
            return exc.exit_code
        except BrokenPipeError:  # output piped into `head` & co.: the work is done, stay quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except KeyboardInterrupt:
            _stop_children()
            print(f"{name}: interrupted; nothing half-written was left (outputs appear whole "
                  "or not at all)", file=sys.stderr, flush=True)
            if argv is None and not args.debug:
                _mute_stderr()  # libraries' exit-time complaints (dask) after our one line
            _clear_unhandled_interrupt()
            return 130
        except OSError as exc:  # permission, read-only or full disk, a path that is a file …
            if args.debug:
                raise
            where = f" {exc.filename}" if exc.filename else ""
            print(f"{name}: error: cannot read or write{where}: "
                  f"{exc.strerror or one_line(exc)}; check the path, its permissions and the "
                  "free disk space", file=sys.stderr)
            return 2
        except RecursionError:
            if args.debug:
                raise
            print(f"{name}: error: an input is nested too deeply to read (JSON, rules); it is "
                  "not a file napari-dvp or QuPath wrote", file=sys.stderr)
            return 2
        except MemoryError:
            if args.debug:
                raise
            print(f"{name}: error: not enough memory for this input; use a smaller input or "
                  "lower NAPARI_DVP_MAX_MEMORY_GB so it is refused early", file=sys.stderr)
            return 2
        except Exception as exc:  # a bug, but the user still gets one line
            if args.debug:
                raise
            print(f"{name}: internal error: {type(exc).__name__}: {one_line(exc)} "
                  "(rerun with --debug for details and please report it)", file=sys.stderr)
            return 1


@contextlib.contextmanager
def _sigint() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt once (never inside a commit); a second one stops now.

    A KeyboardInterrupt raised while Python runs a garbage-collector callback, a
    ``__del__`` or a weakref callback (dask's client runs such callbacks often) cannot
    propagate: Python prints "Exception ignored in …" with a traceback and goes on, so
    the run would finish as if never interrupted. Such a lost interrupt is caught
    here, printed as nothing, and delivered again at the next ordinary line of code.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    import _thread

    from .core.outputs import defer_interrupt, rollback_all

    hits = []
    redeliver = []

    def raise_interrupt() -> None:
        raise KeyboardInterrupt

    def handler(signum, frame) -> None:
        if redeliver:  # the same Ctrl-C, lost in a callback: not a second one
            redeliver.clear()
        else:
            hits.append(signum)
        if len(hits) > 1:  # impatient: roll back what we can and stop
            rollback_all()
            _stop_children()
            os.write(2, b"napari-dvp: interrupted\n")
            os._exit(130)
        import logging

        logging.disable(logging.CRITICAL)  # dask & co. log their teardown; we print one line
        if not defer_interrupt(raise_interrupt):
            raise KeyboardInterrupt

    def deliver_again() -> None:
        if active:
            _thread.interrupt_main(signal.SIGINT)

    def unraisable(info) -> None:
        if info.exc_type is None or not issubclass(info.exc_type, KeyboardInterrupt):
            previous_hook(info)
            return
        with contextlib.suppress(KeyboardInterrupt):
            redeliver.append(True)
            # from another thread, a moment later: once this callback has returned
            timer = threading.Timer(0.01, deliver_again)
            timer.daemon = True
            timer.start()

    active = [True]
    previous = signal.signal(signal.SIGINT, handler)
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        active.clear()
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
        if hits:
            import logging

            logging.disable(logging.NOTSET)


def _mute_stderr() -> None:
    """Send what the interpreter and libraries print at exit to /dev/null (after an interrupt)."""
    import logging

    logging.disable(logging.CRITICAL)
    with contextlib.suppress(OSError):
        sys.stderr.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)


def _clear_unhandled_interrupt() -> None:
    """Let the process exit with our 130 after a Ctrl-C we handled.

    CPython remembers a KeyboardInterrupt that escaped any nested ``PyRun_*`` evaluation
    (some extension modules run code that way while they are imported) and, at exit,
    kills the process with SIGINT instead of returning the exit code (the parent sees -2;
    5 to 11 of 16 ``export-lmd`` runs interrupted during their imports). Every ``PyRun_*``
    call resets that flag first, so one empty evaluation clears it.
    """
    with contextlib.suppress(Exception):  # not CPython: nothing to clear
        import ctypes

        ctypes.pythonapi.PyRun_SimpleString(b"pass")


def _stop_children() -> None:
    """Stop child processes napari-dvp started (the Xvfb virtual screen)."""
    xvfb = sys.modules.get(f"{__package__}._xvfb")
    if xvfb is not None:
        xvfb.stop_all()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
