"""Which cellpose model: a name cellpose downloads, or a model file on this computer."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QFileDialog, QGridLayout, QLabel, QPushButton, QWidget

from ...core.errors import DvpInputError
from ...core.segmentation.cellpose_backend import CELLPOSE_MODEL_NAMES, model_dir, resolve_model
from ...core.segmentation.params import DEFAULT_MODEL
from .size import WrappedLabel

OFFERED = (DEFAULT_MODEL, *(n for n in CELLPOSE_MODEL_NAMES[:2] if n != DEFAULT_MODEL))
"""Model names offered in the list (cellpose-SAM and its second version)."""


def _shown(path: Path) -> str:
    """``path`` with the home folder written as ``~``."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def offline_text(name: str) -> str:
    """What to do when the weights of model ``name`` are not on this computer."""
    return (f"<b>{name} is not on this computer yet.</b> With internet, cellpose downloads it "
            f"once (about 1.2 GB, into {_shown(model_dir())}) when you press <i>Run</i>. "
            "<b>Without internet</b>, press <i>Model file…</i> and choose a cellpose model "
            f"file: the <tt>{name}</tt> file copied from that folder on a computer with "
            "internet, or a model you trained.")


class ModelPicker(QWidget):
    """A drop-down of model names and chosen files, *Model file…*, and what the choice means.

    ``remember(path)`` is called with a file the user chose (the dock keeps it
    with the slide, so a reopened project offers it again).
    """

    def __init__(self, remember: Callable[[str], None]) -> None:
        super().__init__()
        self.remember = remember
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        for name in OFFERED:
            self.combo.addItem(name, name)
        self.combo.setToolTip("A cellpose model name (its weights download on first use when "
                              "online) or a model file on this computer")
        self.file_btn = QPushButton("Model file…")
        self.file_btn.setToolTip("Choose a cellpose model file on this computer (for use "
                                 "without internet, or your own trained model)")
        self.note = WrappedLabel()
        grid.addWidget(QLabel("Model"), 0, 0)
        grid.addWidget(self.combo, 0, 1)
        grid.addWidget(self.file_btn, 0, 2)
        grid.addWidget(self.note, 1, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        self.combo.currentIndexChanged.connect(lambda _i: self.explain())
        self.file_btn.clicked.connect(self._on_file)
        self.explain()

    def model(self) -> str:
        """The chosen model: a name or a file path."""
        return str(self.combo.currentData())

    def offer(self, path: str | None, select: bool = True) -> None:
        """Add a model file to the list (once) and, with ``select``, choose it."""
        if not path:
            return
        index = self.combo.findData(path)
        if index < 0:
            self.combo.addItem(f"{Path(path).name} (file)", path)
            index = self.combo.count() - 1
            self.combo.setItemData(index, path, Qt.ItemDataRole.ToolTipRole)
        if select:
            self.combo.setCurrentIndex(index)

    def _on_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "cellpose model file", os.fspath(model_dir()),
                                              "All files (*)")
        if path:
            self.offer(path)
            self.remember(path)

    def explain(self) -> bool:
        """Say what the chosen model needs; ``False`` when it cannot run as it is."""
        name = self.model()
        try:
            found = resolve_model(name, allow_download=False)
        except DvpInputError as exc:
            missing = "not on this machine" in str(exc)
            self.note.setText(offline_text(name) if missing else str(exc))
            return missing  # a named model may still download when online
        where = "model file" if found.name != name else "weights found"
        self.note.setText(f"{where}: {found}")
        return True
