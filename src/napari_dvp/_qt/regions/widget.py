"""Regions dock widget: draw named tissue regions and give every cell its region."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
)

from ...core.cells.columns import REGION
from ...core.geojson import (
    SHAPE_COLUMNS,
    GeoJsonWarning,
    features_to_regions,
    features_to_shapes,
    read_geojson,
    regions_to_features,
    shapes_to_features,
    write_geojson,
)
from ...core.regions import DEFAULT_REGION_CLASSES, assign_regions, color_for, region_counts
from .._common import notify_errors, set_cell_table, show_info, show_warning
from .._workspace import DvpDock
from ..classes.colors import ClassList, cells_table, fill_table, hex_of

LAYER = "regions"
_DEFAULTS = {"region": "", "name": "", "object_type": "annotation", "group": -1,
             "hole": False, "color": "", "id": ""}


class RegionsWidget(DvpDock):
    """Region classes, drawing, assignment of cells, counts, GeoJSON import/export."""

    STEP = "Regions"
    GUIDE = ("<b>4 Regions</b> — needs a slide; draw or import epidermis, dermis, blister… and"
             " assign cells. Next: <i>Gating</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        lay = self.body
        lay.addWidget(QLabel("Region classes (double-click a colour to change it):"))
        self.classes = ClassList([(r.name, r.color) for r in DEFAULT_REGION_CLASSES])
        self.classes.setToolTip("Kinds of tissue region. Cells in an 'exclude' region are "
                                "never cut (folds, tears, artefacts).")
        self.classes.setMaximumHeight(160)
        lay.addWidget(self.classes)
        row = QHBoxLayout()
        self.add_btn = QPushButton("Add class")
        self.remove_btn = QPushButton("Remove class")
        row.addWidget(self.add_btn)
        row.addWidget(self.remove_btn)
        lay.addLayout(row)
        self.new_btn = QPushButton("Draw new region of the selected class")
        self.new_btn.setToolTip("Click around the region on the image; double-click to close it")
        lay.addWidget(self.new_btn)
        self.assign_btn = QPushButton("Assign cells to regions")
        self.assign_btn.setToolTip("Every cell gets the region its centre lies in "
                                   "(also done automatically when you change a region)")
        lay.addWidget(self.assign_btn)
        lay.addWidget(QLabel("Cells per region:"))
        self.counts = QTableWidget(0, 0)
        lay.addWidget(self.counts)
        row = QHBoxLayout()
        self.import_btn = QPushButton("Import GeoJSON…")
        self.export_btn = QPushButton("Export GeoJSON…")
        self.import_btn.setToolTip("Regions drawn in QuPath (File › Export objects as GeoJSON)")
        self.export_btn.setToolTip("Regions for QuPath (drag the file onto the image there)")
        row.addWidget(self.import_btn)
        row.addWidget(self.export_btn)
        lay.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self._auto_assign)
        self.add_btn.clicked.connect(self._add_class)
        self.remove_btn.clicked.connect(self.classes.remove_selected)
        self.new_btn.clicked.connect(self.new_region)
        self.assign_btn.clicked.connect(self.assign)
        self.import_btn.clicked.connect(self._import_clicked)
        self.export_btn.clicked.connect(self._export_clicked)
        self.classes.changed.connect(self._recolor_shapes)
        if LAYER in self.viewer.layers:
            self._watch(self.viewer.layers[LAYER])

    # ------------------------------------------------------------------ layer
    def _add_class(self) -> None:
        n = self.classes.rowCount() + 1
        name = f"region {n}"
        self.classes.add(name, color_for(name))

    def current_class(self) -> str:
        """Selected region class (first if none)."""
        r = max(self.classes.currentRow(), 0)
        names = self.classes.names()
        return names[r] if names else "region"

    def shapes_layer(self, create: bool = True):
        """The 'regions' Shapes layer (created on the cells' grid if missing)."""
        if LAYER in self.viewer.layers:
            return self.viewer.layers[LAYER]
        if not create:
            return None
        try:
            ref, _ = cells_table(self.viewer)
        except Exception:  # no cells yet: draw on the slide's own grid
            images = [lay for lay in self.viewer.layers if lay._type_string == "image"]
            ref = images[0] if images else None
        grid = ({"scale": ref.scale[-2:], "translate": ref.translate[-2:],
                 "units": ref.units[-2:]} if ref is not None else {})
        feats = pd.DataFrame({c: pd.Series([], dtype=object) for c in SHAPE_COLUMNS})
        layer = self.viewer.add_shapes(name=LAYER, ndim=2, features=feats, opacity=0.5,
                                       edge_width=3, **grid)
        self._watch(layer)
        return layer

    def _watch(self, layer) -> None:
        layer.events.data.connect(lambda *_: self._timer.start())
        layer.events.features.connect(lambda *_: self._timer.start())

    @notify_errors
    def new_region(self) -> None:
        """Put the regions layer in polygon-drawing mode for the selected class."""
        layer = self.shapes_layer()
        cls = self.current_class()
        layer.feature_defaults = {**_DEFAULTS, "region": cls}
        layer.current_face_color = hex_of(self.classes.color_map().get(cls, color_for(cls)))
        layer.current_edge_color = layer.current_face_color
        self.viewer.layers.selection.active = layer
        layer.mode = "add_polygon"
        self.status.setText(f"Drawing '{cls}': click the outline, double-click to finish.")

    def _recolor_shapes(self) -> None:
        layer = self.shapes_layer(create=False)
        if layer is None or not len(layer.data) or "region" not in layer.features:
            return
        cmap = self.classes.color_map()
        edge = np.array([[*np.asarray(cmap.get(str(r), color_for(str(r)))) / 255, 1.0]
                         for r in layer.features["region"]])
        face = edge.copy()
        face[:, 3] = 0.5
        if "hole" in layer.features:
            face[(layer.features["hole"] == True).to_numpy(bool), 3] = 0.0  # noqa: E712
        layer.face_color = face
        layer.edge_color = edge

    # ------------------------------------------------------------------ regions
    def _pixel_vertices(self, layer, ref) -> list[np.ndarray]:
        """Shape vertices in the cells' pixel grid (layers may differ in scale)."""
        out = []
        s, t = np.asarray(layer.scale[-2:]), np.asarray(layer.translate[-2:])
        rs, rt = np.asarray(ref.scale[-2:]), np.asarray(ref.translate[-2:])
        for v in layer.data:
            out.append((np.asarray(v)[:, -2:] * s + t - rt) / rs)
        return out

    def regions(self, ref=None) -> list:
        """Regions drawn in the layer, in pixel coordinates of the cells' labels."""
        layer = self.shapes_layer(create=False)
        if layer is None or not len(layer.data):
            return []
        if ref is None:
            ref, _ = cells_table(self.viewer)
        feats = shapes_to_features(self._pixel_vertices(layer, ref), layer.shape_type,
                                   layer.features, default_class=self.current_class())
        return features_to_regions(feats)

    def _auto_assign(self) -> None:
        try:
            cells_table(self.viewer)
        except Exception:
            return
        self.assign()

    @notify_errors
    def assign(self) -> pd.DataFrame:
        """Assign every cell to a region; update the cell table and the counts."""
        ref, table = cells_table(self.viewer)
        regs = self.regions(ref)
        table[REGION] = assign_regions(table, regs) if regs else ""
        set_cell_table(ref, table)
        px = ref.metadata.get("pixel_size_um") or (
            float(ref.scale[-1]) if float(ref.scale[-1]) != 1.0 else None)
        counts = region_counts(table, regs or None, px)
        show = counts.rename(columns={"n_cells": "cells", "cell_area_um2": "cell area µm²",
                                      "region_area": "region area " + ("µm²" if px else "px²")})
        show["region"] = show["region"].replace("", "(outside)")
        fill_table(self.counts, show)
        self.status.setText(f"{len(table)} cells assigned to {len(regs)} region shape(s).")
        return counts

    # ------------------------------------------------------------------ GeoJSON
    @notify_errors
    def import_geojson(self, path: str) -> None:
        """Add the annotations of a (QuPath) GeoJSON file as regions."""
        try:
            ref, _ = cells_table(self.viewer)
            shape = ref.data.shape[-2:]
        except Exception:
            ref, shape = None, None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GeoJsonWarning)
            regs = features_to_regions(read_geojson(path, image_shape=shape))
        for w in caught:
            show_warning(str(w.message))
        if not regs:
            show_warning(f"{path}: no annotation polygons found")
            return
        data, types, feats = features_to_shapes(regions_to_features(regs))
        for name in dict.fromkeys(feats["region"]):
            if name not in self.classes.names():
                self.classes.add(name, next((r.color for r in regs if r.region_class == name
                                             and r.color), color_for(name)))
        layer = self.shapes_layer()
        if ref is not None:  # shapes are pixels of the labels: bring them onto the layer grid
            s, t = np.asarray(layer.scale[-2:]), np.asarray(layer.translate[-2:])
            data = [(d * np.asarray(ref.scale[-2:]) + np.asarray(ref.translate[-2:]) - t) / s
                    for d in data]
        old = layer.features.copy()
        if len(old) and "group" in old:
            feats["group"] += int(pd.to_numeric(old["group"], errors="coerce").max()) + 1
        layer.add(data, shape_type=types)
        layer.features = pd.concat([old, feats], ignore_index=True)[list(SHAPE_COLUMNS)]
        self._recolor_shapes()
        show_info(f"imported {len(regs)} region(s) from {path}")

    @notify_errors
    def export_geojson(self, path: str) -> None:
        """Write the regions as a QuPath-compatible GeoJSON FeatureCollection."""
        regs = self.regions()
        cmap = self.classes.color_map()
        for r in regs:
            r.color = r.color or cmap.get(r.region_class)
        write_geojson(path, regions_to_features(regs))
        show_info(f"wrote {len(regs)} region(s) to {path}")

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import regions", "",
                                              "GeoJSON (*.geojson *.json)")
        if path:
            self.import_geojson(path)

    def _export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export regions", "regions.geojson",
                                              "GeoJSON (*.geojson)")
        if path:
            self.export_geojson(path)
