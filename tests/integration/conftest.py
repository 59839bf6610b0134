"""GUI test helpers: click as a user does, answer dialogs, fail on any error notification.

* ``clicker(widget)`` — enumerates every button of a dock, clicks with
  ``qtbot.mouseClick`` and, at the end of the test, fails if a button of the
  dock was never clicked (so a new button without a click test fails).
* ``dialogs`` — answers file dialogs, message boxes and input dialogs from a
  queue the test fills (``dialogs.open(path)``, ``dialogs.save(path)``,
  ``dialogs.folder(path)``, ``dialogs.yes()``, ``dialogs.text("x")``); an
  unexpected dialog fails the test.
* ``errors`` — every napari error notification raised during the test; the
  ``clicker`` asserts there is none after each click.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QRadioButton,
)

SKIP_CLASSES = ("QTableCornerButton",)
"""Qt's own helper buttons (the table corner) are not napari-dvp controls."""


@pytest.fixture
def errors():
    """Collect napari error notifications (warnings go to ``errors.warnings``)."""
    from napari.utils.notifications import NotificationSeverity, notification_manager

    class Errors(list):
        warnings: list

    found = Errors()
    found.warnings = []

    def record(event) -> None:
        note = event.value if hasattr(event, "value") else event
        severity = getattr(note, "severity", None)
        if severity == NotificationSeverity.ERROR:
            found.append(str(note.message))
        elif severity == NotificationSeverity.WARNING:
            found.warnings.append(str(note.message))

    notification_manager.notification_ready.connect(record)
    yield found
    notification_manager.notification_ready.disconnect(record)


class Dialogs:
    """Answers for the dialogs a click opens, in order (see the module docstring)."""

    def __init__(self) -> None:
        self.answers: deque = deque()
        self.asked: list[str] = []

    def open(self, *paths: str | Path) -> Dialogs:
        """Answer the next open-file dialog with ``paths`` (several for a multi-open)."""
        self.answers.append(("open", [str(p) for p in paths]))
        return self

    def save(self, path: str | Path) -> Dialogs:
        """Answer the next save-file dialog with ``path``."""
        self.answers.append(("save", str(path)))
        return self

    def folder(self, path: str | Path) -> Dialogs:
        """Answer the next choose-folder dialog with ``path``."""
        self.answers.append(("folder", str(path)))
        return self

    def cancel(self) -> Dialogs:
        """Cancel the next file dialog."""
        self.answers.append(("cancel", None))
        return self

    def yes(self) -> Dialogs:
        """Answer the next question with Yes (or OK)."""
        self.answers.append(("button", "yes"))
        return self

    def no(self) -> Dialogs:
        """Answer the next question with No."""
        self.answers.append(("button", "no"))
        return self

    def text(self, value: str) -> Dialogs:
        """Answer the next text/item input dialog with ``value``."""
        self.answers.append(("text", value))
        return self

    def _next(self, kind: str, title: str) -> Any:
        self.asked.append(f"{kind}: {title}")
        if not self.answers:
            pytest.fail(f"unexpected dialog ({kind}): {title!r}")
        got, value = self.answers.popleft()
        if got == "cancel" and kind in ("open", "save", "folder"):
            return None
        if got != kind:
            pytest.fail(f"dialog {title!r} is a {kind} dialog, but the test answered {got}")
        return value

    def done(self) -> None:
        """Fail if answers were left unused (a dialog the test expected did not open)."""
        if self.answers:
            pytest.fail(f"expected dialogs did not open: {list(self.answers)}")


@pytest.fixture
def dialogs(monkeypatch):
    """Patch QFileDialog / QMessageBox / QInputDialog static methods (see :class:`Dialogs`)."""
    d = Dialogs()

    def _open(parent=None, caption="", *a, **k):
        paths = d._next("open", caption)
        return (paths[0] if paths else "", "")

    def _open_many(parent=None, caption="", *a, **k):
        paths = d._next("open", caption)
        return (paths or [], "")

    def _save(parent=None, caption="", *a, **k):
        return (d._next("save", caption) or "", "")

    def _folder(parent=None, caption="", *a, **k):
        return d._next("folder", caption) or ""

    def _button(kind):
        def answer(parent=None, title="", text="", *a, **k):
            got = d._next("button", f"{kind}: {title}: {text}")
            if kind in ("information", "warning", "critical"):
                return QMessageBox.StandardButton.Ok
            return (QMessageBox.StandardButton.Yes if got == "yes"
                    else QMessageBox.StandardButton.No)
        return answer

    def _text(parent=None, title="", label="", *a, **k):
        return (d._next("text", f"{title}: {label}"), True)

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(_open))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(_open_many))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(_save))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(_folder))
    for kind in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(_button(kind)))
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(_text))
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(_text))
    yield d


