"""The slot decorator every dock uses, clicked as a user clicks it.

Qt's ``clicked`` sends ``checked``; a decorated slot that takes only ``self`` (most
dock buttons: Save as…, Make plan, Run, Export…, From QuPath GeoJSON…) must still
run, and an error must become one notification, not a TypeError. Every dock's own
buttons are clicked in its ``test_click_<dock>.py`` (``clicker`` fails on a button
never clicked); this pins the shared mechanism directly.
"""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QPushButton, QVBoxLayout, QWidget

from napari_dvp._qt._common import notify_errors
from napari_dvp.core.errors import DvpInputError

pytestmark = pytest.mark.gui


class _Dock(QWidget):
    def __init__(self):
        super().__init__()
        self.calls: list = []
        lay = QVBoxLayout(self)
        self.plain, self.checked, self.failing = (QPushButton(t) for t in ("a", "b", "c"))
        self.checked.setCheckable(True)
        for b in (self.plain, self.checked, self.failing):
            lay.addWidget(b)
        self.plain.clicked.connect(self.only_self)
        self.checked.clicked.connect(self.with_checked)
        self.failing.clicked.connect(self.refuses)

    @notify_errors
    def only_self(self):
        self.calls.append("only_self")

    @notify_errors
    def with_checked(self, checked):
        self.calls.append(("with_checked", checked))

    @notify_errors
    def refuses(self):
        raise DvpInputError("open a slide first")


def test_decorated_slots_survive_a_real_click(qtbot, monkeypatch):
    import napari_dvp._qt._common as common

    shown: list[str] = []
    monkeypatch.setattr(common, "show_error", shown.append)
    dock = _Dock()
    qtbot.addWidget(dock)
    dock.show()
    for button in (dock.plain, dock.checked, dock.failing):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert dock.calls == ["only_self", ("with_checked", True)]
    assert shown == ["open a slide first"]  # one line, no TypeError about 'checked'
