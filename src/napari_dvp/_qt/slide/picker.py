"""Open a slide and choose which open slide the docks work on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qtpy.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from ...core.slide import open_image
from ...core.slide.layers import layer_data
from .._common import notify_errors, show_info
from .._slide import current_slide, set_current_slide, slides_of

FILE_FILTER = "Tissue images (*.ome.tif *.ome.tiff *.tif *.tiff *.png *.jpg *.jpeg);;All files (*)"


class SlidePicker(QWidget):
    """*Open slide…* and the list of open slides (never overlays, previews or masks).

    ``on_change()`` runs whenever another slide becomes the current one.
    """

    def __init__(self, viewer, on_change: Callable[[], None]) -> None:
        super().__init__()
        self.viewer, self.on_change = viewer, on_change
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.open_btn = QPushButton("Open slide…")
        self.open_btn.setToolTip("OME-TIFF, TIFF, PNG or JPEG; big pyramidal slides open "
                                 "instantly. You can also drag a file onto napari.")
        self.open_btn.clicked.connect(self._on_open_clicked)
        row.addWidget(self.open_btn)
        row.addWidget(QLabel("Slide:"))
        self.combo = QComboBox()
        self.combo.setToolTip("The slide every napari-dvp step works on (details below)")
        self.combo.currentIndexChanged.connect(self._on_chosen)
        row.addWidget(self.combo, 1)

    def open_path(self, path: str | Path) -> list:
        """Open ``path`` with the same reader as drag-and-drop; return the new layers."""
        image = open_image(path)
        added = [getattr(self.viewer, f"add_{kind}")(data, **kwargs)
                 for data, kwargs, kind in layer_data(image)]
        set_current_slide(self.viewer, str(image.path))
        self.refresh()
        self.on_change()
        return added

    def refresh(self) -> None:
        """List the open slides; show the current one."""
        slides = slides_of(self.viewer)
        current = current_slide(self.viewer)
        self.combo.blockSignals(True)
        self.combo.clear()
        for key, slide in slides.items():
            self.combo.addItem(slide.name, key)
        if current is not None:
            self.combo.setCurrentIndex(list(slides).index(current.key))
        self.combo.blockSignals(False)

    @notify_errors
    def _on_open_clicked(self) -> None:
        path, _f = QFileDialog.getOpenFileName(self, "Open slide", "", FILE_FILTER)
        if path:
            self.open_path(path)
            show_info(f"Opened {Path(path).name}")

    @notify_errors
    def _on_chosen(self, index: int) -> None:
        key = self.combo.itemData(index)
        if key is not None:
            set_current_slide(self.viewer, key)
            self.on_change()
