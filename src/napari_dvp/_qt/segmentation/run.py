"""Running part of the Segment widget: region, backend, worker with progress / Cancel, result."""

from __future__ import annotations

import contextlib

import dask.array as da
import numpy as np
from napari.layers import Shapes
from napari.qt.threading import thread_worker

from ...core.errors import DvpInputError
from ...core.segmentation import make_backend
from ...core.segmentation.pipeline import labels_pyramid, segment_array
from .._common import notify_errors, set_cell_table, show_info
from .form import ALL, REGIONS


class SegmentRunMixin:
    """Run / Cancel of the Segment widget.

    The host widget provides ``viewer``, the form controls of
    :class:`~napari_dvp._qt.segmentation.form.SegmentFormMixin`, ``status``, ``progress``,
    ``run_btn``, ``cancel_btn``, ``worker`` and ``_cancel``.
    """

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
                    from ...core.segmentation.distributed import DistributedRunner, open_client

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
            from ...core.measure import measure_cells
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
