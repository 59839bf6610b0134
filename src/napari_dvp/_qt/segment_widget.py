"""Segment dock widget: pick channels, method and region; Run (progress, Cancel); get "cells"."""

from __future__ import annotations

import contextlib

import dask.array as da
import numpy as np
from napari.layers import Image, Shapes
from napari.qt.threading import thread_worker
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import DvpInputError
from ..core.segmentation import make_backend
from ..core.segmentation.cellpose_backend import DEFAULT_MODEL, resolve_model
from ..core.segmentation.pipeline import (
    CYTO_PATTERN,
    NUCLEAR_PATTERN,
    labels_pyramid,
    segment_array,
)
from ._common import notify_errors, set_cell_table, show_info

LOCAL_FILE = "Local model file…"
NONE = "(none: nuclei only)"
ALL = "(all other channels)"
REGIONS = ("Whole image", "Visible area", "Selected shape")
OFFLINE = ("cpsam weights not found on this machine: they download on first use when online; "
           "or choose a local model file")


def _spin(lo, hi, value, step, suffix, tip, decimals=1):
    box = QDoubleSpinBox()
    box.setRange(lo, hi), box.setDecimals(decimals), box.setSingleStep(step)
    box.setValue(value), box.setSuffix(suffix), box.setToolTip(tip)
    return box