class Clicker:
    """Clicks the buttons of one dock as a user does; remembers which were clicked."""

    def __init__(self, qtbot, widget, errors: list, wait_ms: int = 20) -> None:
        self.qtbot, self.widget, self.errors, self.wait_ms = qtbot, widget, errors, wait_ms
        self.clicked: set[int] = set()
        self.exempt: dict[int, str] = {}

    def buttons(self) -> list[QAbstractButton]:
        """Every napari-dvp button of the dock (push, tool, check, radio)."""
        return [b for b in self.widget.findChildren(QAbstractButton)
                if type(b).__name__ not in SKIP_CLASSES
                and b.metaObject().className() not in SKIP_CLASSES]

    def find(self, text: str) -> QAbstractButton:
        """The button whose text (or tooltip, for icon buttons) starts with ``text``."""
        hits = [b for b in self.buttons() if b.text().replace("&", "").startswith(text)]
        if not hits:
            hits = [b for b in self.buttons() if b.toolTip().startswith(text)]
        if len(hits) != 1:
            names = [b.text() or b.toolTip() for b in self.buttons()]
            pytest.fail(f"{len(hits)} buttons match {text!r}; buttons: {names}")
        return hits[0]

    def click(self, button: QAbstractButton | str, wait_until=None, timeout: int = 60_000,
              allow_error: str | None = None) -> QAbstractButton:
        """Click ``button`` (or the one whose text starts so) with the mouse.

        Fails if the button is hidden or disabled, or if an error notification
        appears (unless it contains ``allow_error``). ``wait_until`` (a callable
        returning true) is waited for, e.g. for a background job.
        """
        btn = self.find(button) if isinstance(button, str) else button
        assert btn.isVisibleTo(self.widget), f"button {btn.text()!r} is hidden"
        assert btn.isEnabled(), f"button {btn.text()!r} is disabled"
        before = len(self.errors)
        pos = (QPoint(8, btn.height() // 2) if isinstance(btn, (QCheckBox, QRadioButton))
               else btn.rect().center())
        self.qtbot.mouseClick(btn, Qt.MouseButton.LeftButton, pos=pos)
        self.clicked.add(id(btn))
        if wait_until is not None:
            self.qtbot.waitUntil(wait_until, timeout=timeout)
        self.qtbot.wait(self.wait_ms)
        QApplication.processEvents()
        new = self.errors[before:]
        if allow_error is not None:
            new = [e for e in new if allow_error not in e]
        assert not new, f"clicking {btn.text()!r} gave error(s): {new}"
        return btn

    def exempt_button(self, button: QAbstractButton | str, reason: str) -> None:
        """Leave one button out of :meth:`assert_all_clicked`, saying why."""
        btn = self.find(button) if isinstance(button, str) else button
        self.exempt[id(btn)] = reason

    def unclicked(self) -> list[str]:
        """Texts of the dock's buttons that were never clicked."""
        return [b.text() or b.toolTip() or type(b).__name__ for b in self.buttons()
                if id(b) not in self.clicked and id(b) not in self.exempt]

    def assert_all_clicked(self) -> None:
        """Fail when a button of the dock was never clicked by the test."""
        left = self.unclicked()
        assert not left, f"{type(self.widget).__name__}: buttons never clicked: {left}"


@pytest.fixture
def clicker(qtbot, errors):
    """``clicker(widget)`` -> :class:`Clicker`; checks at teardown that every button was clicked."""
    made: list[Clicker] = []

    def make(widget, check_all: bool = True) -> Clicker:
        c = Clicker(qtbot, widget, errors)
        if check_all:
            made.append(c)
        return c

    yield make
    for c in made:
        c.assert_all_clicked()
