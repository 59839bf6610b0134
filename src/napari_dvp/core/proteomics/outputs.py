"""Several output files of one command, written together or not at all.

:func:`check_outputs` runs before any work (clear one-line errors for a missing or
read-only folder, an output that is an input); :func:`write_together` writes every file
to a temporary sibling first (:func:`~napari_dvp.core.atomic.atomic_path`) and moves
them into place only after all were written, so a failure (an unwritable ``--h5ad``
path, a full disk) leaves none of them behind.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ..atomic import atomic_path
from ..errors import DvpInputError


def check_outputs(outputs, inputs=()) -> list[Path]:
    """Refuse outputs whose folder is missing or read-only, repeated ones, and inputs.

    Raises
    ------
    DvpInputError
        Naming the first offending path.
    """
    outs = [Path(p) for p in outputs if p is not None]
    seen = set()
    ins = {Path(p).resolve() for p in inputs if p is not None}
    for p in outs:
        r = p.resolve()
        if r in seen:
            raise DvpInputError(f"{p} is given twice as an output; choose different names")
        seen.add(r)
        if r in ins:
            raise DvpInputError(f"{p} is an input; choose another output name")
        folder = r.parent
        if not folder.is_dir():
            raise DvpInputError(f"folder {p.parent} does not exist; create it first or choose "
                                "another output path")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DvpInputError(f"folder {p.parent} is not writable; choose another output path")
        if r.is_dir():
            raise DvpInputError(f"{p} is a folder; give a file name")
    return outs


def write_together(writers: Mapping[Path, Callable[[Path], None]]) -> list[Path]:
    """Call ``writer(tmp)`` for every target, then move all temporaries into place.

    Nothing appears unless every writer succeeded.
    """
    current = None
    try:
        with contextlib.ExitStack() as stack:
            tmps = {}
            for t in writers:
                current = Path(t)
                tmps[current] = stack.enter_context(atomic_path(t))
            for target, write in writers.items():
                current = Path(target)
                write(tmps[current])
    except OSError as exc:  # disk full, permissions, a path that is not a folder …
        raise DvpInputError(f"could not write {current} ({type(exc).__name__}: "
                            f"{exc.strerror or exc}); nothing was written") from None
    return [Path(t) for t in writers]


def json_writer(data: dict) -> Callable[[Path], None]:
    """A writer of ``data`` as indented JSON (numpy scalars and NaN made plain)."""
    def plain(v):
        import numpy as np

        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)) or type(v).__name__ == "ndarray":
            return [plain(x) for x in list(v)]
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            return None if np.isnan(v) else str(v)
        return v

    def write(tmp: Path) -> None:
        tmp.write_text(json.dumps(plain(data), indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")

    return write