class SegmentWidget(QWidget):
    """Find every cell: nuclear + cytoplasm channel, cellpose or built-in, tiled with progress."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.worker = None
        self._cancel = False
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
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.run_btn, self.cancel_btn = QPushButton("Run"), QPushButton("Cancel")
        self.run_btn.setToolTip("Segment the cells; the result appears as the layer 'cells'")
        self.cancel_btn.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_btn), buttons.addWidget(self.cancel_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(form), lay.addWidget(self.status), lay.addWidget(self.progress)
        lay.addLayout(buttons), lay.addStretch(1)
        self.backend.currentIndexChanged.connect(self._update_visibility)
        self.model.activated.connect(self._on_model)
        self.nuclear.currentIndexChanged.connect(self._on_nuclear)
        self.run_btn.clicked.connect(self._on_run)
        self.cancel_btn.clicked.connect(self._on_cancel)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(self._refresh_layers)
        self._refresh_layers()
        self._update_visibility()

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

    # ------------------------------------------------------------------ running
    def _make_backend(self):
        px = self.pixel.value()
        if self.backend.currentIndex() == 0:
            return make_backend("builtin", pixel_size_um=px, max_expansion_um=self.expand.value(),
                                nucleus_diameter_um=self.nuc_diam.value())
        return make_backend("cellpose", model=self.model.currentText(), pixel_size_um=px,
                            diameter_um=self.diameter.value() or None, gpu=self.gpu.isChecked(),
                            flow_threshold=self.flow.value(),
                            cellprob_threshold=self.cellprob.value())

    def _region(self, layer, shape):
        """(box, polygon) in the image's pixels for the chosen region."""
        choice = self.region.currentText()
        if choice == REGIONS[1]:
            cam = getattr(self.viewer, "scene", self.viewer).camera
            height, width = self.viewer.window._qt_viewer.canvas.size
            half = np.array([height, width]) / 2 / cam.zoom
            centre = np.asarray(cam.center[-2:])
            lo, hi = ((centre + sign * half - np.asarray(layer.translate[-2:]))
                      / np.asarray(layer.scale[-2:]) for sign in (-1, 1))
            return (int(lo[0]), int(np.ceil(hi[0])), int(lo[1]), int(np.ceil(hi[1]))), None
        if choice == REGIONS[2]:
            import shapely

            shapes = next((s for s in reversed(self.viewer.layers)
                           if isinstance(s, Shapes) and s.selected_data), None)
            if shapes is None:
                raise DvpInputError("no shape is selected; draw a polygon in a Shapes layer, "
                                    "select it, then press Run")
            pts = np.asarray(shapes.data[min(shapes.selected_data)])[:, -2:]
            world = pts * np.asarray(shapes.scale[-2:]) + np.asarray(shapes.translate[-2:])
            rc = (world - np.asarray(layer.translate[-2:])) / np.asarray(layer.scale[-2:])
            poly = shapely.Polygon(rc[:, ::-1])  # x = col, y = row
            c0, r0, c1, r1 = poly.bounds
            return (int(r0), int(np.ceil(r1)) + 1, int(c0), int(np.ceil(c1)) + 1), poly
        return None, None

    @notify_errors
    def _on_run(self, *_):
        nuc = self._layer(self.nuclear.currentText())
        if nuc is None:
            raise DvpInputError("open an image first (a nuclear channel such as DAPI is needed)")
        if not self._check_model():
            raise DvpInputError(self.status.text())
        nuc_shape = (nuc.data[0] if nuc.multiscale else nuc.data).shape
        cyto = ([lay for lay in self._images() if lay is not nuc and
                 (lay.data[0] if lay.multiscale else lay.data).shape == nuc_shape]
                if self.cyto.currentText() == ALL else [self._layer(self.cyto.currentText())])
        data = [lay.data[0] if lay.multiscale else lay.data for lay in (nuc, *cyto) if lay]
        if len({d.shape for d in data}) > 1:
            raise DvpInputError("the nuclear and cytoplasm channels differ in size; choose "
                                "channels of the same image")
        image = da.stack([da.asarray(d) for d in data])
        box, polygon = self._region(nuc, image.shape[1:])
        backend, tile = self._make_backend(), self.tile.value()

        def job(runner):
            return segment_array(image, backend, list(range(len(data))), tile_size=tile,
                                 region=box, polygon=polygon, runner=runner)

        self._start(job, nuc, image.shape[1:])

    def _start(self, job, nuc, shape):
        self._cancel = False
        n_workers, px = self.workers.value(), self.pixel.value()  # read here, not in the thread
        siblings = [lay for lay in self._images() if (lay.data[0] if lay.multiscale
                                                      else lay.data).shape == shape]

        @thread_worker
        def work():
            with contextlib.ExitStack() as stack:
                runner = None
                if n_workers:
                    from ..core.segmentation.distributed import DistributedRunner, open_client

                    runner = DistributedRunner(stack.enter_context(open_client(None, n_workers)))
                labels = yield from self._drive(job(runner))
            if labels is None:
                return None
            return labels, self._measure(labels, siblings, px)

        self.worker = work()
        self.worker.yielded.connect(lambda s: (self.progress.setMaximum(s[1]),
                                               self.progress.setValue(s[0])))
        self.worker.returned.connect(lambda res: self._add_result(res, nuc, px))
        self.worker.errored.connect(notify_errors(self._raise))
        self.worker.finished.connect(lambda: (self.run_btn.setEnabled(True),
                                              self.cancel_btn.setEnabled(False)))
        self.run_btn.setEnabled(False), self.cancel_btn.setEnabled(True)
        self.status.setText("Segmenting… (Cancel stops after the current tile)")
        self.worker.start()

    def _drive(self, gen):
        """Forward progress; on Cancel close the job here (temporary files removed)."""
        while True:
            try:
                step = next(gen)
            except StopIteration as stop:
                return stop.value
            if self._cancel:
                gen.close()
                return None
            yield step

    def _measure(self, labels, siblings, px):
        try:
            from ..core.measure import measure_cells
        except ImportError:  # measurements not installed: labels only
            return None
        image = da.stack([da.asarray(lay.data[0] if lay.multiscale else lay.data)
                          for lay in siblings])
        lab = labels if isinstance(labels, np.ndarray) else da.from_zarr(labels)
        return measure_cells(lab, image, [lay.name for lay in siblings], px)

    @staticmethod
    def _raise(exc):
        raise exc

    def _on_cancel(self, *_):
        self._cancel = True
        self.status.setText("Cancelling…")

    def _add_result(self, result, nuc, px):
        if result is None:
            self.status.setText("Cancelled: nothing was changed.")
            self.progress.setValue(0)
            return
        labels, table = result
        levels = labels_pyramid(labels)
        kwargs = dict(name="cells", scale=nuc.scale[-2:], translate=nuc.translate[-2:],
                      units=nuc.units[-2:],
                      multiscale=len(levels) > 1, opacity=0.5,
                      metadata={"pixel_size_um": px, "source": nuc.name})
        layer = self.viewer.add_labels(levels if len(levels) > 1 else levels[0], **kwargs)
        if table is not None:
            set_cell_table(layer, table)
        n = int(table.shape[0]) if table is not None else int(np.asarray(levels[-1]).max())
        self.status.setText(f"Found {n:,} cells.")
        show_info(f"Segmented {n:,} cells into layer 'cells'")

