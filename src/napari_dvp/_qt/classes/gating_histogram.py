"""Marker histogram of the gating widget: draw it, drag or type the threshold, Otsu."""

from __future__ import annotations

from ...core.classes.gating import default_thresholds
from ...core.classes.gating_view import histogram_input
from .._common import notify_errors


class GatingHistogramMixin:
    """Histogram part of :class:`~napari_dvp._qt.classes.gating_widget.GatingWidget`.

    Uses the widget's ``table``, ``thresholds``, ``marker``, ``ax``, ``canvas``,
    ``line``, ``spin`` and ``_schedule()``.
    """

    def _draw_histogram(self, marker: str) -> None:
        self.ax.clear()
        self.line = None
        if self.table is None or not marker:
            self.canvas.draw_idle()
            return
        v, value_range = histogram_input(self.table, marker)
        self.ax.hist(v, bins=128, range=value_range, color="#5a7fa8", log=True)
        self.ax.set_xlabel(f"mean {marker} per cell")
        self.ax.set_ylabel("cells")
        t = self.thresholds.get(marker, 0.0)
        self.line = self.ax.axvline(t, color="red", lw=2)
        self.spin.blockSignals(True)
        self.spin.setValue(t)
        self.spin.blockSignals(False)
        self.canvas.draw_idle()

    def set_threshold(self, marker: str, value: float) -> None:
        """Set one marker's threshold (moves the line and spin box when shown)."""
        self.thresholds[marker] = float(value)
        if marker == self.marker.currentText():
            if self.line is not None:
                self.line.set_xdata([value, value])
                self.canvas.draw_idle()
            if abs(self.spin.value() - value) > 1e-9:
                self.spin.blockSignals(True)
                self.spin.setValue(value)
                self.spin.blockSignals(False)
        self._schedule()

    def _spin_changed(self, value: float) -> None:
        if self.marker.currentText():
            self.set_threshold(self.marker.currentText(), value)

    def _on_mouse(self, event) -> None:
        if event.name == "button_press_event" and event.inaxes is self.ax:
            self._dragging = True
        if event.name == "button_release_event":
            self._dragging = False
        if self._dragging and event.xdata is not None and self.marker.currentText():
            self.set_threshold(self.marker.currentText(), float(event.xdata))

    @notify_errors
    def _auto(self) -> None:
        m = self.marker.currentText()
        if m and self.table is not None:
            self.set_threshold(m, default_thresholds(self.table, [m])[m])
