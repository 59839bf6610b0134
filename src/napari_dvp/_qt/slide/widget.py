"""Slide dock widget: open a tissue image, see what it is, name channels, fix the pixel size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
)
from superqt import QLabeledDoubleRangeSlider

from ...core.slide import open_image
from ...core.slide.layers import layer_data
from .._common import notify_errors, show_info
from .._workspace import DvpDock

COLORMAPS = ["blue", "green", "magenta", "yellow", "cyan", "red", "gray", "bop orange",
             "bop purple", "bop blue"]
FILE_FILTER = "Tissue images (*.ome.tif *.ome.tiff *.tif *.tiff *.png *.jpg *.jpeg);;All files (*)"
NO_PIXEL = ("<b>Pixel size unknown</b> — measurements in µm and LMD export need it; "
            "enter it from the scanner's report and press <i>Apply to all layers</i>.")


def slide_key(layer) -> str:
    """Which slide an image layer shows: the file it came from, else its own name."""
    meta = layer.metadata or {}
    return str(meta.get("slide") or getattr(layer.source, "path", None) or f"layer: {layer.name}")


def describe(layers) -> str:
    """Plain-language summary (HTML) of one slide's image layers."""
    first = layers[0]
    meta = first.metadata or {}
    data0 = first.data[0] if first.multiscale else first.data
    ny, nx = (data0.shape[:2] if first.rgb else data0.shape[-2:])
    px = meta.get("pixel_size_um")
    levels = len(first.data) if first.multiscale else 1
    kind = "Brightfield colour (H&E)" if first.rgb else f"Fluorescence, {len(layers)} channel(s)"
    rows = [f"<b>{Path(slide_key(first)).name}</b>", kind,
            f"Size: {nx:,} × {ny:,} px" + (f" = {nx * px / 1000:.2f} × {ny * px / 1000:.2f} mm"
                                            if px else ""),
            f"Pyramid levels: {levels}" + ("" if levels > 1 else " (no pyramid: big images "
                                           "will be slow; save as pyramidal OME-TIFF)"),
            f"Pixel size: {px:g} µm" if px else NO_PIXEL,
            f"Pixel type: {data0.dtype}"]
    return "<br>".join(rows)


