"""The Study dock's writes: under the one output policy, asking before replacing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qtpy.QtWidgets import QMessageBox, QWidget


def write_into(parent: QWidget, folder: Path, command: str,
               write: Callable[[Path], object]) -> bool:
    """Write a folder through :class:`~napari_dvp.core.outputs.Outputs` (all or nothing);
    an existing one is replaced only after the user says Yes. Returns whether it was written.
    """
    from ...core.outputs import Outputs

    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        answer = QMessageBox.question(parent, "Replace?", f"{folder} exists. Replace it?")
        if answer != QMessageBox.StandardButton.Yes:
            return False
    with Outputs(command, overwrite=True) as out:
        staged = out.folder(folder, "folder")
        staged.mkdir()
        write(staged)
    return True


def export_job(study, plan, plate: str):
    """Export every slide into ``lmd/`` (staged; moved in place when complete)."""
    from ...core.outputs import Outputs
    from ...core.study.export import export_study

    with Outputs("study export-lmd", overwrite=True) as out:
        staged = out.folder(study.lmd_dir, "LMD folder")
        staged.mkdir()
        manifest = yield from export_study(study, plan, staged, plate)
    return manifest


def load_job(study, path: Path, manifest):
    """Read, match, process and score the study's MS matrix."""
    from ...core.study.analysis import load_study_ms

    return (yield from load_study_ms(path, manifest))
