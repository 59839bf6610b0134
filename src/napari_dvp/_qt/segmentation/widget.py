"""Segment dock: channels, method and region for the current slide; Run (progress, Cancel); cells.

The dock coordinates small parts — :class:`.channels.ChannelPicker`,
:class:`.method.MethodPanel` (with :class:`.model_picker.ModelPicker`),
:class:`.size.NucleusSizePanel`, :class:`.region.RegionPicker` and a run form
— and runs :func:`~napari_dvp.core.segmentation.slide_job.segment_slide` through
the :class:`~napari_dvp._qt._jobs.JobRunner`. The pixel size is the slide's
(:func:`~napari_dvp._qt._slide.current_slide`); the result is a labels layer
recorded as the slide's cells, with its cell table.
"""

from __future__ import annotations

from html import escape

from qtpy.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import DvpInputError
from ...core.segmentation.params import SegmentParams
from ...core.segmentation.pipeline import labels_pyramid
from ...core.segmentation.report import (
    NUCLEI_ONLY,
    is_nuclei_only,
    pixel_size_from_nuclei,
    size_lines,
)
from ...core.segmentation.slide_job import measure_nucleus_size, segment_slide, slide_array
from ...core.slide.model import Slide
from .._common import notify_errors, set_cell_table, show_info
from .._forms import ParamsForm
from .._jobs import JobRunner
from .._slide import current_slide, level0, slide_layers
from .._workspace import DvpDock
from .channels import ChannelPicker
from .method import MethodPanel
from .region import REGIONS, RegionPicker
from .size import NucleusSizePanel, WrappedLabel

__all__ = ["CELLS", "MODEL_KEY", "REGIONS", "SegmentWidget"]

CELLS = "cells"
MODEL_KEY = "cellpose_model"
"""Key of ``Slide.meta`` holding the cellpose model file chosen for the slide."""
NO_SLIDE = ("No slide open: <i>File › Open…</i> an image (fluorescence or H&amp;E), or "
            "<i>File › Open Sample › napari-dvp</i>.")
WARN = "color: #e8a33d;"


