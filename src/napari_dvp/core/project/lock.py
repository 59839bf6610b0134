"""One writer per project folder: a lock file with stale-lock detection.

``project.lock`` names who writes the project: process id, host, when the
process started, a random token, what it is doing (``saving`` or ``open`` in a
napari window) and a heartbeat time. It is created atomically (written to a
temporary file, then hard-linked onto the name, which fails if a lock exists),
so two processes — or two windows of one process — never both hold it.

A lock is *stale* when its holder is gone: on the same host, no process with
that id started at that time (or, in this process, no live lock object with
that token); on another host, its heartbeat is older than :data:`STALE_AFTER_S`.
A stale lock is taken over (under a short ``project.lock.break`` guard, so two
processes never both break it) and the caller is told whose lock it was.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

from ..errors import DvpInputError

__all__ = ["LOCK", "STALE_AFTER_S", "LockInfo", "ProjectLock", "ProjectLocked", "read_lock"]

LOCK = "project.lock"
STALE_AFTER_S = 600.0
"""A lock of another host whose heartbeat is older than this (s) is taken over."""
_BREAK_STALE_S = 30.0
_LIVE: set[str] = set()  # tokens of the locks this process holds now


class ProjectLocked(DvpInputError):
    """The project is being written by someone else (``holder``: its :class:`LockInfo`)."""

    holder: LockInfo | None = None


def _host() -> str:
    return socket.gethostname()


def _started(pid: int) -> float | None:
    """When process ``pid`` started (s since the epoch), or None if there is none."""
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ValueError):
        return None


_OWN: dict[int, float | None] = {}


def _own_start() -> float | None:
    """When this process started (computed once per process, also after a fork)."""
    pid = os.getpid()
    if pid not in _OWN:
        _OWN[pid] = _started(pid)
    return _OWN[pid]


@dataclass(frozen=True)
class LockInfo:
    """What a lock file says about its holder."""

    pid: int
    host: str
    started: float | None
    token: str
    purpose: str
    since: str
    heartbeat: float

    @classmethod
    def from_json(cls, d: dict) -> LockInfo:
        return cls(pid=int(d["pid"]), host=str(d["host"]),
                   started=None if d.get("started") is None else float(d["started"]),
                   token=str(d["token"]), purpose=str(d.get("purpose", "saving")),
                   since=str(d.get("since", "")), heartbeat=float(d.get("heartbeat", 0.0)))

    def describe(self) -> str:
        """``napari-dvp (pid 123 on host, since 10:02)``."""
        since = self.since[11:16] if len(self.since) >= 16 else self.since
        return f"napari-dvp (pid {self.pid} on {self.host}, since {since})"

    def stale_reason(self) -> str | None:
        """Why the holder is gone (``None``: it is alive, or we cannot tell)."""
        if self.host != _host():
            age = time.time() - self.heartbeat
            return (f"no sign of life for {age / 60:.0f} min" if age > STALE_AFTER_S else None)
        if self.pid == os.getpid() and (self.started is None or self.started == _own_start()):
            return None if self.token in _LIVE else "left behind by this process"
        started = _started(self.pid)
        if started is None:
            return "no longer running"
        if self.started is not None and abs(started - self.started) > 1.0:
            return "no longer running (its process id is reused)"
        return None


def read_lock(folder: str | os.PathLike[str]) -> LockInfo | None:
    """The lock of a project folder, or None (no lock, or one being written right now)."""
    path = Path(folder) / LOCK
    try:
        return LockInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError):
        # unreadable: a damaged lock; treat as stale once it is old enough
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            return None
        return LockInfo(pid=-1, host=_host(), started=None, token="damaged", purpose="unknown",
                        since="", heartbeat=0.0) if age > 5 else None


def _link_new(path: Path, text: str) -> bool:
    """Create ``path`` with ``text`` atomically; False if it exists."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


