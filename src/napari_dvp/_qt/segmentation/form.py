"""Parameter form of the Segment widget: channel / method / model choices and their spin boxes."""

from __future__ import annotations

from napari.layers import Image
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QSpinBox,
)

from ...core.errors import DvpInputError
from ...core.segmentation.cellpose_backend import DEFAULT_MODEL, resolve_model
from ...core.segmentation.pipeline import CYTO_PATTERN, NUCLEAR_PATTERN

LOCAL_FILE = "Local model file…"
NONE = "(none: nuclei only)"
ALL = "(all other channels)"
REGIONS = ("Whole image", "Visible area", "Selected shape")
OFFLINE = ("cpsam weights not found on this machine: they download on first use when online; "
           "or choose a local model file")


def _spin(lo, hi, value, step, suffix, tip, decimals=1) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi), box.setDecimals(decimals), box.setSingleStep(step)
    box.setValue(value), box.setSuffix(suffix), box.setToolTip(tip)
    return box


class SegmentFormMixin:
    """Builds the controls (as attributes of the widget) and keeps them consistent.

    The host widget provides ``viewer`` and, before :meth:`_update_visibility` runs,
    a ``status`` label.
    """

    def _build_form(self) -> QFormLayout:
        form = QFormLayout()
        self.nuclear, self.cyto = QComboBox(), QComboBox()
        for combo in (self.nuclear, self.cyto):  # remember choices made by hand
            combo.activated.connect(
                lambda _i, c=combo: c.setProperty("chosen", c.currentText()))
        self.nuclear.setToolTip("Channel where nuclei are bright (DAPI, Hoechst)")
        self.cyto.setToolTip("Channel(s) showing the cell body (panCK, membrane, CD45…); "
                             "'all other channels' uses every marker")
        self.backend = QComboBox()
        self.backend.addItems(["Built-in (no download)", "cellpose (AI)"])
        self.backend.setToolTip("cellpose is more accurate but needs its model file; the "
                                "built-in method works everywhere")
        self.model = QComboBox()
        self.model.addItems([DEFAULT_MODEL, "cpsam_v2", LOCAL_FILE])
        self.model.setToolTip("cellpose model: a name, or a model file on this computer")
        self.diameter = _spin(0, 200, 0, 1, " µm", "Typical cell diameter (0 = cellpose decides)")
        self.flow = _spin(0, 3, 0.4, 0.1, "", "Higher finds more (less regular) cells", 2)
        self.cellprob = _spin(-6, 6, 0, 0.5, "", "Lower finds more and larger cells", 2)
        self.gpu = QCheckBox("Use GPU if available")
        self.gpu.setChecked(True)
        self.nuc_diam = _spin(2, 50, 6.5, 0.5, " µm", "Typical nucleus diameter (skin: 6–8 µm)")
        self.expand = _spin(0, 30, 4, 0.5, " µm", "How far a cell reaches beyond its nucleus")
        self.pixel = _spin(0.01, 100, 0.5, 0.05, " µm", "Size of one image pixel", 3)
        self.region = QComboBox()
        self.region.addItems(REGIONS)
        self.region.setToolTip("Segment everything, what you see now, or inside the selected "
                               "drawn shape (cells outside it are left out)")
        self.tile = QSpinBox()
        self.tile.setRange(128, 8192), self.tile.setSingleStep(256), self.tile.setValue(1024)
        self.tile.setSuffix(" px"), self.tile.setToolTip("Image piece processed at once")
        self.workers = QSpinBox()
        self.workers.setRange(0, 64)
        self.workers.setToolTip("0 = inside napari; N = a local dask cluster of N processes")
        rows = [("Nuclear channel", self.nuclear), ("Cytoplasm channel", self.cyto),
                ("Method", self.backend), ("Model", self.model), ("Cell diameter", self.diameter),
                ("Flow threshold", self.flow), ("Cell probability", self.cellprob),
                ("", self.gpu), ("Nucleus diameter", self.nuc_diam), ("Cell expansion",
                                                                        self.expand),
                ("Pixel size", self.pixel), ("Region", self.region), ("Tile size", self.tile),
                ("Parallel workers", self.workers)]
        self._rows = {}
        for text, w in rows:
            form.addRow(text, w)
            self._rows[w] = form.labelForField(w)
        self.backend.currentIndexChanged.connect(self._update_visibility)
        self.model.activated.connect(self._on_model)
        self.nuclear.currentIndexChanged.connect(self._on_nuclear)
        return form

    # ------------------------------------------------------------------ choices
    def _images(self) -> list:
        return [lay for lay in self.viewer.layers if isinstance(lay, Image) and not lay.rgb]

    def _refresh_layers(self, *_):
        names = [lay.name for lay in self._images()]
        for combo, extra, pattern in ((self.nuclear, [], NUCLEAR_PATTERN),
                                      (self.cyto, [NONE, ALL], CYTO_PATTERN)):
            old = combo.currentText()
            combo.blockSignals(True)
            combo.clear(), combo.addItems(extra + names)
            guess = next((n for n in names if pattern.search(n)), None)
            # keep a layer the user had, or an option they picked by hand; else guess anew
            keep = old in names or (old in extra and combo.property("chosen") == old)
            combo.setCurrentText(old if keep else guess or (old if old in extra else
                                                            combo.itemText(0)))
            combo.blockSignals(False)
        self._on_nuclear()

    def _on_nuclear(self, *_):
        layer = self._layer(self.nuclear.currentText())
        if layer is not None:
            px = (layer.metadata or {}).get("pixel_size_um") or float(layer.scale[-1])
            self.pixel.setValue(px if px != 1.0 or (layer.metadata or {}).get("pixel_size_um")
                                else 0.5)

    def _layer(self, name):
        return next((lay for lay in self._images() if lay.name == name), None)

    def _update_visibility(self, *_):
        cp = self.backend.currentIndex() == 1
        for w in (self.model, self.diameter, self.flow, self.cellprob, self.gpu,
                  self.nuc_diam, self.expand):
            show = cp == (w not in (self.nuc_diam, self.expand))
            for part in (w, self._rows[w]):
                if part is not None:
                    part.setVisible(show)
        self._check_model()

    def _on_model(self, *_):
        if self.model.currentText() == LOCAL_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "cellpose model file")
            if path:
                self.model.insertItem(0, path)
            self.model.setCurrentIndex(0)
        self._check_model()

    def _check_model(self) -> bool:
        self.status.setText("")
        if self.backend.currentIndex() != 1:
            return True
        try:
            resolve_model(self.model.currentText(), allow_download=False)
        except DvpInputError as exc:
            missing = "not on this machine" in str(exc)
            self.status.setText(OFFLINE.replace("cpsam", self.model.currentText())
                                if missing else str(exc))
            return missing  # a missing name may still download when online
        return True
