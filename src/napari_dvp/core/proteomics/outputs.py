"""Several output files of one proteomics command, under the one output policy.

A thin layer over :class:`napari_dvp.core.outputs.Outputs` (never write over an
input, refuse an existing output unless ``overwrite``, all files appear
together or none): :func:`check_outputs` runs the policy's checks before any
work, :func:`write_together` stages every file and moves them in place
together. CSV files go through :func:`napari_dvp.core.csv_safe.write_csv`
(spreadsheet formulas neutralised).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..csv_safe import write_csv
from ..errors import DvpInputError
from ..outputs import Outputs, check_output

__all__ = ["check_outputs", "csv_writer", "json_writer", "write_together"]


def check_outputs(outputs: Iterable[Any], inputs: Iterable[Any] = (), *,
                  overwrite: bool = False) -> list[Path]:
    """Check every output against the policy before any work (one-line errors)."""
    outs = [Path(p) for p in outputs if p is not None]
    seen: set[Path] = set()
    for p in outs:
        r = p.resolve()
        if r in seen:
            raise DvpInputError(f"{p} is given twice as an output; choose different names")
        seen.add(r)
        check_output(p, inputs=[i for i in inputs if i is not None], overwrite=overwrite)
    return outs


def write_together(writers: Mapping[Path, Callable[[Path], None]], inputs: Iterable[Any] = (),
                   *, command: str = "proteomics", overwrite: bool = False) -> list[Path]:
    """Call ``writer(staged_path)`` for every target; all appear together or none."""
    with Outputs(command, [i for i in inputs if i is not None], overwrite=overwrite) as out:
        staged = {Path(t): out.file(t) for t in writers}
        for target, write in writers.items():
            write(staged[Path(target)])
    return [Path(t) for t in writers]


def csv_writer(frame: Any, index: bool = False) -> Callable[[Path], None]:
    """A writer of ``frame`` as CSV with formula-leading text neutralised."""
    return lambda tmp: write_csv(frame, tmp, index=index)


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
