"""Start a private Xvfb virtual screen when napari must render without a display."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess

from .core.errors import DvpError


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
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        number = fh.readline().strip()
    if not number:
        _stop(proc)
        raise DvpError("Xvfb did not start; check that xvfb and libgl1-mesa-dri are installed")
    os.environ["DISPLAY"] = f":{number}"
    atexit.register(_stop, proc)


def _stop(proc: subprocess.Popen) -> None:
    """Terminate Xvfb and wait for it (kill it if it does not stop within 5 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