class ProjectLock:
    """The right to write one project folder (see the module docstring).

    Parameters
    ----------
    folder
        The project folder.
    purpose
        ``"saving"`` (held while one save runs) or ``"open"`` (held while a
        napari window has the project open).

    Use as a context manager, or :meth:`acquire` / :meth:`release`. A lock
    object that is garbage-collected releases its lock.
    """

    def __init__(self, folder: str | os.PathLike[str], purpose: str = "saving") -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.purpose = purpose
        self.token = uuid.uuid4().hex
        self.held = False
        self.took_over: str | None = None
        self._since = ""
        self._finalizer: weakref.finalize | None = None

    # ------------------------------------------------------------------ acquire / release
    def _content(self) -> str:
        now = time.time()
        if not self._since:
            self._since = _dt.datetime.fromtimestamp(now).isoformat(timespec="seconds")
        return json.dumps({"pid": os.getpid(), "host": _host(), "started": _own_start(),
                           "token": self.token, "purpose": self.purpose, "since": self._since,
                           "heartbeat": now})

    def acquire(self, wait: float = 0.0) -> ProjectLock:
        """Take the lock, waiting up to ``wait`` s for a live holder that is saving.

        A stale lock is taken over; :attr:`took_over` then says whose it was.

        Raises
        ------
        ProjectLocked
            A live holder has the project open, or is still saving after ``wait`` s.
        """
        if self.held:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        delay = 0.005
        while True:
            if _link_new(self.path, self._content()):
                break
            info = read_lock(self.folder)
            if info is None:
                time.sleep(0.002)  # released (or being written) just now: try again
                continue
            reason = info.stale_reason()
            if reason is not None:
                if self._break(info):
                    self.took_over = f"{info.describe()}: {reason}"
                continue
            if info.purpose == "open" or time.monotonic() >= deadline:
                doing = ("has it open" if info.purpose == "open" else "is saving it")
                exc = ProjectLocked(f"{self.folder.name} is locked: {info.describe()} {doing}; "
                                    + ("close it there first, or Save as… a new folder"
                                       if info.purpose == "open" else "try again in a moment"))
                exc.holder = info
                raise exc
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        self.held = True
        _LIVE.add(self.token)
        self._finalizer = weakref.finalize(self, _release, self.path, self.token)
        return self

    def _break(self, stale: LockInfo) -> bool:
        """Remove a stale lock unless someone else is doing it; True if we did."""
        guard = self.path.with_name(self.path.name + ".break")
        if not _link_new(guard, self.token):
            with contextlib.suppress(OSError):
                if time.time() - guard.stat().st_mtime > _BREAK_STALE_S:
                    guard.unlink(missing_ok=True)  # a breaker that died mid-way
            time.sleep(0.005)
            return False
        try:
            now = read_lock(self.folder)
            if now is not None and now.token == stale.token:
                self.path.unlink(missing_ok=True)
                return True
            return False
        finally:
            guard.unlink(missing_ok=True)

    def release(self) -> None:
        """Give the lock up (only if the lock file is still ours)."""
        if not self.held:
            return
        self.held = False
        if self._finalizer is not None:
            self._finalizer.detach()
        _release(self.path, self.token)

    def refresh(self) -> None:
        """Renew the heartbeat (holders call it now and then; cheap)."""
        if self.held:
            info = read_lock(self.folder)
            if info is None or info.token != self.token:
                self.held = False  # someone broke it: we no longer hold it
                _LIVE.discard(self.token)
                return
            with contextlib.suppress(OSError):
                tmp = self.path.with_name(f".{self.path.name}.{self.token[:8]}.partial")
                tmp.write_text(self._content(), encoding="utf-8")
                os.replace(tmp, self.path)

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _release(path: Path, token: str) -> None:
    _LIVE.discard(token)
    info = read_lock(path.parent)
    if info is not None and info.token == token:
        path.unlink(missing_ok=True)
