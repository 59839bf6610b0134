"""Matplotlib canvases of the Proteins dock: colour bar and the result tabs (volcano with
click-to-paint, PCA, heatmap, values by class × region). Figures come from
``core/proteomics/plots.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QTabWidget

from ...core.proteomics import plots
from ...core.proteomics.analysis import StatsResult
from ...core.proteomics.genesets import interferon_genes


class Canvas(FigureCanvasQTAgg):
    """A matplotlib canvas that owns its Figure."""

    def __init__(self, size=(5.0, 3.4)) -> None:
        super().__init__(Figure(figsize=size, dpi=90, layout="constrained"))
        self.setMinimumHeight(int(size[1] * 70))


class ColorBar(Canvas):
    """The legend of the painted overlay (one colour scale)."""

    def __init__(self) -> None:
        super().__init__((4.0, 0.8))
        self.setFixedHeight(70)

    def show_scale(self, label: str, vmin: float, vmax: float, cmap: str) -> None:
        """Draw a horizontal colour bar centred on 0."""
        plots.colorbar(label, vmin, vmax, cmap, fig=self.figure, centred=True)
        self.draw_idle()


class PlotTabs(QTabWidget):
    """Volcano (click a dot to paint that protein), PCA, heatmap, by class × region."""

    protein_clicked = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.volc, self.pca, self.heat = Canvas(), Canvas((5.0, 4.0)), Canvas((5.0, 4.6))
        self.bars = Canvas()
        self.addTab(self.volc, "Volcano")
        self.addTab(self.pca, "PCA")
        self.addTab(self.heat, "Heatmap")
        self.addTab(self.bars, "By class × region")
        self.volc.mpl_connect("button_press_event", self._on_click)

    def show_result(self, res: StatsResult) -> None:
        """Volcano (two groups), PCA coloured by the grouping, heatmap of the top proteins."""
        if res.test != "anova":
            plots.volcano(res.table, res.title, fig=self.volc.figure,
                          highlight=interferon_genes())
        else:
            self.volc.figure.clear()
            self.volc.figure.volcano_points = None
            self.volc.figure.text(0.5, 0.5, "ANOVA: no volcano (see heatmap)", ha="center")
        self.volc.draw_idle()
        if res.pca is not None:
            plots.pca_plot(res.pca, res.obs, res.color_by, fig=self.pca.figure)
        else:
            self.pca.figure.clear()
        self.pca.draw_idle()
        plots.heatmap(res.top_z, res.obs, f"{len(res.top_z.columns)} most significant "
                      f"proteins\n{res.title}", fig=self.heat.figure,
                      sort_by=(res.group_by,), order_proteins=False)
        self.heat.draw_idle()
        self.setCurrentWidget(self.volc if res.test != "anova" else self.heat)

    def show_bars(self, values: pd.Series, obs: pd.DataFrame, title: str) -> None:
        """The painted values per sample as bars by class and region."""
        plots.bars_by_class_region(values, obs, title, fig=self.bars.figure)
        self.bars.draw_idle()

    def protein_near(self, x_px: float, y_px: float, tol_px: float = 8.0) -> str | None:
        """Protein id of the volcano dot nearest to a canvas pixel (within ``tol_px``)."""
        pts = getattr(self.volc.figure, "volcano_points", None)
        if pts is None or not self.volc.figure.axes:
            return None
        ids, xs, ys = pts
        disp = self.volc.figure.axes[0].transData.transform(np.column_stack([xs, ys]))
        d = np.hypot(disp[:, 0] - x_px, disp[:, 1] - y_px)
        i = int(np.argmin(d)) if len(d) else -1
        return str(ids[i]) if i >= 0 and d[i] <= tol_px else None

    def _on_click(self, event) -> None:
        pid = self.protein_near(event.x, event.y)
        if pid is not None:
            self.protein_clicked.emit(pid)
