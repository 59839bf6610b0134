"""The segmentation method and its parameters, as forms built from the core's dataclasses."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QFormLayout, QVBoxLayout, QWidget

from ...core.params import param_fields
from ...core.segmentation.params import BuiltinParams, CellposeParams, SegmentParams
from .._forms import ParamsForm
from .model_picker import ModelPicker
from .size import WrappedLabel

TITLES = {"builtin": "Built-in (no download)", "cellpose": "cellpose (AI model)"}
"""How each method reads in the drop-down."""


def _method_param():
    return next((f, info) for f, info in param_fields(SegmentParams) if f.name == "method")


class MethodPanel(QWidget):
    """Method drop-down, the chosen method's form and, for cellpose, the model picker.

    ``changed(method)`` is emitted when the method changes; ``edited`` when a
    parameter does.
    """

    changed = Signal(str)
    edited = Signal()

    def __init__(self, remember_model: Callable[[str], None]) -> None:
        super().__init__()
        field, info = _method_param()
        self.combo = QComboBox()
        for name in info.choices:
            self.combo.addItem(TITLES.get(name, name), name)
        self.combo.setCurrentIndex(self.combo.findData(field.default))
        self.combo.setToolTip(info.help)
        top = QFormLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addRow(info.label, self.combo)
        self.builtin = ParamsForm(BuiltinParams)
        self.cellpose = ParamsForm(CellposeParams)
        self.model = ModelPicker(remember_model)
        self.note = WrappedLabel()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        for part in (self.model, self.builtin.native, self.cellpose.native, self.note):
            lay.addWidget(part)
        self.combo.currentIndexChanged.connect(self._method_changed)
        self.builtin.changed.connect(lambda *_: self.edited.emit())
        self.cellpose.changed.connect(lambda *_: self.edited.emit())
        self._method_changed()

    @property
    def method(self) -> str:
        """``"builtin"`` or ``"cellpose"``."""
        return str(self.combo.currentData())

    def _method_changed(self, *_) -> None:
        cellpose = self.method == "cellpose"
        self.builtin.native.setVisible(not cellpose)
        self.cellpose.native.setVisible(cellpose)
        self.model.setVisible(cellpose)
        if cellpose:
            self.model.explain()
        self.changed.emit(self.method)

    def params(self) -> BuiltinParams | CellposeParams:
        """The chosen method's parameters (the pixel size is the slide's, set by the job)."""
        if self.method == "cellpose":
            return self.cellpose.params(model=self.model.model())
        return self.builtin.params()

    def expansion_automatic(self) -> bool:
        """Whether the built-in cell expansion is left automatic."""
        return self.method == "builtin" and self.builtin.values()["max_expansion_um"] is None

    def set_note(self, text: str) -> None:
        """A hint under the form (e.g. nuclei only); empty hides it."""
        self.note.setText(text)
        self.note.setVisible(bool(text))
