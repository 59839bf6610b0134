"""The slide's pixel size, where it comes from, and the one place to change it."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from ...core.slide.model import Slide
from .._common import notify_errors
from .._slide import apply_pixel_size, current_slide

WARN = "color: #e8a33d;"
"""Style of the line when the pixel size is a guess (readable on napari's dark and light themes)."""


class PixelSizeBox(QWidget):
    """Shows ``PixelSize.describe()`` and sets the user's value on the current slide.

    Setting it puts it on the slide's layers (:func:`apply_pixel_size`) so the
    cells, regions and marks stay aligned; every dock and the saved files then
    use it. ``on_change()`` runs after a change.
    """

    def __init__(self, viewer, on_change: Callable[[], None]) -> None:
        super().__init__()
        self.viewer, self.on_change = viewer, on_change
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.line = QLabel()
        self.line.setWordWrap(True)
        self.line.setTextFormat(Qt.TextFormat.RichText)
        grid.addWidget(self.line, 0, 0, 1, 3)
        grid.addWidget(QLabel("Change to:"), 1, 0)
        self.spin = QDoubleSpinBox(decimals=4, minimum=0.01, maximum=50.0, singleStep=0.01,
                                   suffix=" µm")
        self.spin.setMinimumWidth(110)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("Size of one full-resolution pixel, from the scanner's report "
                             "(e.g. 0.5 µm at 20x, 0.25 µm at 40x); Enter sets it")
        self.spin.lineEdit().returnPressed.connect(self._on_set)
        grid.addWidget(self.spin, 1, 1)
        self.set_btn = QPushButton("Set pixel size")
        self.set_btn.setToolTip("Use this value for the slide: its channels, cells, regions and "
                                "marks are rescaled together, and every step measures with it")
        self.set_btn.clicked.connect(self._on_set)
        grid.addWidget(self.set_btn, 1, 2)
        self.forget_btn = QPushButton("Forget my value")
        self.forget_btn.setToolTip("Go back to the value the file records (or the assumed "
                                   "0.5 µm when it records none)")
        self.forget_btn.clicked.connect(self._on_forget)
        grid.addWidget(self.forget_btn, 2, 2)
        grid.setColumnStretch(1, 1)

    def show_slide(self, slide: Slide | None) -> None:
        """Show ``slide``'s pixel size and its source (nothing when there is no slide)."""
        self.setEnabled(slide is not None)
        if slide is None:
            self.line.setText("")
            return
        px = slide.pixel
        text = px.describe(slide.name, advice="enter the value from the scanner's report "
                                              "below (0.5 µm at 20x, 0.25 µm at 40x)")
        text = text[:1].upper() + text[1:]
        self.line.setText(text if px.measured else
                          f'<span style="{WARN}">⚠ <b>{text}</b></span>')
        self.spin.setValue(px.um)
        self.forget_btn.setEnabled(slide.user_um is not None)

    def set_value(self, um: float | None) -> None:
        """Set (``None``: forget) the user's pixel size of the current slide."""
        slide = current_slide(self.viewer)
        if slide is None:
            return
        slide.set_pixel_size(um)
        apply_pixel_size(self.viewer, slide)
        self.viewer.reset_view()
        self.on_change()

    @notify_errors
    def _on_set(self) -> None:
        self.set_value(self.spin.value())

    @notify_errors
    def _on_forget(self) -> None:
        self.set_value(None)
