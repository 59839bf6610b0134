"""Slide dock: open a tissue image, see what it is, name its channels, own the pixel size.

The dock coordinates three parts: :class:`~.picker.SlidePicker` (open, choose
the slide), :class:`~.pixel.PixelSizeBox` (the only place the pixel size is
changed) and :class:`~.channels.ChannelTable` (names, colours, contrast). The
facts come from :class:`~napari_dvp.core.slide.model.Slide` and
:func:`~napari_dvp.core.slide.facts.slide_facts` — the same words
``napari-dvp info`` prints.
"""

from __future__ import annotations

from pathlib import Path

from napari.layers import Image
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel

from ...core.slide.facts import slide_facts
from ...core.slide.model import Slide
from .._common import ensure_consistent_units
from .._slide import current_slide, set_current_slide, slide_key, slide_layers, slides_of
from .._workspace import DvpDock
from .channels import COLORMAPS as COLORMAPS
from .channels import ChannelTable
from .picker import FILE_FILTER as FILE_FILTER
from .picker import SlidePicker
from .pixel import PixelSizeBox

NO_SLIDE = "Open a slide (button above, or drag a file onto napari)."


def facts_html(slide: Slide, layers: list) -> str:
    """What the slide is, in a few lines (HTML; pixel size and channels are shown apart)."""
    first = layers[0]
    levels = first.data if first.multiscale else [first.data]
    shapes = [d.shape[:2] if first.rgb else d.shape[-2:] for d in levels]
    facts = slide_facts(slide.name, slide.stain, slide.channels, shapes, levels[0].dtype,
                        slide.pixel)
    rows = [(k, v) for k, v in facts.rows() if k not in ("Pixel size", "Channels")]
    cells = "".join(f"<tr><td>{k}:&nbsp;</td><td>{v.replace('&', '&amp;')}</td></tr>"
                    for k, v in rows)
    return f"<b>{slide.name.replace('&', '&amp;')}</b><table>{cells}</table>"


class SlideWidget(DvpDock):
    """Open a slide; show its stain, size, pyramid and pixel size; name and colour channels."""

    STEP = "Slide"
    GUIDE = ("<b>1 Slide</b> — open the stained section, name its channels, check the pixel "
             "size. Next: <i>Segment</i>.")

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        ensure_consistent_units(self.viewer)  # cells, regions, overlays in the slide's µm
        self._watched: Slide | None = None
        self.picker = SlidePicker(self.viewer, self._show_slide)
        self.body.addWidget(self.picker)
        self.info = QLabel(NO_SLIDE)
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.body.addWidget(self.info)
        self.pixel = PixelSizeBox(self.viewer, self._show_slide)
        self.body.addWidget(self.pixel)
        self.channels = ChannelTable()
        self.body.addWidget(self.channels)
        self.body.addStretch(1)
        # short names for tests and the demo
        self.open_btn, self.slide_combo = self.picker.open_btn, self.picker.combo
        self.table = self.channels.table
        self.viewer.layers.events.inserted.connect(self._on_inserted)
        self.viewer.layers.events.removed.connect(self._refresh)
        self.viewer.layers.selection.events.active.connect(self._on_active)
        self._refresh()

    def open_path(self, path: str | Path) -> list:
        """Open ``path`` (as *Open slide…* does); return the new layers."""
        return self.picker.open_path(path)

    def _on_active(self, event) -> None:
        """Show the slide of the image layer the user clicked in the layer list."""
        layer = event.value
        if isinstance(layer, Image) and slide_key(layer) in slides_of(self.viewer):
            set_current_slide(self.viewer, slide_key(layer))
            self._refresh()

    def _on_inserted(self, event) -> None:
        """A slide opened any way (drag and drop, File › Open) becomes the current one."""
        layer = event.value
        known = {self.slide_combo.itemData(i) for i in range(self.slide_combo.count())}
        if isinstance(layer, Image) and slide_key(layer) not in known \
                and slide_key(layer) in slides_of(self.viewer):
            set_current_slide(self.viewer, slide_key(layer))
        self._refresh()

    def _refresh(self, *_) -> None:
        self.picker.refresh()
        self._show_slide()

    def _show_slide(self) -> None:
        slide = current_slide(self.viewer)
        self._watch(slide)
        layers = slide_layers(self.viewer)
        self.pixel.show_slide(slide)
        self.channels.show_layers(slide, layers)
        self.info.setText(facts_html(slide, layers) if slide is not None and layers
                          else NO_SLIDE)

    def _watch(self, slide: Slide | None) -> None:
        """Follow changes other docks make to the slide (e.g. the cells layer)."""
        if slide is self._watched:
            return
        if self._watched is not None:
            self._watched.changed.disconnect(self._on_slide_changed)
        self._watched = slide
        if slide is not None:
            slide.changed.connect(self._on_slide_changed)

    def _on_slide_changed(self, what: str) -> None:
        if what == "pixel_size":
            self.pixel.show_slide(self._watched)
            if self._watched is not None:
                self.info.setText(facts_html(self._watched, slide_layers(self.viewer)))
