"""Which channels to segment: the nuclear and cytoplasm choices core offers for the slide."""

from __future__ import annotations

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QComboBox, QFormLayout, QWidget

from ...core.segmentation.stains import RGB, channel_choices
from ...core.slide.model import Slide

LABELS = {"none": "none — nuclei only", "all": "all other channels",
          RGB: "RGB — the colour image as it is"}
"""How a choice reads in the drop-down (the others read as their channel name)."""


class ChannelPicker(QWidget):
    """Two drop-downs fed by :func:`~napari_dvp.core.segmentation.stains.channel_choices`.

    A brightfield colour slide offers hematoxylin / RGB / eosin (RGB only for
    cellpose), a fluorescence slide its channels plus *none* / *all*. The
    defaults follow the method; a choice made by hand is kept while it stays
    possible. ``changed`` is emitted after any change.
    """

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.nuclear, self.cyto = QComboBox(), QComboBox()
        self.nuclear.setToolTip("Where nuclei are bright: DAPI, Hoechst; for H&E the "
                                "hematoxylin stain")
        self.cyto.setToolTip("What shows the cell body (panCK, a membrane stain, CD45 …); "
                             "'none' segments nuclei only")
        form.addRow("Nuclear channel", self.nuclear)
        form.addRow("Cytoplasm channel", self.cyto)
        self._hand: dict[int, str] = {}
        self._key: str | None = None
        for combo in (self.nuclear, self.cyto):
            combo.activated.connect(lambda _i, c=combo: self._picked(c))
            combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.nuclear.currentIndexChanged.connect(lambda _i: self._follow_nuclear())

    def _picked(self, combo: QComboBox) -> None:
        self._hand[id(combo)] = combo.currentData()

    def show_slide(self, slide: Slide | None, method: str) -> None:
        """Offer the choices of ``slide`` (``None``: no slide) for ``method``."""
        key = None if slide is None else slide.key
        if key != self._key:  # another slide: choices made by hand no longer apply
            self._hand.clear()
            self._key = key
        if slide is None:
            for combo in (self.nuclear, self.cyto):
                combo.clear()
                combo.setEnabled(False)
            return
        choices = channel_choices(slide.channels, slide.is_rgb, method)
        blocked = {RGB} if slide.is_rgb and method != "cellpose" else set()
        self._fill(self.nuclear, choices.nuclear, choices.default_nuclear, choices.notes, blocked)
        self._fill(self.cyto, choices.cytoplasm, choices.default_cytoplasm, choices.notes, set())
        self._follow_nuclear()

    def _fill(self, combo: QComboBox, items, default: str, notes: dict, blocked: set) -> None:
        combo.blockSignals(True)
        combo.clear()
        for item in items:
            combo.addItem(LABELS.get(item, item), item)
            index = combo.count() - 1
            if item in notes:
                combo.setItemData(index, notes[item], Qt.ItemDataRole.ToolTipRole)
            if item in blocked:
                combo.model().item(index).setEnabled(False)
                combo.setItemData(index, "cellpose only: the built-in method segments the "
                                  "hematoxylin channel", Qt.ItemDataRole.ToolTipRole)
        hand = self._hand.get(id(combo))
        keep = hand if hand in items and hand not in blocked else default
        combo.setCurrentIndex(combo.findData(keep))
        combo.setEnabled(True)
        combo.blockSignals(False)
        self.changed.emit()

    def _follow_nuclear(self) -> None:
        """The RGB image goes to cellpose whole: no separate cytoplasm choice then."""
        whole = self.nuclear.currentData() == RGB
        self.cyto.setEnabled(not whole and self.cyto.count() > 0)

    def nuclear_choice(self) -> str | None:
        """The nuclear input (a channel name, ``hematoxylin``, ``RGB`` …; ``None``: no slide)."""
        return self.nuclear.currentData()

    def cyto_choice(self) -> str | None:
        """The cytoplasm input (``"none"``, ``"all"`` or a channel name)."""
        return self.cyto.currentData()

    def nuclei_only(self) -> bool:
        """Whether only the nuclear input is segmented (no cytoplasm channel)."""
        return self.nuclear_choice() != RGB and self.cyto_choice() in (None, "none")
