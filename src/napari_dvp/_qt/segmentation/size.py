"""The nucleus size: estimated from the image, how to correct it; a pixel size offered."""

from __future__ import annotations

from html import escape

from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)


class WrappedLabel(QLabel):
    """A word-wrapped rich-text label that is always as tall as its text needs.

    Qt's layouts inside a scroll area may keep a wrapped label at the height of
    an earlier, shorter text (the end of the new one cut off); this label's
    minimum height is the height its text needs at its current width.
    """

    def __init__(self, text: str = "", rich: bool = True) -> None:
        super().__init__(text)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        if self.width() > 1:
            hint.setHeight(max(hint.height(), self.heightForWidth(self.width())))
        return hint

    def setText(self, text: str) -> None:
        super().setText(text)
        self._relayout()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._relayout()  # the height it needs changed with the width

    def _relayout(self) -> None:
        """Have every layout up to the scroll area take the new height into account."""
        widget = self
        while widget is not None and not isinstance(widget, QScrollArea):
            widget.updateGeometry()
            if widget.layout() is not None:
                widget.layout().invalidate()
            widget = widget.parentWidget()


AUTOMATIC = ("<b>Nucleus size:</b> automatic — estimated from the image when you press "
             "<i>Run</i>; <i>Measure nucleus size</i> shows it now.")


class NucleusSizePanel(QWidget):
    """What the built-in method knows about the nucleus size, and two actions.

    *Measure nucleus size* estimates it now (the dock runs the job);
    *Use … µm as pixel size* appears only when the slide records no pixel size
    and the nuclei suggest one: pressing it records that estimate on the slide.
    """

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.line = WrappedLabel(AUTOMATIC)
        lay.addWidget(self.line)
        row = QHBoxLayout()
        self.measure_btn = QPushButton("Measure nucleus size")
        self.measure_btn.setToolTip("Estimate the typical nucleus size of the slide now, "
                                    "without segmenting")
        self.use_btn = QPushButton("Use as pixel size")
        self.use_btn.setToolTip("Record the pixel size the nuclei suggest as the slide's "
                                "estimated pixel size (the Slide dock can set the true value)")
        row.addWidget(self.measure_btn)
        row.addWidget(self.use_btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.offered: float | None = None
        self.lines: list[str] = []
        self.show_lines([], None)

    def show_lines(self, lines: list[str], offer_um: float | None) -> None:
        """Show ``lines`` (none: the automatic note) and offer ``offer_um`` as pixel size."""
        self.line.setText("<br>".join(f"• {escape(text)}" for text in lines)
                          if lines else AUTOMATIC)
        self.offered, self.lines = offer_um, list(lines)
        self.use_btn.setVisible(offer_um is not None)
        if offer_um is not None:
            self.use_btn.setText(f"Use {offer_um:g} µm as pixel size")
