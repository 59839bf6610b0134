"""Which cells the Review dock works on, shown and chosen in one place.

:class:`ReviewCells` answers the questions every part of the dock asks — the
cells layer (by the one rule, :func:`~napari_dvp._qt._slide.cells_layer`),
its table, the pixel size (from the current :class:`Slide`), the selected
cell, the slide's channels — and stores tables back. :class:`CellsPicker`
shows which labels layer is used and lets the user pick another (recorded on
the slide, so every dock uses the same one); hidden and ground-truth layers
are offered but never picked silently.
"""

from __future__ import annotations

from collections.abc import Callable

import dask.array as da
import pandas as pd
from napari.layers import Labels
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QFormLayout, QLabel, QWidget

from ...core.cells import columns as ct
from ...core.cells.table import PROVENANCE, provenance, with_provenance
from ...core.errors import DvpInputError
from ...core.slide.model import PixelSize, pixel_size_rule
from .._common import cell_table_of, notify_errors, set_cell_table
from .._slide import (
    cells_candidates,
    cells_layer,
    current_slide,
    level0,
    role_of,
    slide_layers,
)


class ReviewCells:
    """The cells under review (no state of its own but the user's pick without a slide)."""

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.picked: str | None = None  # used only while no slide is open

    def layer(self) -> Labels:
        """The labels layer with the cells (raises a one-line error when there is none)."""
        if current_slide(self.viewer) is None and self.picked in self.viewer.layers:
            return self.viewer.layers[self.picked]
        return cells_layer(self.viewer)

    def table(self) -> pd.DataFrame:
        """The cell table of the cells layer (may be empty)."""
        return cell_table_of(self.layer())

    def store(self, table: pd.DataFrame) -> None:
        """Store a table whose rows changed (an edit); keeps who wrote which column."""
        layer = self.layer()
        table = table.copy()
        table.attrs[PROVENANCE] = provenance(cell_table_of(layer))
        set_cell_table(layer, with_provenance(table, "review"))

    def pixel(self) -> PixelSize:
        """The pixel size of the current slide (the one rule when no slide is open)."""
        slide = current_slide(self.viewer)
        return slide.pixel if slide is not None else pixel_size_rule()

    def selected(self) -> int:
        """The cell selected in the list / on the canvas (it must be in the table)."""
        cid = int(self.layer().selected_label)
        table = self.table()
        if ct.CELL_ID not in table.columns:
            raise DvpInputError("no cells measured yet: press 'Find suspicious cells' first")
        if cid <= 0 or cid not in set(table[ct.CELL_ID].tolist()):
            raise DvpInputError("select a cell first: click a row of the list")
        return cid

    def channels(self) -> list:
        """The current slide's single-channel image layers (never overlays)."""
        return [lay for lay in slide_layers(self.viewer) if not lay.rgb and lay.ndim == 2]

    def image(self, labels: Labels) -> tuple[da.Array | None, list[str]]:
        """The channels of the labels' size, stacked lazily, and their names."""
        shape = tuple(level0(labels).shape)
        chans = [c for c in self.channels() if tuple(level0(c).shape) == shape]
        if not chans:
            return None, []
        return da.stack([da.asarray(level0(c)) for c in chans]), [c.name for c in chans]


def _tag(layer: Labels) -> str:
    tags = [t for t, on in (("ground truth", role_of(layer) == "ground_truth"),
                            ("hidden", not layer.visible)) if on]
    return f"{layer.name} ({', '.join(tags)})" if tags else layer.name


class CellsPicker(QWidget):
    """"Cells:" drop-down (the layer in use) and one line on the pixel size used."""

    def __init__(self, cells: ReviewCells, on_change: Callable[[], None]) -> None:
        super().__init__()
        self.cells, self.on_change = cells, on_change
        self._names: dict[int, str] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setToolTip("The labels layer whose cells are reviewed; every napari-dvp "
                              "step uses the same one. Hidden and ground-truth layers are "
                              "used only when you pick them here.")
        self.combo.activated.connect(self._on_picked)
        form.addRow("Cells:", self.combo)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        form.addRow(self.note)
        viewer = cells.viewer
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.refresh)
        viewer.layers.events.renamed.connect(self._on_renamed)

    def refresh(self, *_) -> None:
        """List the labels layers; show the one in use and the pixel size."""
        layers = cells_candidates(self.cells.viewer)
        self._names = {id(lay): lay.name for lay in layers}
        try:
            used = self.cells.layer()
        except DvpInputError:
            used = None
        self.combo.blockSignals(True)
        self.combo.clear()
        if used is None:
            self.combo.addItem("— none yet: segment the slide first —", None)
        for lay in layers:
            self.combo.addItem(_tag(lay), lay.name)
        if used is not None:
            self.combo.setCurrentIndex(self.combo.findData(used.name))
        self.combo.blockSignals(False)
        px = self.cells.pixel()
        slide = current_slide(self.cells.viewer)
        where = slide.name if slide is not None else "the slide"
        text = "Measured with " + px.describe(where, advice="set it in the <i>Slide</i> tab")
        self.note.setText(text if px.measured else f'<span style="color:#e8a33d">⚠ {text}</span>')

    @notify_errors
    def _on_picked(self, index: int) -> None:
        name = self.combo.itemData(index)
        if name is None:
            return
        slide = current_slide(self.cells.viewer)
        if slide is not None:
            slide.set_cells(name)
        else:
            self.cells.picked = name
        self.on_change()

    def _on_renamed(self, event) -> None:
        layer = self.cells.viewer.layers[event.index]
        old = self._names.get(id(layer))
        slide = current_slide(self.cells.viewer)
        if old and slide is not None:
            slide.renamed(old, layer.name)
        if self.cells.picked == old:
            self.cells.picked = layer.name
        self.refresh()