def _group(title: str, *parts: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(6, 4, 6, 4)
    for part in parts:
        lay.addWidget(part)
    return box


class SegmentWidget(DvpDock):
    """Find every cell of the current slide: built-in or cellpose, tiled, with progress."""

    STEP = "Segment"
    GUIDE = ("<b>2 Segment</b> — needs a slide; finds every cell (layer <i>cells</i>) and "
             "measures it. Next: <i>Review</i>.")

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self._watched: Slide | None = None
        self.slide_line = WrappedLabel()
        self.channels = ChannelPicker()
        self.method = MethodPanel(self._remember_model)
        self.size = NucleusSizePanel()
        self.region = RegionPicker()
        self.run_form = ParamsForm(SegmentParams, fields=("tile_size", "workers"))
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.run_btn, self.cancel_btn = QPushButton("Run"), QPushButton("Cancel")
        self.run_btn.setToolTip("Segment the slide; the cells appear as the layer 'cells' with "
                                "their measurements")
        self.cancel_btn.setToolTip("Stop after the tile being segmented; nothing is added")
        self.status = WrappedLabel(rich=False)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.run_btn)
        bar.addWidget(self.cancel_btn)
        lay = self.body
        lay.addWidget(self.slide_line)
        lay.addWidget(_group("Channels", self.channels))
        lay.addWidget(_group("Method", self.method, self.size))
        lay.addWidget(_group("Where and how", self.region, self.run_form.native))
        lay.addLayout(bar)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self.runner = JobRunner(self.progress, self.cancel_btn, self.status,
                                busy=[self.run_btn, self.size.measure_btn, self.size.use_btn,
                                      self.method.model.file_btn])
        self.run_btn.clicked.connect(self._on_run)
        self.size.measure_btn.clicked.connect(self._on_measure)
        self.size.use_btn.clicked.connect(self._on_use)
        self.method.changed.connect(self._method_changed)
        self.method.edited.connect(self._hints)
        self.channels.changed.connect(self._hints)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ the slide
    def refresh(self, *_) -> None:
        """Show the current slide: its name and pixel size, its channel choices."""
        slide = current_slide(self.viewer)
        if slide is not self._watched:
            self._watch(slide)
        if slide is None:
            self.slide_line.setText(NO_SLIDE)
            self.channels.show_slide(None, self.method.method)
        else:
            px = slide.pixel
            text = f"<b>{escape(slide.name)}</b> — {escape(px.describe(slide.name))}"
            self.slide_line.setText(text if px.measured else f'<span style="{WARN}">{text}</span>')
            self.channels.show_slide(slide, self.method.method)
        self._hints()

    def _watch(self, slide: Slide | None) -> None:
        if self._watched is not None:
            self._watched.changed.disconnect(self._slide_changed)
        self._watched = slide
        self.size.show_lines([], None)
        if slide is not None:
            slide.changed.connect(self._slide_changed)
            self.method.model.offer(slide.meta.get(MODEL_KEY))

    def _slide_changed(self, what: str) -> None:
        if what == "meta" and self._watched is not None:  # e.g. a project reopened
            self.method.model.offer(self._watched.meta.get(MODEL_KEY))
        if what in ("pixel_size", "channels", "meta"):
            self.refresh()

    def _remember_model(self, path: str) -> None:
        """Keep the chosen model file with the slide (saved in the project, offered again)."""
        slide = current_slide(self.viewer)
        if slide is not None:
            slide.meta[MODEL_KEY] = path
            slide.changed.emit("meta")

    def _require_slide(self) -> tuple[Slide, list]:
        slide = current_slide(self.viewer)
        layers = slide_layers(self.viewer)
        if slide is None or not layers:
            raise DvpInputError("no slide is open; open one with File › Open… (or the sample "
                                "from File › Open Sample)")
        return slide, layers

    # ------------------------------------------------------------------ choices
    def _method_changed(self, method: str) -> None:
        self.channels.show_slide(current_slide(self.viewer), method)
        self._hints()

    def _hints(self, *_) -> None:
        builtin = self.method.method == "builtin"
        nuclei_only = (builtin and self.channels.nuclei_only()
                       and self.method.expansion_automatic())
        self.method.set_note(f"<i>{escape(NUCLEI_ONLY)}.</i>" if nuclei_only else "")
        self.size.setVisible(builtin)

    def _run_params(self) -> SegmentParams:
        return self.run_form.params(method=self.method.method,
                                    nuclear_channel=self.channels.nuclear_choice(),
                                    cyto_channel=self.channels.cyto_choice())

    def _offer(self, estimate, slide: Slide) -> float | None:
        """The pixel size the nuclei suggest, if the slide has no measured one (else None)."""
        um = pixel_size_from_nuclei(estimate)
        return None if slide.pixel.measured or um == slide.estimated_um else um

    # ------------------------------------------------------------------ actions
    @notify_errors
    def _on_run(self) -> None:
        slide, layers = self._require_slide()
        run = self._run_params()
        params = self.method.params()
        box, polygon = self.region.region(self.viewer, layers[0])
        image = slide_array([level0(lay) for lay in layers], slide.is_rgb)
        pixel = slide.pixel
        self.runner.start(segment_slide, image, slide.is_rgb, slide.channels, run, params, pixel,
                          region=box, polygon=polygon, where=slide.name, what="Segmenting…",
                          done=lambda result: self._add_result(result, slide, layers[0], pixel))

    def _add_result(self, result, slide: Slide, image, pixel) -> None:
        levels = labels_pyramid(result.labels)
        meta = {"slide": slide.key, "pixel_size_um": pixel.um, "pixel_size_source": pixel.source,
                "segmentation": {"method": result.backend.name, "channels": list(result.channels),
                                 "model": getattr(result.backend.params, "model", None)}}
        layer = self.viewer.add_labels(
            levels if len(levels) > 1 else levels[0], name=CELLS, scale=image.scale[-2:],
            translate=image.translate[-2:], units=image.units[-2:],
            multiscale=len(levels) > 1, opacity=0.5, metadata=meta)
        set_cell_table(layer, result.table, step="segment")
        slide.set_cells(layer.name)
        nuclei = is_nuclei_only(result.backend, 1 if result.channels == ("RGB",)
                                else len(result.channels))
        what = f"{result.n_cells:,} {'nuclei' if nuclei else 'cells'}"
        self.status.setText(f"Found {what} (from {', '.join(result.channels)}) → layer "
                            f"'{layer.name}', measured at {pixel.um:g} µm per pixel.")
        lines = [line for line in result.lines if line != NUCLEI_ONLY]  # the note says it
        self.size.show_lines(lines, self._offer(result.backend.size_estimate, slide)
                             if result.backend.name == "builtin" else None)
        show_info(f"Segmented {what} into layer '{layer.name}'")

    @notify_errors
    def _on_measure(self) -> None:
        slide, layers = self._require_slide()
        image = slide_array([level0(lay) for lay in layers], slide.is_rgb)
        pixel = slide.pixel
        self.runner.start(measure_nucleus_size, image, slide.is_rgb, slide.channels,
                          self._run_params(), what="Measuring the nucleus size…",
                          done=lambda est: self.size.show_lines(
                              size_lines(est, pixel, slide.name), self._offer(est, slide)))

    @notify_errors
    def _on_use(self) -> None:
        slide, _layers = self._require_slide()
        um = self.size.offered
        if um is None:
            return
        slide.set_estimate(um)
        self.size.show_lines(self.size.lines, None)
        self.status.setText(f"The slide's pixel size is now {um:g} µm, estimated from its "
                            "nuclei; set the true value in the Slide dock when you know it.")
        show_info(f"pixel size {um:g} µm (estimated from the nuclei) recorded for {slide.name}")
