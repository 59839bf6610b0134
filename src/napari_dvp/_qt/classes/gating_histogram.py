"""Marker histogram of the Gating dock: pick a marker, drag or type its threshold, or Otsu."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.classes.gating import default_thresholds
from ...core.classes.gating_view import (
    histogram_bins,
    histogram_input,
    markers_of,
    positive_text,
)

__all__ = ["MarkerHistogram"]


class MarkerHistogram(QWidget):
    """Histogram of one marker over all cells with a draggable threshold line.

    Holds one threshold per marker; emits :attr:`threshold_changed` when the
    user drags the line, types a value or asks for Otsu.
    """

    threshold_changed = Signal(str, float)

    def __init__(self) -> None:
        super().__init__()
        self.table: pd.DataFrame | None = None
        self.statistic = "mean"
        self.thresholds: dict[str, float] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.marker = QComboBox()
        self.marker.setToolTip("Marker whose per-cell intensity the histogram shows")
        row.addWidget(QLabel("Marker:"))
        row.addWidget(self.marker, 1)
        lay.addLayout(row)
        self.figure = Figure(figsize=(4, 2.0), tight_layout=True)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(170)
        self.canvas.setToolTip("Drag the red line (or click) to set the threshold: cells to "
                               "its right are positive for the marker")
        self.ax = self.figure.add_subplot(111)
        self.line = None
        self._values = np.zeros(0)
        lay.addWidget(self.canvas)
        row = QHBoxLayout()
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(1)
        self.spin.setRange(-1e12, 1e12)
        self.spin.setToolTip("Cells with a higher intensity are positive for the marker")
        self.auto_btn = QPushButton("Auto (Otsu)")
        self.auto_btn.setToolTip("Put the threshold between the two humps of the histogram "
                                 "(Otsu's method on log intensities)")
        row.addWidget(QLabel("Threshold:"))
        row.addWidget(self.spin, 1)
        row.addWidget(self.auto_btn)
        lay.addLayout(row)
        self._dragging = False
        self.marker.currentTextChanged.connect(self.draw)
        self.spin.valueChanged.connect(self._typed)
        self.auto_btn.clicked.connect(self.otsu)
        for ev in ("button_press_event", "motion_notify_event", "button_release_event"):
            self.canvas.mpl_connect(ev, self._on_mouse)

    # ------------------------------------------------------------------ data
    def set_table(self, table: pd.DataFrame, statistic: str,
                  keep: Mapping[str, float] | None = None, show: str | None = None
                  ) -> list[str]:
        """Show the markers of ``table``; thresholds from ``keep`` where given, else Otsu.

        ``show`` is the marker to show first (when none is chosen yet). Returns the markers.
        """
        self.table, self.statistic = table, statistic
        markers = markers_of(table, statistic)
        kept = {m: float(v) for m, v in (keep or {}).items() if m in markers}
        otsu = default_thresholds(table, [m for m in markers if m not in kept], statistic)
        self.thresholds = {**otsu, **kept}
        current = self.marker.currentText()
        self.marker.blockSignals(True)
        self.marker.clear()
        self.marker.addItems(markers)
        if current in markers:
            self.marker.setCurrentText(current)
        elif show in markers:
            self.marker.setCurrentText(show)
        self.marker.blockSignals(False)
        self.draw(self.marker.currentText())
        return markers

    def draw(self, marker: str | None = None) -> None:
        """Draw the histogram of ``marker`` (default: the chosen one) and its threshold."""
        marker = self.marker.currentText() if marker is None else marker
        self.ax.clear()
        self.line = None
        if self.table is None or not marker:
            self.canvas.draw_idle()
            return
        v, value_range = histogram_input(self.table, marker, self.statistic)
        self._values = v
        self.spin.setDecimals(3 if value_range[1] < 10 else 1)
        self.ax.hist(v, bins=histogram_bins(v.size), range=value_range, color="#5a7fa8",
                     log=True)
        self.ax.set_xlabel(f"{self.statistic} {marker} intensity per cell")
        self.ax.set_ylabel("cells")
        self.ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        self.ax.yaxis.set_minor_formatter(NullFormatter())
        t = self.thresholds.get(marker, 0.0)
        self.line = self.ax.axvline(t, color="red", lw=2)
        self._title(marker, t)
        self._show_value(t)
        self.canvas.draw_idle()

    def _title(self, marker: str, threshold: float) -> None:
        self.ax.set_title(positive_text(self._values, marker, threshold), fontsize=9)

    def set_threshold(self, marker: str, value: float, emit: bool = True) -> None:
        """Set one marker's threshold (moves the line and the spin box when shown)."""
        self.thresholds[marker] = float(value)
        if marker == self.marker.currentText():
            if self.line is not None:
                self.line.set_xdata([value, value])
                self._title(marker, value)
                self.canvas.draw_idle()
            self._show_value(value)
        if emit:
            self.threshold_changed.emit(marker, float(value))

    def otsu(self) -> None:
        """Threshold of the chosen marker by Otsu's method."""
        m = self.marker.currentText()
        if m and self.table is not None:
            self.set_threshold(m, default_thresholds(self.table, [m], self.statistic)[m])

    # ------------------------------------------------------------------ input
    def _show_value(self, value: float) -> None:
        if abs(self.spin.value() - value) > 1e-9:
            self.spin.blockSignals(True)
            self.spin.setValue(value)
            self.spin.blockSignals(False)

    def _typed(self, value: float) -> None:
        if self.marker.currentText():
            self.set_threshold(self.marker.currentText(), value)

    def _on_mouse(self, event) -> None:
        if event.name == "button_press_event" and event.inaxes is self.ax:
            self._dragging = True
        if self._dragging and event.xdata is not None and self.marker.currentText():
            self.set_threshold(self.marker.currentText(), float(event.xdata))
        if event.name == "button_release_event":
            self._dragging = False
