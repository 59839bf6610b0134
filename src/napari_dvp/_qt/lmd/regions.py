"""Regions as samples in the LMD dock: drawn regions cut whole (or in pieces), one well each."""

from __future__ import annotations

import re

import numpy as np
import shapely
from napari.layers import Shapes
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import DvpInputError
from ...core.geojson import features_to_regions, shapes_to_features
from ...core.layer_coords import data_to_data
from ...core.lmd.options import RegionParams
from ...core.lmd.plan_common import combine_plans
from ...core.lmd.region_plan import region_samples, regions_by_name
from .._common import cell_table_of, notify_errors
from .._forms import ParamsForm
from .._session import session_of
from .._slide import cells_layer, current_slide
from .cells import CellsBox
from .plan_table import PlanTable

REGIONS_LAYER = "regions"  #: the Shapes layer of the Regions dock


def lmd_pixel_um(viewer) -> float:
    """The slide's measured pixel size (the one rule); refused when only assumed."""
    slide = current_slide(viewer)
    if slide is None:
        raise DvpInputError("no slide open; open the slide (Slide dock) before planning the LMD")
    return slide.pixel.require("LMD export")


def layer_regions(viewer, ref) -> dict[str, object]:
    """Regions of the "regions" Shapes layer by name, in pixels (x=col, y=row) of ``ref``."""
    if REGIONS_LAYER not in viewer.layers:
        return {}
    layer = viewer.layers[REGIONS_LAYER]
    if not isinstance(layer, Shapes) or not len(layer.data):
        return {}
    verts = [data_to_data(np.asarray(v)[:, -2:], layer.scale, layer.translate,
                          ref.scale[-2:], ref.translate[-2:]) for v in layer.data]
    feats = shapes_to_features(verts, layer.shape_type, layer.features)
    return regions_by_name(features_to_regions(feats), ref.data.shape[-2:])


class RegionsBox(QWidget):
    """Lists the drawn regions; "Add selected regions as samples" appends them to the plan."""

    status = Signal(str)

    def __init__(self, viewer, cells: CellsBox, table: PlanTable) -> None:
        super().__init__()
        self.viewer, self.cells, self.table = viewer, cells, table
        self.setToolTip("Cut a drawn region (e.g. a patch of lesional epidermis) as a sample "
                        "of its own. Draw regions with the Regions dock.")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setMaximumHeight(70)
        self.list.setToolTip("Regions of the 'regions' layer; select those to cut, each "
                             "becomes one sample (one well)")
        self.form = ParamsForm(RegionParams)
        self.add_btn = QPushButton("Add selected regions as samples")
        lay.addWidget(self.list)
        lay.addWidget(self.form.native)
        lay.addWidget(self.add_btn)
        self._watched = None
        self.add_btn.clicked.connect(self.add_samples)
        viewer.layers.events.inserted.connect(self.refresh)
        viewer.layers.events.removed.connect(self.refresh)
        cells.changed.connect(self.refresh)
        self.refresh()

    def refresh(self, *_) -> None:
        """List the regions (keeping the selection)."""
        layer = self.viewer.layers[REGIONS_LAYER] if REGIONS_LAYER in self.viewer.layers else None
        if layer is not None and layer is not self._watched:
            layer.events.data.connect(self.refresh)
            layer.events.features.connect(self.refresh)
            self._watched = layer
        keep = set(self.chosen())
        self.list.clear()
        ref = cells_layer(self.viewer, required=False)
        if ref is None:
            return
        slide = current_slide(self.viewer)
        px2 = slide.pixel.um ** 2 if slide is not None else 1.0
        for name, geom in layer_regions(self.viewer, ref).items():
            item = QListWidgetItem(f"{name}  ({shapely.area(geom) * px2:,.0f} µm²)")
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.list.addItem(item)
            item.setSelected(name in keep)

    def chosen(self) -> list[str]:
        """Names of the selected regions, in list order."""
        items = (self.list.item(i) for i in range(self.list.count()))
        return [it.data(Qt.ItemDataRole.UserRole) for it in items if it.isSelected()]

    def select(self, names) -> None:
        """Select exactly the regions ``names``."""
        for i in range(self.list.count()):
            it = self.list.item(i)
            it.setSelected(it.data(Qt.ItemDataRole.UserRole) in set(names))

    @notify_errors
    def add_samples(self) -> None:
        """Append the selected regions to the plan, each as its own sample."""
        layer = self.cells.layer()
        names = self.chosen()
        if not names:
            raise DvpInputError("no region selected; select regions under 'Regions as samples' "
                                "(draw them with the Regions dock first)")
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
        new = region_samples(layer_regions(self.viewer, layer), names, lmd_pixel_um(self.viewer),
                             self.form.params().max_piece_um2 or None,
                             cells=cells if {"centroid_row", "centroid_col"} <= set(cells)
                             else None, start=max(used, default=0) + 1)
        plan = combine_plans(current, new)
        self.table.set_plan(plan)
        session_of(self.viewer).put("plans", "LMD plan", plan, source=self)
        pieces = sum(len(shapely.get_parts(g)) for g in new["geometry"])
        self.status.emit(f"Added {len(new)} region sample(s) in {pieces} piece(s); "
                         f"{len(plan)} samples planned.")
