"""Atomic writes: a file or folder appears complete or not at all.

Write into a temporary sibling, then :func:`os.replace` it onto the target.
A crash or an exception leaves the previous target (if any) untouched and
removes the temporary.

Temporaries are named ``.<name>.<pid>-<random>.partial…`` (and a folder being
replaced ``.<name>.<pid>-<random>.old``), so a later run can tell a leftover
of a killed process (its pid is gone) from one still being written, and
:func:`clean_stale` removes only the former.

Every folder written by :func:`atomic_dir` holds a marker file
(:data:`MARKER`) listing the files napari-dvp wrote. An existing folder is
replaced only when it is empty or every file in it is listed there: a folder
holding anything else (a user's notes, the inputs of the export …) is never
deleted — :func:`unknown_files` says what is in the way.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MARKER", "atomic_dir", "atomic_path", "clean_stale", "read_marker",
           "unknown_files", "write_marker", "write_text_atomic"]

MARKER = ".napari-dvp-output.json"
#: ``.<name>.<pid>-<token>.partial…`` / ``.old`` (this version) and ``.old-<pid>`` (earlier)
_OURS = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]{6,}\.(partial|old|staging)"
                   r"|^\.(?P<name2>.+)\.old-(?P<pid2>\d+)$")
#: leftovers of earlier versions, without a pid: removed when older than an hour
_LEGACY = re.compile(r"^\..+\.[a-z0-9_]{8}\.(partial|staging)")
_LEGACY_AGE_S = 3600.0


def _tmp_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}-"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success.

    Parameters
    ----------
    target
        The final file path.
    suffix
        Suffix of the temporary file (default: the target's own suffixes, so
        libraries that dispatch on the extension still do the right thing).

    Yields
    ------
    pathlib.Path
        Where to write. It does not exist yet.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix is None:
        suffix = "".join(target.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(target), suffix=f".partial{suffix}",
                               dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists():
            raise FileNotFoundError(f"nothing was written to {tmp_path}")
        if tmp_path.is_dir():
            os.chmod(tmp_path, 0o777 & ~_umask())
            _replace_dir(tmp_path, target)
        else:
            _fsync(tmp_path)
            os.chmod(tmp_path, 0o666 & ~_umask())
            os.replace(tmp_path, target)
    finally:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; it becomes ``target`` on success.

    Leftover temporaries of killed processes beside ``target`` are removed
    first (:func:`clean_stale`). The folder gets a :data:`MARKER` listing
    every file in it. An existing
    ``target`` folder is replaced only after everything was written, and only
    if napari-dvp wrote everything in it (else :class:`DvpInputError`, and
    ``target`` stays as it was).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target.parent)  # leftovers of a killed export beside it (widgets too)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=".partial",
                                dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; exports are shared
        write_marker(tmp)
        _replace_dir(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


# ----------------------------------------------------------------------------- markers

def _listing(folder: Path) -> list[str]:
    out = []
    for root, _dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        out.extend((rel / f).as_posix() for f in files)
    return sorted(f for f in out if f != MARKER)


def write_marker(folder: str | os.PathLike[str], *, complete: bool = True,
                 command: str | None = None) -> Path:
    """Write :data:`MARKER` in ``folder``: every file now in it, written by napari-dvp.

    ``complete=False`` marks a folder still being written in place by this
    process (a later run may replace it once this process is gone).
    """
    from .. import __version__

    folder = Path(folder)
    info = {"written_by": "napari-dvp", "version": __version__, "command": command,
            "complete": complete, "pid": os.getpid(), "files": _listing(folder)}
    path = folder / MARKER
    path.write_text(json.dumps(info, indent=0), encoding="utf-8")
    return path


def read_marker(folder: str | os.PathLike[str]) -> dict | None:
    """The marker of ``folder`` (``None`` if absent or unreadable)."""
    path = Path(folder) / MARKER
    try:
        if not path.is_file() or path.stat().st_size > 64 * 1024 ** 2:
            return None
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("written_by") != "napari-dvp" \
            or not isinstance(info.get("files"), list):
        return None
    return info


def unknown_files(folder: str | os.PathLike[str]) -> list[str]:
    """Files in ``folder`` that napari-dvp did not write (empty: safe to replace).

    A folder left half-written by a process that is gone (marker
    ``complete: false``) counts as napari-dvp's.
    """
    folder = Path(folder)
    present = _listing(folder)
    if not present:
        return []
    info = read_marker(folder)
    if info is None:
        return present
    if not info.get("complete", True):
        pid = info.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and not _alive(pid):
            return []
    known = set(map(str, info["files"]))
    return [f for f in present if f not in known]


def _replace_dir(tmp: Path, target: Path) -> None:
    from .errors import DvpInputError

    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise DvpInputError(f"{target} exists and is not a folder; napari-dvp does not replace "
                            "it: choose another output name")
    if target.exists():
        unknown = unknown_files(target)
        if unknown:
            raise DvpInputError(
                f"{target} holds {len(unknown)} file(s) napari-dvp did not write (e.g. "
                f"{unknown[0]}); they are left alone: choose another output folder")
        old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(target), suffix=".old",
                                    dir=target.parent))
        os.replace(target, old)  # an empty folder: replaced atomically
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


# ----------------------------------------------------------------------------- leftovers

def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def clean_stale(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove napari-dvp's temporaries in ``folder`` whose process is gone.

    Only names of the form this module writes are looked at; a temporary of a
    running process is kept. Leftovers of earlier versions (no pid in the
    name) are removed when older than an hour. Returns what was removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.startswith("."):
            continue
        m = _OURS.match(name)
        if m:
            pid = int(m.group("pid") or m.group("pid2"))
            if pid == os.getpid() or _alive(pid):
                continue
        elif _LEGACY.match(name):
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < _LEGACY_AGE_S:
                    continue
            except OSError:
                continue
        else:
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
