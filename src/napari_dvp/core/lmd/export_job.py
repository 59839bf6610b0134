"""An LMD export into a chosen folder under the one output policy (for the dock).

:func:`export_job` is the generator the dock runs in its job runner: the
export of :func:`~.export.export_lmd_steps` written through
:class:`~napari_dvp.core.outputs.Outputs` (never over an input, an earlier
output only with ``overwrite``, all files or none; Cancel writes nothing).
A sample losing too many cells is *returned* as a :class:`LossStop` holding
the :class:`~.export.LmdLossError` (not raised: a job runner reports raised
errors, and the dock asks "Export anyway?" instead).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DvpInputError
from ..outputs import Outputs, check_output
from .calibration import Calibration
from .export import ExportOptions, ExportResult, LmdLossError, export_lmd_steps

__all__ = ["LossStop", "asks_overwrite", "export_job"]

COMMAND = "LMD export"

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class LossStop:
    """The export stopped before writing: samples would lose too many cells."""

    error: LmdLossError

    @property
    def samples(self) -> pd.DataFrame:
        """Per sample over the limit: sample_id, n_planned, n_partial, n_lost, share."""
        return self.error.samples


def asks_overwrite(folder: PathLike, inputs: Iterable[PathLike | None] = ()) -> bool:
    """Whether exporting into ``folder`` replaces an earlier napari-dvp output.

    ``False``: the folder is new or empty. ``True``: it holds an earlier
    napari-dvp output (ask the user). Anything else (an input, files
    napari-dvp did not write, not writable) raises the policy's one-line
    :class:`~napari_dvp.core.errors.DvpInputError`.
    """
    inputs = [p for p in inputs if p]
    try:
        check_output(folder, folder=True, inputs=inputs, option="export folder")
        return False
    except DvpInputError:
        check_output(folder, folder=True, inputs=inputs, overwrite=True, option="export folder")
        return True


def export_job(labels: np.ndarray, plan: pd.DataFrame, calibration: Calibration,
               folder: PathLike, options: ExportOptions, *,
               inputs: Iterable[PathLike | None] = (), overwrite: bool = False,
               image: np.ndarray | None = None
               ) -> Generator[tuple[int, int, str], None, ExportResult | LossStop]:
    """Export ``plan`` into ``folder`` (yields progress; returns the result or a LossStop).

    Parameters
    ----------
    folder
        The export folder (new, empty, or an earlier napari-dvp output with
        ``overwrite``); its parent must exist.
    inputs
        Files the export reads (labels, image, calibration GeoJSON): never written over.
    """
    folder = Path(folder)
    try:
        with Outputs(COMMAND, [p for p in inputs if p], overwrite=overwrite,
                     check_inputs=False) as out:
            staged = out.folder(folder, "export folder")
            res = yield from export_lmd_steps(labels, plan, calibration, staged, options,
                                              image=image)
    except LmdLossError as exc:
        return LossStop(exc)
    return replace(res, out_dir=folder, shapes_path=folder / res.shapes_path.name,
                   manifest_path=folder / res.manifest_path.name,
                   qc_path=None if res.qc_path is None else folder / res.qc_path.name)
