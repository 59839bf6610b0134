"""Painting on tissue: which cells, a protein (searchable) or a pathway score, the legend."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import DvpInputError
from ...core.overlay.proteins import SampleOverlay
from ...core.proteomics.analysis import blank_note
from ...core.proteomics.study import ProteinStudy
from .._common import notify_errors, show_info
from .._slide import cells_layer, set_role
from .layers import CMAP, painted_values, show_overlay
from .plots import ColorBar, PlotTabs
from .source import button


class PaintBox(QWidget):
    """Cells layer in use, protein search, pathway scores, paint buttons, colour bar, why
    samples are blank, and the value under the mouse.

    Parameters
    ----------
    viewer
        The napari viewer (its cells layer by the one rule ``cells_layer``).
    study
        Returns the current processed :class:`ProteinStudy` (raises if there is none).
    plots
        Where the painted values are shown by class and region.
    add_sets
        Callback of "Add gene sets…".
    """

    def __init__(self, viewer, study: Callable[[], ProteinStudy], plots: PlotTabs,
                 add_sets, parent=None) -> None:
        super().__init__(parent)
        self.viewer, self.study, self.plots = viewer, study, plots
        self._overlays: dict = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.cells = QLabel("Cells: —")
        self.cells.setToolTip("The labels layer whose cut cells are painted (the cells layer "
                              "of the slide, the same for every dock)")
        lay.addWidget(self.cells)
        form = QFormLayout()
        self.protein = QLineEdit()
        self.protein.setPlaceholderText("gene or protein id, e.g. STAT1 (old names work)")
        self.protein.returnPressed.connect(self.paint_protein)
        self.sets = QComboBox()
        self.sets.setToolTip("Pathway score: mean z-score of the set's measured proteins per "
                             "sample (blank where too few members were measured)")
        form.addRow("Protein:", self.protein)
        form.addRow("Pathway:", self.sets)
        lay.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(button("Paint protein", "Colour every cut cell by its sample's z-score "
                             "of this protein", self.paint_protein))
        row.addWidget(button("Paint score", "Colour every cut cell by its sample's pathway "
                             "score", self.paint_set))
        row.addWidget(button("Add gene sets…", "Your own gene sets (GMT file)", add_sets))
        lay.addLayout(row)
        self.colorbar = ColorBar()
        lay.addWidget(self.colorbar)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        self.hover = QLabel("")
        self.hover.setWordWrap(True)
        lay.addWidget(self.hover)
        for ev in (viewer.layers.events.inserted, viewer.layers.events.removed):
            ev.connect(self.show_cells)
        viewer.mouse_move_callbacks.append(self._on_move)
        self.show_cells()

    def show_cells(self, *_) -> None:
        """Say which labels layer is painted."""
        lab = cells_layer(self.viewer, required=False)
        self.cells.setText(f"Cells: <b>{lab.name}</b>" if lab is not None else
                           "Cells: none yet — segment the slide or open a labels layer")

    def set_choices(self, sets: Sequence[tuple[str, str]], genes: Sequence[str]) -> None:
        """Offer the gene sets (``(text, name)``) and complete protein search from ``genes``."""
        current = self.sets.currentData()
        self.sets.clear()
        for text, name in sets:
            self.sets.addItem(text, name)
        if current is not None and self.sets.findData(current) >= 0:
            self.sets.setCurrentIndex(self.sets.findData(current))
        completer = QCompleter(list(genes), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.protein.setCompleter(completer)

    def forget(self) -> None:
        """Drop cached cell → sample maps (a new manifest or labels)."""
        self._overlays.clear()

    @notify_errors
    def paint_protein(self, query: str | None = None) -> None:
        """Paint one protein's z-score (gene, previous symbol or protein id)."""
        values = self.study().protein(self.protein.text() if query is None else query)
        self.protein.setText(str(values.name))
        self._paint(values, f"{values.name} (z)", blank_note(values))

    @notify_errors
    def paint_set(self) -> None:
        """Paint the chosen pathway score; blank samples say why."""
        name = self.sets.currentData()
        if name is None:
            raise DvpInputError("no pathway score yet: open the MS results and the manifest")
        study = self.study()
        values = study.set_values(name)
        reasons = study.scores.reasons
        self._paint(values, f"{study.gene_sets[name].label} (z)",
                    blank_note(values, reasons[name] if name in reasons else None))

    def _overlay(self, lab, manifest: pd.DataFrame) -> list[SampleOverlay]:
        key = (id(lab), id(manifest))
        if key not in self._overlays:
            levels = lab.data if lab.multiscale else [lab.data]
            self._overlays[key] = [SampleOverlay(lv, manifest) for lv in levels]
        return self._overlays[key]

    def _paint(self, values: pd.Series, label: str, note: str) -> None:
        lab, study = cells_layer(self.viewer), self.study()
        layer, lim = show_overlay(self.viewer, lab, self._overlay(lab, study.manifest), values,
                                  label)
        set_role(layer, "overlay")
        self.colorbar.show_scale(label, *lim, CMAP)
        self.note.setText(note or f"all {len(values)} samples painted")
        self.plots.show_bars(values, study.processed.obs, label)
        show_info(f"painted {label} on the cells of {int(values.notna().sum())} samples")

    def describe(self, position) -> str:
        """Sample, class, region and every painted value under a world position."""
        lab = cells_layer(self.viewer, required=False)
        if lab is None or not self._overlays:
            return ""
        cid = lab.get_value(position, world=True)
        cid = cid[1] if isinstance(cid, tuple) else cid
        found = [ov for (lid, _m), ov in self._overlays.items() if lid == id(lab)]
        if not cid or not found:
            return ""
        return found[-1][0].hover_text(int(cid), painted_values(self.viewer))

    def _on_move(self, viewer, event) -> None:
        self.hover.setText(self.describe(event.position))
