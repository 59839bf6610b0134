"""Matplotlib canvases of the proteomics dock: colour bar, bars, heatmap, volcano (clickable)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QTabWidget

from ...core.proteomics import plots


class Canvas(FigureCanvasQTAgg):
    """A matplotlib canvas that owns its Figure."""

    def __init__(self, size=(5.0, 3.2)) -> None:
        super().__init__(Figure(figsize=size, dpi=90, layout="constrained"))
        self.setMinimumHeight(int(size[1] * 60))


class ColorBar(Canvas):
    """The legend of the active overlay."""

    def __init__(self) -> None:
        super().__init__((4.0, 0.9))
        self.setFixedHeight(80)

    def show_scale(self, label: str, vmin: float, vmax: float, cmap: str, centred: bool) -> None:
        """Draw a horizontal colour bar."""
        plots.colorbar(label, vmin, vmax, cmap, fig=self.figure, centred=centred)
        self.draw_idle()


class PlotTabs(QTabWidget):
    """Bars by class x region, heatmap of a set's proteins, volcano (click a dot to paint)."""

    protein_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bars, self.heat, self.volc = Canvas(), Canvas((5.0, 4.0)), Canvas()
        self.addTab(self.bars, "By class × region")
        self.addTab(self.heat, "Heatmap")
        self.addTab(self.volc, "Volcano")
        self.volc.mpl_connect("button_press_event", self._on_click)

    def show_bars(self, values: pd.Series, obs: pd.DataFrame, title: str) -> None:
        """Values per sample as bars by class and region."""
        plots.bars_by_class_region(values, obs, title, fig=self.bars.figure)
        self.bars.draw_idle()

    def show_heatmap(self, z: pd.DataFrame, obs: pd.DataFrame, title: str) -> None:
        """Z-score heatmap of a gene set's proteins."""
        plots.heatmap(z, obs, title, fig=self.heat.figure)
        self.heat.draw_idle()

    def show_volcano(self, cmp: pd.DataFrame, title: str, highlight: set[str]) -> None:
        """Volcano plot of a group comparison."""
        plots.volcano(cmp, title, fig=self.volc.figure, highlight=highlight)
        self.volc.draw_idle()

    def protein_near(self, x_px: float, y_px: float, tol_px: float = 8.0) -> str | None:
        """Protein id of the volcano dot nearest to a canvas pixel (within ``tol_px``)."""
        pts = getattr(self.volc.figure, "volcano_points", None)
        if pts is None or not self.volc.figure.axes:
            return None
        ids, xs, ys = pts
        ax = self.volc.figure.axes[0]
        disp = ax.transData.transform(np.column_stack([xs, ys]))
        d = np.hypot(disp[:, 0] - x_px, disp[:, 1] - y_px)
        i = int(np.argmin(d)) if len(d) else -1
        return str(ids[i]) if i >= 0 and d[i] <= tol_px else None

    def _on_click(self, event) -> None:
        pid = self.protein_near(event.x, event.y)
        if pid is not None:
            self.protein_clicked.emit(pid)
