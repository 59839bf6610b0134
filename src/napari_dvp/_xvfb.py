"""Start a private Xvfb virtual screen when napari must render without a display.

The server never outlives napari-dvp: it runs in its own session (a Ctrl-C in
the terminal reaches napari-dvp, which then stops it), it is stopped at exit
and by :func:`stop_all` (the CLI's interrupt handling), and on Linux the
kernel sends it SIGTERM if napari-dvp dies without a chance to clean up
(``kill -9``, a crash).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys

from .core.errors import DvpError

_RUNNING: list[subprocess.Popen] = []


def ensure_display() -> None:
    """Make sure ``$DISPLAY`` points at an X server; start Xvfb if there is none.

    Raises
    ------
    DvpError
        If there is no display and Xvfb is not installed.
    """
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise DvpError(
            "no screen and no Xvfb: install it (Debian/Ubuntu: apt-get install xvfb "
            "libgl1-mesa-dri) or run the README's demo command, which does"
        )
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    _RUNNING.append(proc)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        number = fh.readline().strip()
    if not number:
        _stop(proc)
        raise DvpError("Xvfb did not start; check that xvfb and libgl1-mesa-dri are installed")
    os.environ["DISPLAY"] = f":{number}"
    atexit.register(_stop, proc)


def stop_all() -> None:
    """Stop every Xvfb this process started (idempotent)."""
    for proc in list(_RUNNING):
        _stop(proc)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM this child when the parent dies (``prctl(PR_SET_PDEATHSIG)``)."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)


def _stop(proc: subprocess.Popen) -> None:
    """Terminate Xvfb and wait for it (kill it if it does not stop within 5 s)."""
    if proc in _RUNNING:
        _RUNNING.remove(proc)
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
