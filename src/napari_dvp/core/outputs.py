"""One output policy for every napari-dvp command (and any caller that writes results).

:class:`Outputs` is a small transaction around one run::

    with Outputs("score", inputs=[table, manifest], overwrite=args.overwrite) as out:
        scores = out.file(args.out, "--out")          # checked now, before any work
        matches = out.file(stem + ".matches.csv", "--out")
        ...                                           # long work, writes to scores/matches
    # here both files appear together; on an error or Ctrl-C neither does

The rules, checked when an output is declared (so a mistake costs no
computing time) and again just before the results are moved in place:

1. **Never write over an input.** Outputs are compared with every input by
   resolved path and by inode (hard links, symbolic links, ``./x`` vs ``x``);
   an output folder may not contain an input, an output may not lie inside
   an input folder (a ``.zarr``).
2. **Refuse an existing output unless ``overwrite``.** With it, a file is
   replaced; a folder only if napari-dvp wrote every file in it (its
   :data:`~napari_dvp.core.atomic.MARKER` lists them) — a folder holding
   anything else is never touched. An empty folder is used as it is.
3. **All or nothing.** Outputs are written into a staging folder beside
   them (``.napari-dvp.<pid>-<random>.partial``) and moved in place together
   at the end; on an error the staging folder is removed and the previous
   outputs are left as they were.
4. **Stale leftovers are cleaned.** Declaring an output removes the staging
   folders and temporaries of killed napari-dvp processes beside it.
5. **Writable.** The output's folder must be a folder (not a file) and
   writable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .atomic import MARKER, clean_stale, unknown_files, write_marker
from .errors import DvpInputError

__all__ = ["Outputs", "check_output", "critical", "defer_interrupt", "rollback_all"]

PathLike = str | os.PathLike[str]


@dataclass
class _Input:
    path: Path
    real: Path
    dev_ino: tuple[int, int] | None
    is_dir: bool


@dataclass
class _Target:
    path: Path  #: where the output goes (absolute, parent resolved)
    option: str  #: the option that named it, for messages
    folder: bool
    staged: Path  #: where the command writes it
    in_place: bool = False
    backup: Path | None = None  #: in-place folders: the previous folder, restored on error
    created: bool = False  #: in-place folders: this run made the folder now at ``path``


class Outputs:
    """Outputs of one run: declared and checked up front, moved in place together.

    Parameters
    ----------
    command
        Name shown in messages and recorded in folder markers.
    inputs
        Every file or folder the run reads (``None`` entries are skipped). Files
        are checked with :func:`~napari_dvp.core.limits.check_input_file`.
    overwrite
        Replace existing outputs (files; folders napari-dvp wrote).
    """

    def __init__(self, command: str, inputs: Iterable[PathLike | None] = (),
                 overwrite: bool = False, check_inputs: bool = True) -> None:
        self.command = command
        self.overwrite = bool(overwrite)
        self.inputs: list[_Input] = []
        self.targets: list[_Target] = []
        self._stages: dict[Path, Path] = {}
        self._made_dirs: list[Path] = []
        self._done = False
        for p in inputs:
            if p is not None and str(p) != "":
                self.input(p, check=check_inputs)

    # ------------------------------------------------------------------ declaring
    def input(self, path: PathLike, what: str = "input file", check: bool = True) -> Path:
        """Declare one more input (a file or a folder such as ``.zarr``)."""
        p = Path(path)
        try:
            st = p.stat()
        except OSError:
            st = None
        if check and st is not None and not stat.S_ISDIR(st.st_mode):
            from .limits import check_input_file

            check_input_file(p, what, whole=False)
        dev_ino = (st.st_dev, st.st_ino) if st is not None else None
        real = Path(os.path.realpath(p))
        self.inputs.append(_Input(p, real, dev_ino, st is not None and stat.S_ISDIR(st.st_mode)))
        return p

    def file(self, path: PathLike, option: str = "--out") -> Path:
        """Declare an output file; return the path to write it to (inside the staging folder)."""
        return self._declare(Path(path), option, folder=False)

    def folder(self, path: PathLike, option: str = "--out", in_place: bool = False) -> Path:
        """Declare an output folder; return the path to write it to.

        ``in_place=True`` writes straight into the final folder (for a job
        that shows its files while it runs, like the demo): an existing folder
        is moved aside now and put back if the run fails.
        """
        return self._declare(Path(path), option, folder=True, in_place=in_place)

    def _declare(self, path: Path, option: str, folder: bool, in_place: bool = False) -> Path:
        if self._done:
            raise RuntimeError("outputs already committed")
        if not path.name or path.name in (".", ".."):
            raise DvpInputError(f"{option} {path} names no file; give a file or folder name")
        target = _absolute(path)
        for t in self.targets:
            if t.path == target or _inside(t.path, target) or _inside(target, t.path):
                raise DvpInputError(f"{option} {path} and {t.option} {t.path.name} are the same "
                                    "or nested; give each output its own name")
        self._check_parent(target, path, option)
        self._check_target(target, path, option, folder)
        if target.parent.is_dir():
            clean_stale(target.parent)
        stage = self._stage(target.parent)
        t = _Target(target, option, folder, stage / target.name, in_place)
        self.targets.append(t)  # before anything moves, so a rollback knows about it
        if in_place:
            with critical():
                if target.exists():
                    os.replace(target, stage / ".previous")
                    t.backup = stage / ".previous"
                target.mkdir()
                t.created = True
                write_marker(target, complete=False, command=self.command)
                t.staged = target
        return t.staged

    def _check_parent(self, target: Path, given: Path, option: str) -> None:
        parent = target.parent
        if parent.is_symlink() and not parent.exists():
            raise DvpInputError(f"{option} {given}: {parent} is a broken link")
        if not parent.exists():
            # never create folders the user did not ask for (a typo would go unnoticed)
            raise DvpInputError(f"{option} {given}: folder {parent} does not exist; create it "
                                "first or choose another output path")
        if not parent.is_dir():
            raise DvpInputError(f"{option} {given}: {parent} is a file, not a folder; choose an "
                                "output inside a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise DvpInputError(f"{option} {given}: cannot write in {parent} (read-only or no "
                                "permission); choose another output folder")

    def _check_target(self, target: Path, given: Path, option: str, folder: bool) -> None:
        # 1. inputs, by resolved path and inode
        real = Path(os.path.realpath(target))
        try:
            st = os.stat(target)
        except OSError:
            st = None
        for inp in self.inputs:
            same = real == inp.real or (st is not None and inp.dev_ino is not None
                                        and (st.st_dev, st.st_ino) == inp.dev_ino)
            if same:
                raise DvpInputError(f"{option} {given} is the input {inp.path}; napari-dvp never "
                                    "writes over its inputs: choose another output name")
            if _inside(inp.real, real):
                raise DvpInputError(f"{option} {given} contains the input {inp.path}; replacing "
                                    "it would delete the input: choose another output folder")
            if inp.is_dir and _inside(real, inp.real):
                raise DvpInputError(f"{option} {given} lies inside the input {inp.path}; "
                                    "napari-dvp never writes into its inputs")
        # 2. what is there now
        if not (target.exists() or target.is_symlink()):
            return
        mode = os.lstat(target).st_mode
        if folder:
            if not stat.S_ISDIR(mode):
                raise DvpInputError(f"{option} {given} exists and is not a folder; choose another "
                                    "output folder")
            unknown = unknown_files(target)
            if unknown:
                raise DvpInputError(
                    f"{option} {given} holds {len(unknown)} file(s) napari-dvp did not write "
                    f"(e.g. {unknown[0]}); they are never replaced: choose another output folder "
                    "or move them away")
            empty = not any(True for _ in _entries(target))
            if not empty and not self.overwrite:
                raise DvpInputError(f"{option} {given} exists (an earlier napari-dvp output); "
                                    "pass --overwrite to replace it")
            return
        if stat.S_ISDIR(mode):
            raise DvpInputError(f"{option} {given} is a folder; give a file name")
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            raise DvpInputError(f"{option} {given} exists and is not a regular file (a FIFO or "
                                "device); choose another output name")
        if not self.overwrite:
            raise DvpInputError(f"{option} {given} exists; pass --overwrite to replace it")

    def _stage(self, parent: Path) -> Path:
        if parent not in self._stages:
            missing = []
            probe = parent
            while not probe.exists():
                missing.append(probe)
                probe = probe.parent
            parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.extend(reversed(missing))
            self._stages[parent] = Path(tempfile.mkdtemp(
                prefix=f".napari-dvp.{os.getpid()}-", suffix=".partial", dir=parent))
            if self not in _ACTIVE:
                _ACTIVE.append(self)
        return self._stages[parent]

    # ------------------------------------------------------------------ finishing
    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()
        return False

    def commit(self) -> list[Path]:
        """Move every staged output in place (all or none) and remove the staging folders."""
        if self._done:
            return [t.path for t in self.targets]
        with critical():
            try:
                for t in self.targets:
                    if not t.in_place and not (t.staged.exists() or t.staged.is_symlink()):
                        raise RuntimeError(f"{t.option} {t.path.name} was declared but not "
                                           "written")
                    if t.folder:
                        write_marker(t.staged, command=self.command)
                    if not t.in_place:  # the world may have changed during a long run
                        self._check_target(t.path, t.path, t.option, t.folder)
                self._swap_in()
            except BaseException:
                self.rollback()
                raise
            for t in self.targets:
                if t.backup is not None:
                    shutil.rmtree(t.backup, ignore_errors=True)
            self._finish()
        return [t.path for t in self.targets]

    def _swap_in(self) -> None:
        placed: list[tuple[_Target, Path | None]] = []
        try:
            for i, t in enumerate(self.targets):
                if t.in_place:
                    continue
                old = None
                if t.path.exists() or t.path.is_symlink():
                    old = t.staged.parent / f".previous-{i}"
                    os.replace(t.path, old)
                os.replace(t.staged, t.path)
                placed.append((t, old))
        except BaseException:
            for t, old in reversed(placed):  # put the previous outputs back
                with contextlib.suppress(OSError):
                    os.replace(t.path, t.staged)
                if old is not None:
                    with contextlib.suppress(OSError):
                        os.replace(old, t.path)
            raise

    def rollback(self) -> None:
        """Discard everything this run wrote; previous outputs stay (or come back)."""
        if self._done:
            return
        with critical():
            for t in self.targets:
                if t.in_place:
                    if t.created:
                        shutil.rmtree(t.path, ignore_errors=True)
                    if t.backup is not None and t.backup.exists():
                        with contextlib.suppress(OSError):
                            os.replace(t.backup, t.path)
            self._finish()
            for d in reversed(self._made_dirs):
                with contextlib.suppress(OSError):
                    d.rmdir()

    def _finish(self) -> None:
        for stage in self._stages.values():
            shutil.rmtree(stage, ignore_errors=True)
        self._done = True
        if self in _ACTIVE:
            _ACTIVE.remove(self)


def check_output(path: PathLike, *, folder: bool = False, inputs: Iterable[PathLike] = (),
                 overwrite: bool = False, option: str = "output") -> None:
    """Check one output against the policy without writing anything (for a dock).

    Raises the same one-line :class:`DvpInputError` a command would: the
    output is an input or holds one, exists (unless ``overwrite``), holds files
    napari-dvp did not write, or its folder is a file or not writable. A dock
    calls it before starting a long job and asks "Replace?" when the only
    complaint is an earlier napari-dvp output (then passes ``overwrite=True``).
    """
    out = Outputs("check", inputs, overwrite=overwrite, check_inputs=False)
    target = _absolute(Path(path))
    out._check_parent(target, Path(path), option)
    out._check_target(target, Path(path), option, folder)


def _entries(folder: Path) -> Iterator[str]:
    for name in os.listdir(folder):
        if name != MARKER:
            yield name


def _absolute(path: Path) -> Path:
    """``path`` with its folder resolved (links in the folder followed, not the name)."""
    path = Path(os.path.abspath(path))
    return Path(os.path.realpath(path.parent)) / path.name


def _inside(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` lies strictly inside ``outer``."""
    try:
        inner.relative_to(outer)
    except ValueError:
        return False
    return inner != outer


# ----------------------------------------------------------------------------- interrupts

_ACTIVE: list[Outputs] = []
_critical_depth = 0
_pending: list[Callable[[], None]] = []


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A section an interrupt must not cut in half (moving outputs in place, rolling back).

    A SIGINT handler that calls :func:`defer_interrupt` during it runs right after it.
    """
    global _critical_depth
    _critical_depth += 1
    try:
        yield
    finally:
        _critical_depth -= 1
        if _critical_depth == 0 and _pending:
            action = _pending.pop()
            _pending.clear()
            action()


def defer_interrupt(action: Callable[[], None]) -> bool:
    """Inside :func:`critical`: remember ``action`` for its end and return True."""
    if _critical_depth > 0:
        _pending.append(action)
        return True
    return False


def rollback_all() -> None:
    """Roll back every run still in progress (for a hard stop on Ctrl-C)."""
    for out in list(_ACTIVE):
        with contextlib.suppress(Exception):
            out.rollback()
