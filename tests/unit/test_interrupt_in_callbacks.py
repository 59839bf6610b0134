"""A Ctrl-C that lands in a garbage-collector callback is not lost.

Python cannot raise a KeyboardInterrupt out of a gc callback, a ``__del__`` or a
weakref callback: it prints "Exception ignored in …" with a traceback and goes on.
dask's client runs gc callbacks all the time, so ``segment --workers 2`` once ran to
the end after a Ctrl-C (exit 0, a traceback on stderr). The CLI's interrupt handling
delivers such a lost interrupt again at the next ordinary line of code.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time

import pytest

from napari_dvp.cli import _sigint


def test_ctrl_c_inside_a_gc_callback_still_stops_the_command():
    armed, fired, hidden = [], [], []

    def callback(phase, info):
        if phase == "start" and armed and not fired:
            fired.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs inside this callback
            for _ in range(1000):
                pass

    previous_hook, sys.unraisablehook = sys.unraisablehook, hidden.append
    gc.callbacks.append(callback)
    steps = 0
    try:
        with pytest.raises(KeyboardInterrupt), _sigint():
            armed.append(True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # a command's work, to its end if Ctrl-C is lost
                steps += 1
                if not fired:
                    gc.collect()
    finally:
        gc.callbacks.remove(callback)
        sys.unraisablehook = previous_hook
    assert fired and time.monotonic() < deadline
    assert hidden == []  # nothing reached the default "Exception ignored in …" printer
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_other_unraisable_errors_are_still_reported():
    class Broken:
        def __del__(self):
            raise ValueError("a real bug in a destructor")

    reported = []
    previous_hook, sys.unraisablehook = sys.unraisablehook, reported.append
    try:
        with _sigint():
            Broken()
    finally:
        sys.unraisablehook = previous_hook
    assert [str(info.exc_value) for info in reported] == ["a real bug in a destructor"]
