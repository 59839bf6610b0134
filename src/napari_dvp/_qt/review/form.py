"""The QC thresholds (declared on :class:`.QcThresholds`) and the nuclear channel."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtWidgets import QComboBox, QFormLayout, QWidget

from ...core.review.params import QcThresholds
from .._forms import ParamsForm

NUCLEAR = ("dapi", "hoechst", "dna", "nuclei", "nucleus")


class QcForm(QWidget):
    """Nuclear channel drop-down and the threshold form (defaults live on the dataclass)."""

    def __init__(self, channel_names: Callable[[], list[str]]) -> None:
        super().__init__()
        self.channel_names = channel_names
        lay = QFormLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.nuclear = QComboBox()
        self.nuclear.setToolTip("Channel of the nuclear stain, for the 'low nuclear signal' flag")
        lay.addRow("Nuclear channel:", self.nuclear)
        self.params = ParamsForm(QcThresholds)
        lay.addRow(self.params.native)

    def refresh(self) -> None:
        """List the slide's channels; keep the choice, else guess the nuclear stain."""
        names = self.channel_names()
        current = self.nuclear.currentText()
        self.nuclear.blockSignals(True)
        self.nuclear.clear()
        self.nuclear.addItems(names)
        guess = next((n for n in names if n.lower() in NUCLEAR), "")
        self.nuclear.setCurrentText(current if current in names else guess)
        self.nuclear.blockSignals(False)

    def thresholds(self) -> QcThresholds:
        """The thresholds as set (a one-line error when the minimum is not below the maximum)."""
        return self.params.params()
