"""Opening the MS results: the button, how to read them, what was read."""

from __future__ import annotations

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.proteomics.options import ReadOptions
from .._forms import ParamsForm

FILTER = ("Protein tables (*.tsv *.txt *.csv *.tsv.gz *.txt.gz *.csv.gz *.parquet *.h5ad);;"
          "All files (*)")


def button(text: str, tip: str, slot) -> QPushButton:
    """A push button with a tooltip, connected to ``slot`` (Qt's ``checked`` is dropped)."""
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(lambda *_: slot())
    return b


class SourceBox(QWidget):
    """"Open MS results…", the reading options (log2 state, contaminants, decoys) and a
    summary of what the reader detected.

    Signals
    -------
    read(path, options)
        The user chose a file, or changed how the current one is read.
    """

    read = Signal(str, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.path = ""
        self.open_btn = button("Open MS results…", "DIA-NN, AlphaDIA, Spectronaut, MaxQuant, "
                               "FragPipe, Perseus or a proteins × runs table; the layout is "
                               "recognised from the content", self.ask)
        lay.addWidget(self.open_btn)
        self.form = ParamsForm(ReadOptions)
        self.form.changed.connect(self._reread)
        lay.addWidget(self.form.native)
        self.summary = QLabel("No MS results yet.")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)

    def options(self) -> ReadOptions:
        """The reading options as chosen."""
        return self.form.params()

    def ask(self) -> None:
        """Ask for the file and read it."""
        path, _ = QFileDialog.getOpenFileName(self, "MS results (protein groups)", "", FILTER)
        if path:
            self.path = path
            self.read.emit(path, self.options())

    def _reread(self, *_) -> None:
        if self.path:
            self.read.emit(self.path, self.options())

    def show_lines(self, lines: list[str]) -> None:
        """Show what the reader detected (format, level, log state, removed groups)."""
        self.summary.setText("<br>".join(lines))
