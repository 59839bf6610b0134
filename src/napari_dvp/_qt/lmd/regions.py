"""Regions-as-samples part of the LMD widget: cut drawn regions whole (or in pieces)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely
from napari.layers import Shapes
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QListWidget,
    QListWidgetItem,
    QPushButton,
)

from ...core.errors import DvpInputError
from ...core.geojson import features_to_regions, shapes_to_features
from ...core.layer_coords import data_to_world, world_to_data
from ...core.lmd.plan_common import combine_plans
from ...core.lmd.qc import well_colours
from ...core.lmd.region_plan import region_samples, regions_by_name
from .._common import cell_table_of, notify_errors
from .._session import session_of
from .inputs import spin

REGIONS_LAYER = "regions"  #: the Shapes layer of the Regions widget
REGION_PREVIEW = "LMD region samples (by well)"


def layer_regions(viewer, ref) -> dict[str, object]:
    """Regions of the "regions" Shapes layer by name, in pixels (x=col, y=row) of ``ref``.

    Same conversion as the Regions widget (:func:`shapes_to_features` then
    :func:`features_to_regions`), after mapping every vertex through both
    layers' scale and translate; clipped to ``ref``'s image.
    """
    if REGIONS_LAYER not in viewer.layers:
        return {}
    layer = viewer.layers[REGIONS_LAYER]
    if not isinstance(layer, Shapes) or not len(layer.data):
        return {}
    verts = [world_to_data(data_to_world(np.asarray(v)[:, -2:], layer.scale, layer.translate),
                           ref.scale, ref.translate) for v in layer.data]
    feats = shapes_to_features(verts, layer.shape_type, layer.features)
    return regions_by_name(features_to_regions(feats), ref.data.shape[-2:])


def outlines_rc(geom) -> list[np.ndarray]:
    """Outer rings of every polygon of ``geom`` as (row, col) vertex arrays for a Shapes layer."""
    parts = shapely.get_parts(geom)
    return [shapely.get_coordinates(shapely.get_exterior_ring(p))[:-1, ::-1] for p in parts]


def cells_only(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan with region samples' cell lists emptied (they are previewed as shapes)."""
    plan = plan.copy()
    if "kind" in plan:
        reg = (plan["kind"] == "region").to_numpy()
        plan["cell_ids"] = [() if r else c for r, c in zip(reg, plan["cell_ids"], strict=True)]
    return plan


class LmdRegionsMixin:
    """Regions part of :class:`~napari_dvp._qt.lmd.widget.LmdWidget`.

    Uses the widget's ``viewer``, ``table`` (the plan), ``pixel``, ``status``
    and ``_layer()`` (the cells).
    """

    def _build_regions(self) -> QGroupBox:
        box = QGroupBox("Regions as samples")
        box.setToolTip("Cut a drawn region (e.g. a patch of lesional epidermis) as a sample of "
                       "its own, instead of single cells. Draw regions with the Regions widget.")
        form = QFormLayout(box)
        self.region_list = QListWidget()
        self.region_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.region_list.setMaximumHeight(70)
        self.region_list.setToolTip("Regions of the 'regions' layer; select (Ctrl/Shift-click) "
                                    "those to cut, each region becomes one sample (one well)")
        self.max_piece = spin(0, 1e7, 0, "Cut big regions into pieces of at most this area "
                              "(the laser drops large pieces badly); 0 = whole region", 500, 0)
        self.max_piece.setSpecialValueText("whole region")
        self.add_regions_btn = QPushButton("Add selected regions as samples")
        form.addRow(self.region_list)
        form.addRow("Max piece µm²", self.max_piece)
        form.addRow(self.add_regions_btn)
        self._watched_regions = None
        self.add_regions_btn.clicked.connect(self.add_region_samples)
        self.viewer.layers.events.inserted.connect(self._fill_regions)
        self.viewer.layers.events.removed.connect(self._fill_regions)
        return box

    def _fill_regions(self, *_) -> None:
        layer = self.viewer.layers[REGIONS_LAYER] if REGIONS_LAYER in self.viewer.layers else None
        if layer is not None and layer is not self._watched_regions:
            layer.events.data.connect(self._fill_regions)
            layer.events.features.connect(self._fill_regions)
            self._watched_regions = layer
        keep = set(self.chosen_regions())
        self.region_list.clear()
        try:
            regions = layer_regions(self.viewer, self._layer())
        except DvpInputError:  # no cells layer yet
            return
        px2 = self.pixel.value() ** 2
        for name, geom in regions.items():
            item = QListWidgetItem(f"{name}  ({shapely.area(geom) * px2:,.0f} µm²)")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.region_list.addItem(item)
            item.setSelected(name in keep)

    def chosen_regions(self) -> list[str]:
        """Names of the selected regions, in list order."""
        items = (self.region_list.item(i) for i in range(self.region_list.count()))
        return [it.data(Qt.ItemDataRole.UserRole) for it in items if it.isSelected()]

    @notify_errors
    def add_region_samples(self, *_) -> None:
        """Append the selected regions to the plan, each as its own sample."""
        layer = self._layer()
        names = self.chosen_regions()
        if not names:
            raise DvpInputError("no region selected; select regions in 'Regions as samples' "
                                "(draw them with the Regions widget first)")
        current = self.table.plan()
        if len(current) and "kind" in current:
            have = set(current.loc[current["kind"] == "region", "region"].astype(str))
            twice = [n for n in names if n in have]
            if twice:
                raise DvpInputError(f"region {twice[0]!r} is already a sample in the plan; "
                                    "drop that sample first to add it again")
        used = [int(m.group(1)) for s in (current["sample_id"] if len(current) else [])
                if (m := re.fullmatch(r"R(\d+)", str(s)))]
        cells = cell_table_of(layer)
        new = region_samples(layer_regions(self.viewer, layer), names, self.pixel.value(),
                             self.max_piece.value() or None,
                             cells=cells if {"centroid_row", "centroid_col"} <= set(cells)
                             else None, start=max(used, default=0) + 1)
        plan = combine_plans(current, new)
        self.table.set_plan(plan)
        session_of(self.viewer).put("plans", "LMD plan", plan, source=self)
        pieces = sum(len(shapely.get_parts(g)) for g in new["geometry"])
        self.status.setText(f"Added {len(new)} region sample(s) in {pieces} piece(s); "
                            f"{len(plan)} samples planned.")

    def _preview_regions(self, plan: pd.DataFrame, wells: dict[str, str]) -> None:
        """Show the pieces of the region samples as shapes in their well's colour."""
        reg = plan[plan["kind"] == "region"] if "kind" in plan else plan.iloc[:0]
        if REGION_PREVIEW in self.viewer.layers:
            self.viewer.layers.remove(REGION_PREVIEW)
        if not len(reg):
            return
        colours = well_colours([wells[s] for s in plan["sample_id"]])
        data, edge = [], []
        for sid, geom in zip(reg["sample_id"], reg["geometry"], strict=True):
            rings = outlines_rc(geom)
            data += rings
            edge += [colours[wells[sid]]] * len(rings)
        face = np.asarray(edge, dtype=float)
        face[:, 3] = 0.35
        ref = self._layer()
        self.viewer.add_shapes(data, shape_type="polygon", name=REGION_PREVIEW,
                               edge_color=np.asarray(edge), face_color=face, edge_width=2,
                               scale=ref.scale[-2:], translate=ref.translate[-2:],
                               units=ref.units[-2:])