class SlideWidget(DvpDock):
    """Open a slide; show its size, pyramid, channels, pixel size; rename/colour channels."""

    STEP = "Slide"
    GUIDE = ("<b>1 Slide</b> — open the stained section, name its channels, check the pixel "
             "size. Next: <i>Segment</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self._updating = False
        lay = self.body
        self.open_btn = QPushButton("Open slide…")
        self.open_btn.setToolTip("OME-TIFF, TIFF, PNG or JPEG; big pyramidal slides open "
                                 "instantly. You can also drag a file onto napari.")
        self.open_btn.clicked.connect(self._on_open_clicked)
        lay.addWidget(self.open_btn)
        row = QHBoxLayout()
        row.addWidget(QLabel("Slide:"))
        self.slide_combo = QComboBox()
        self.slide_combo.setToolTip("The slide whose details are shown below")
        self.slide_combo.currentIndexChanged.connect(self._show_slide)
        row.addWidget(self.slide_combo, 1)
        lay.addLayout(row)
        self.info = QLabel("Open a slide (button above, or drag a file onto napari).")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.info)
        lay.addWidget(QLabel("Channels (double-click a name to rename it):"))
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Channel", "Colour"])
        self.table.setToolTip("Marker name of each channel and the colour it is shown in")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(1, 130)
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._on_renamed)
        self.table.currentCellChanged.connect(self._on_row_selected)
        lay.addWidget(self.table)
        self.contrast_label = QLabel("Contrast")
        lay.addWidget(self.contrast_label)
        self.contrast = QLabeledDoubleRangeSlider(Qt.Orientation.Horizontal)
        self.contrast.setToolTip("Darkest and brightest intensity shown for the selected channel")
        self.contrast.valueChanged.connect(self._on_contrast)
        lay.addWidget(self.contrast)
        row = QHBoxLayout()
        row.addWidget(QLabel("Pixel size:"))
        self.pixel = QDoubleSpinBox(decimals=4, minimum=0.001, maximum=50.0, singleStep=0.01,
                                    suffix=" µm")
        self.pixel.setMinimumWidth(110)
        self.pixel.setToolTip("Size of one full-resolution pixel, from the scanner's report "
                              "(e.g. 0.5 µm at 20x, 0.25 µm at 40x)")
        row.addWidget(self.pixel)
        self.apply_btn = QPushButton("Apply to all layers")
        self.apply_btn.setToolTip("Sets the scale of this slide's channels and of every labels, "
                                  "shapes and points layer, so they stay aligned")
        self.apply_btn.clicked.connect(self._on_apply_clicked)
        row.addWidget(self.apply_btn)
        lay.addLayout(row)
        lay.addStretch(1)
        self.viewer.layers.events.inserted.connect(self._refresh)
        self.viewer.layers.events.removed.connect(self._refresh)
        self.viewer.layers.selection.events.active.connect(self._on_active)
        self._refresh()

    # ------------------------------------------------------------------ model

    def slides(self) -> dict[str, list]:
        """Image layers grouped by slide, in viewer order."""
        from napari.layers import Image

        groups: dict[str, list] = {}
        for layer in self.viewer.layers:
            if isinstance(layer, Image):
                groups.setdefault(slide_key(layer), []).append(layer)
        return groups

    def current_layers(self) -> list:
        """Image layers of the slide chosen in the combo box."""
        return self.slides().get(self.slide_combo.currentData(), [])

    def open_path(self, path: str | Path) -> list:
        """Open ``path`` through the same core reader as drag-and-drop; return the new layers."""
        image = open_image(path)
        added = [getattr(self.viewer, f"add_{kind}")(data, **kwargs)
                 for data, kwargs, kind in layer_data(image)]
        self._refresh(select=str(image.path))
        return added

    def rename_channel(self, row: int, name: str) -> None:
        """Rename channel ``row`` of the current slide (renames its layer)."""
        layer = self.current_layers()[row]
        layer.name = name.strip() or layer.name
        layer.metadata["channel"] = layer.name
        self._show_slide()

    def set_colormap(self, row: int, colormap: str) -> None:
        """Colour channel ``row`` of the current slide."""
        self.current_layers()[row].colormap = colormap

    def set_pixel_size(self, pixel_size_um: float) -> None:
        """Set the pixel size of the current slide and every annotation layer (scale in µm)."""
        from napari.layers import Image

        key = self.slide_combo.currentData()
        others = {k for k in self.slides() if k != key}
        mine = {id(layer) for layer in self.current_layers()}
        scale = (float(pixel_size_um),) * 2
        for layer in self.viewer.layers:
            belongs = (id(layer) in mine if isinstance(layer, Image)
                       else (layer.metadata or {}).get("slide") not in others)
            if belongs and layer.ndim == 2:
                layer.scale = scale
                layer.units = ("um", "um")
                layer.metadata["pixel_size_um"] = float(pixel_size_um)
        self.viewer.reset_view()
        self._show_slide()

    # ------------------------------------------------------------------ GUI

    @notify_errors
    def _on_open_clicked(self, *_):
        path, _f = QFileDialog.getOpenFileName(self, "Open slide", "", FILE_FILTER)
        if path:
            self.open_path(path)
            show_info(f"Opened {Path(path).name}")

    @notify_errors
    def _on_apply_clicked(self, *_):
        self.set_pixel_size(self.pixel.value())

    def _on_active(self, event):
        """Show the slide of the layer the user clicked (and pick up renames)."""
        layer = event.value
        if layer is not None and layer.__class__.__name__ == "Image":
            self._refresh(select=slide_key(layer))

    def _refresh(self, *_, select: str | None = None):
        keys = list(self.slides())
        current = select or self.slide_combo.currentData()
        self.slide_combo.blockSignals(True)
        self.slide_combo.clear()
        for key in keys:
            self.slide_combo.addItem(Path(key).name, key)
        index = keys.index(current) if current in keys else len(keys) - 1
        self.slide_combo.setCurrentIndex(index)
        self.slide_combo.blockSignals(False)
        self._show_slide()

    def _show_slide(self, *_):
        layers = self.current_layers()
        self._updating = True
        self.table.setRowCount(len(layers))
        for row, layer in enumerate(layers):
            self.table.setItem(row, 0, QTableWidgetItem(layer.name))
            combo = QComboBox()
            combo.addItems(COLORMAPS if layer.colormap.name in COLORMAPS
                           else [layer.colormap.name, *COLORMAPS])
            combo.setCurrentText(layer.colormap.name)
            combo.setEnabled(not layer.rgb)
            combo.currentTextChanged.connect(lambda name, r=row: self.set_colormap(r, name))
            self.table.setCellWidget(row, 1, combo)
        self._updating = False
        shown = sum(self.table.rowHeight(r) for r in range(min(len(layers), 8)))
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + shown + 4)
        if not layers:
            self.info.setText("Open a slide (button above, or drag a file onto napari).")
            return
        self.info.setText(describe(layers))
        px = (layers[0].metadata or {}).get("pixel_size_um")
        self.pixel.setValue(float(px) if px else 0.5)
        self.table.setCurrentCell(0, 0)
        self._on_row_selected(0)

    @notify_errors
    def _on_renamed(self, item):
        if not self._updating and item.column() == 0:
            self.rename_channel(item.row(), item.text())

    def _on_row_selected(self, row, *_):
        layers = self.current_layers()
        if not 0 <= row < len(layers) or layers[row].rgb:
            self.contrast.setEnabled(False)
            return
        layer = layers[row]
        self.contrast.setEnabled(True)
        self.contrast_label.setText(f"Contrast of {layer.name}")
        lo, hi = layer.contrast_limits_range
        dtype = np.dtype(layer.dtype)
        top = hi * 2 if hi > 0 else 1.0
        if dtype.kind in "ui":
            top = min(top, float(np.iinfo(dtype).max))
        self._updating = True
        self.contrast.setDecimals(0 if dtype.kind in "uib" else 3)
        self.contrast.setRange(min(lo, 0.0), max(top, hi))
        self.contrast.setValue(tuple(layer.contrast_limits))
        self._updating = False

    def _on_contrast(self, value):
        row = self.table.currentRow()
        layers = self.current_layers()
        if not self._updating and 0 <= row < len(layers):
            layers[row].contrast_limits = tuple(value)
