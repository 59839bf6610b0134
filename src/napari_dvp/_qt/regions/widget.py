"""Regions dock: draw named tissue regions, import them from QuPath, give every cell its region.

The dock coordinates four small parts (:mod:`.panels`) and the ``regions``
layer (:class:`~.layer.RegionsLayer`). It reads the pixel size from the current
slide and the cells from :func:`~napari_dvp._qt._slide.cells_layer`, and writes
the ``region`` column through :func:`~napari_dvp._qt._common.update_cells`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from napari.layers import Layer
from qtpy.QtCore import QTimer

from ..._geojson_io import REGIONS_LAYER, geojson_layer_data
from ..._onto_slide import grid_of
from ...core.cells.columns import CELL_ID, REGION
from ...core.cells.table import provenance
from ...core.errors import DvpInputError
from ...core.geojson import regions_to_features, write_geojson
from ...core.regions import DEFAULT_REGION_CLASSES, assign_regions, region_counts
from ...core.regions.annotations import describe
from ...core.regions.drawn import areas_for_display, counts_for_display
from .._common import cell_table_of, notify_errors, show_info, show_warning, update_cells
from .._slide import cells_layer, current_slide, level0, slide_layers
from .._workspace import DvpDock
from .layer import RegionsLayer
from .panels import ClassesPanel, CountsPanel, DrawPanel, FilesPanel

__all__ = ["RegionsWidget"]


class RegionsWidget(DvpDock):
    """Region classes, drawing, assignment of cells, counts, GeoJSON import/export."""

    STEP = "Regions"
    GUIDE = ("<b>4 Regions</b> — needs a slide (and cells to assign): draw or import "
             "epidermis, dermis, blister… Next: <i>Gating</i>.")

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.classes = ClassesPanel(DEFAULT_REGION_CLASSES)
        self.layer = RegionsLayer(napari_viewer, self.classes.current, self.classes.colors)
        self.draw = DrawPanel(self.draw_region, self.set_class)
        self.counts = CountsPanel(self.assign)
        self.files = FilesPanel(self.import_geojson, self.export_geojson)
        for part in (self.classes, self.draw, self.counts, self.files):
            self.body.addWidget(part)
        self.body.addStretch(1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.refresh)
        self.layer.finished.connect(self._schedule)
        self.layer.drawn.connect(self._drawn)
        self.classes.changed.connect(self.layer.recolor)
        self.classes.list.currentCellChanged.connect(self._class_picked)
        napari_viewer.layers.events.inserted.connect(self._schedule)
        napari_viewer.layers.events.removed.connect(self._schedule)
        self._slide = None
        self.refresh()

    def _schedule(self, *_) -> None:
        """Refresh soon (once for a burst of changes)."""
        self._timer.start()

    # ------------------------------------------------------------------ what we work on
    def _ref(self) -> Layer | None:
        """The grid regions are measured on: the cells' labels, else the slide's image."""
        cells = cells_layer(self.viewer, required=False)
        if cells is not None:
            return cells
        images = slide_layers(self.viewer)
        return images[0] if images else None

    def _grid(self) -> dict:
        """Layer kwargs of a new layer on the cells' grid, belonging to the current slide."""
        ref, slide = self._ref(), current_slide(self.viewer)
        grid = grid_of(ref) if ref is not None else {}
        if slide is not None:
            grid["metadata"] = {"slide": slide.key}
        return grid

    def _pixel_um(self) -> float | None:
        slide = current_slide(self.viewer)
        return slide.pixel.um if slide is not None else None

    def _describe_source(self, cells) -> str:
        slide = current_slide(self.viewer)
        who = (f"Cells: <b>{cells.name}</b>" if cells is not None else
               "Cells: none yet — segment the slide to assign cells (you can draw regions now)")
        px = (f"Areas in µm²: {slide.pixel.describe(slide.name)}." if slide is not None
              else "No slide open: areas in px².")
        return f"{who}<br>{px}"

    def _follow_slide(self) -> None:
        """Refresh when the current slide's pixel size or cells change (Slide dock)."""
        slide = current_slide(self.viewer)
        if slide is self._slide:
            return
        if self._slide is not None:
            self._slide.changed.disconnect(self._schedule)
        if slide is not None:
            slide.changed.connect(self._schedule)
        self._slide = slide

    # ------------------------------------------------------------------ drawing
    def _class_picked(self, *_) -> None:
        self.layer.arm(self.classes.current())

    @notify_errors
    def draw_region(self) -> None:
        """Put the regions layer in polygon mode for the selected class."""
        cls = self.classes.current()
        self.layer.draw(cls, self._grid())
        self.draw.status.setText(f"Drawing <b>{cls}</b>: click around the region, double-click "
                                 "to close it. Pick another class to draw the next one.")

    def _drawn(self, region_class: str, n: int) -> None:
        self.draw.status.setText(f"Drawn: {n} <b>{region_class}</b> region{'s' if n > 1 else ''}"
                                 ". Click the outline of the next one, or pick another class.")

    @notify_errors
    def set_class(self) -> None:
        """Give the shapes selected in the regions layer the selected class."""
        cls = self.classes.current()
        n = self.layer.set_class(cls)
        if not n:
            raise DvpInputError("no shape selected: select shapes of the 'regions' layer "
                                "(select tool, S), then click again")
        self.draw.status.setText(f"{n} shape(s) are now <b>{cls}</b>.")

    # ------------------------------------------------------------------ cells
    def refresh(self) -> None:
        """Say which cells are used; with a regions layer, assign the cells (else show counts).

        Without a regions layer the cells' ``region`` column is left as it is
        (it may come from a file or the command line).
        """
        self._follow_slide()
        cells = cells_layer(self.viewer, required=False)
        self.counts.source.setText(self._describe_source(cells))
        has_table = cells is not None and CELL_ID in cells.features.columns
        if self.layer.get() is not None and has_table:
            self.assign()
        elif has_table and REGION in cells.features.columns:
            table = cell_table_of(cells)
            self.counts.show_counts(counts_for_display(region_counts(table), self._pixel_um()))
        else:
            ref = self._ref()
            regs = self.layer.regions(ref) if ref is not None else []
            self.counts.show_counts(areas_for_display(regs, self._pixel_um()))

    @notify_errors
    def assign(self) -> pd.DataFrame | None:
        """Give every cell the region its centre lies in; show cells and area per region."""
        cells = cells_layer(self.viewer)
        table = cell_table_of(cells)
        if CELL_ID not in table.columns:
            raise DvpInputError(f"labels layer '{cells.name}' has no cell table yet; measure "
                                "the cells (Segment dock) first")
        regs = self.layer.regions(cells)
        values = assign_regions(table, regs).to_numpy() if regs else np.full(len(table), "")
        merged = table
        if not _same(table, values):  # write only a change (other docks follow the table)
            merged = update_cells(cells, pd.DataFrame({CELL_ID: table[CELL_ID].to_numpy(),
                                                       REGION: values}),
                                  step="regions", parent=self)
            if merged is None:
                return None
        px = self._pixel_um()
        counts = region_counts(merged, regs or None, px)
        self.counts.show_counts(counts_for_display(counts, px))
        self.counts.source.setText(self._describe_source(cells))
        return counts

    # ------------------------------------------------------------------ GeoJSON
    @notify_errors
    def import_geojson(self, path: str) -> None:
        """Add a (QuPath) GeoJSON file: regions into the regions layer, points as layers."""
        ref = self._ref()
        shape = tuple(level0(ref).shape[-2:]) if ref is not None else None
        if ref is not None and getattr(ref, "rgb", False):
            shape = tuple(level0(ref).shape[:2])
        got = geojson_layer_data(path, image_shape=shape)
        for note in got.notes:
            show_warning(note)
        grid = self._grid()
        for data, meta, kind in got.layers:
            if meta.get("name") == REGIONS_LAYER:
                table = meta["features"]
                for cls, color in zip(table["region"], table["color"], strict=True):
                    self.classes.ensure(cls or "region", _rgb(color))
                self.layer.add(data, list(meta["shape_type"]), table, ref, grid)
                continue
            meta = {**meta, **grid,
                    "metadata": {**meta.get("metadata", {}), **grid.get("metadata", {})}}
            self.viewer.add_layer(Layer.create(data, meta, kind))
        show_info(f"{Path(path).name}: imported {describe(got.found)}")

    @notify_errors
    def export_geojson(self, path: str) -> None:
        """Write the regions as a QuPath-compatible GeoJSON FeatureCollection (slide pixels)."""
        layer = self.layer.get()
        ref = self._ref() or layer
        regs = self.layer.regions(ref) if ref is not None else []
        if not regs:
            raise DvpInputError("no regions to export; draw or import regions first")
        cmap = self.classes.colors()
        for r in regs:
            r.color = cmap.get(r.region_class, r.color)
        write_geojson(path, regions_to_features(regs))
        show_info(f"wrote {len(regs)} region(s) to {path}")


def _same(table: pd.DataFrame, regions) -> bool:
    """Whether the table already holds exactly these regions, written by the regions step."""
    if REGION not in table.columns or provenance(table).get(REGION) != "regions":
        return False
    return bool((table[REGION].astype(str).to_numpy() == regions.astype(str)).all())


def _rgb(hex_color: str) -> tuple[int, int, int] | None:
    if not isinstance(hex_color, str) or len(hex_color) != 7:
        return None
    return tuple(int(hex_color[k:k + 2], 16) for k in (1, 3, 5))  # type: ignore[return-value]
