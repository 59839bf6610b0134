"""Segment dock widget: pick channels, method and region; Run (progress, Cancel); get "cells".

The parameter form lives in :mod:`.form`, the run / Cancel / result code in
:mod:`.run`; the science is :mod:`napari_dvp.core.segmentation`.
"""

from __future__ import annotations

from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton

from .._workspace import DvpDock
from .form import ALL, LOCAL_FILE, NONE, OFFLINE, REGIONS, SegmentFormMixin
from .run import SegmentRunMixin

__all__ = ["ALL", "LOCAL_FILE", "NONE", "OFFLINE", "REGIONS", "SegmentWidget"]


class SegmentWidget(SegmentFormMixin, SegmentRunMixin, DvpDock):
    """Find every cell: nuclear + cytoplasm channel, cellpose or built-in, tiled with progress."""

    STEP = "Segment"
    GUIDE = ("<b>2 Segment</b> — needs a slide; finds every cell (layer <i>cells</i>). Next: "
             "<i>Review</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.worker = None
        self._cancel = False
        form = self._build_form()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.run_btn, self.cancel_btn = QPushButton("Run"), QPushButton("Cancel")
        self.run_btn.setToolTip("Segment the cells; the result appears as the layer 'cells'")
        self.cancel_btn.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_btn), buttons.addWidget(self.cancel_btn)
        lay = self.body
        lay.addLayout(form), lay.addWidget(self.status), lay.addWidget(self.progress)
        lay.addLayout(buttons), lay.addStretch(1)
        self.run_btn.clicked.connect(self._on_run)
        self.cancel_btn.clicked.connect(self._on_cancel)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(self._refresh_layers)
        self._refresh_layers()
        self._update_visibility()
