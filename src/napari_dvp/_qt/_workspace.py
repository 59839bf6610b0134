"""One workspace for every napari-dvp dock: the steps as tabs, in pipeline order.

Every dock is a :class:`DvpDock`: a one-line header says what the step needs
and what comes next, the content scrolls when the screen is short, and as soon
as the dock is shown in a napari window it joins the other napari-dvp docks as
one tab group ordered Slide → Segment → Review → Regions → Gating → Classifier
→ LMD → Proteins → Project — however it was opened (Plugins menu, demo,
project). Tab titles are short and never elided.
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, Qt, QTimer
from qtpy.QtWidgets import (
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QTabBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

__all__ = ["STEPS", "DvpDock"]

STEPS = ("Slide", "Segment", "Review", "Regions", "Gating", "Classifier", "LMD", "Proteins",
         "Project", "Study")
"""Tab titles in pipeline order; a dock's ``STEP`` is its title here."""

DOCK_WIDTH = 560
"""Width (px) the tab group gets when it appears (a third of a narrower window)."""


class DvpDock(QWidget):
    """Base of every napari-dvp dock: header, scrolling body, joins the tab group.

    Subclasses set ``STEP`` (one of :data:`STEPS`) and ``GUIDE`` (one line:
    what the step needs, what comes next) and put their controls into
    ``self.body`` (a :class:`QVBoxLayout`).
    """

    STEP: str = ""
    GUIDE: str = ""

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel(self.GUIDE)
        self.header.setWordWrap(True)
        self.header.setObjectName("dvpGuide")
        self.header.setStyleSheet("color: palette(mid); padding: 2px 4px;")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        outer.addWidget(self.header)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self.body = QVBoxLayout(inner)
        self.body.setContentsMargins(4, 0, 4, 4)
        scroll.setWidget(inner)
        outer.addWidget(scroll, 1)
        self._joined = False

    # ------------------------------------------------------------------ tab group
    def showEvent(self, event: QEvent) -> None:
        super().showEvent(event)
        if not self._joined:
            QTimer.singleShot(0, self._try_join)

    def _try_join(self, attempts: int = 20) -> None:
        """Join the tab group once the dock sits in its window (napari docks it after
        showing it when docks are opened in a quick loop: demo, project restore)."""
        if self._joined:
            return
        if self.join_workspace():
            self._joined = True
        elif attempts > 0:
            QTimer.singleShot(50, lambda: self._try_join(attempts - 1))

    def _dock(self) -> QDockWidget | None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QDockWidget):
            parent = parent.parentWidget()
        return parent

    def join_workspace(self) -> bool:
        """Tab this dock together with the other napari-dvp docks of its window.

        Returns False when the dock is not (yet) docked in a main window.
        """
        dock = self._dock()
        if dock is None or not isinstance(dock.parentWidget(), QMainWindow):
            return False
        window: QMainWindow = dock.parentWidget()
        dock.setWindowTitle(self.STEP)
        docks = [d for d in window.findChildren(QDockWidget)
                 if isinstance(d.widget(), QWidget) and _dvp_of(d) is not None
                 and not d.isFloating()]
        docks.sort(key=lambda d: STEPS.index(_dvp_of(d).STEP) if _dvp_of(d).STEP in STEPS
                   else len(STEPS))
        area = window.dockWidgetArea(docks[0]) if docks else Qt.DockWidgetArea.RightDockWidgetArea
        window.setTabPosition(area, QTabWidget.TabPosition.North)
        if len(docks) > 1:
            for other in docks[1:]:
                if window.dockWidgetArea(other) != area:
                    window.addDockWidget(area, other)
                window.tabifyDockWidget(docks[0], other)
            _readable_tabs(window)
        # wide enough for every tab title and the forms, never more than a third of the window
        width = min(max(DOCK_WIDTH, dock.width()), window.width() // 3)
        window.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        dock.raise_()
        _fit_screen(window)
        return True


def _fit_screen(window: QMainWindow) -> None:
    """Docks stacked for a moment (opened in a quick loop) may have grown the window past
    the screen; once they are tabbed, give the window back the screen's size."""
    screen = window.screen()
    if screen is None or window.isMaximized() or window.isFullScreen():
        return
    avail = screen.availableGeometry()
    frame = window.frameGeometry().size() - window.size()
    w = min(window.width(), avail.width() - frame.width())
    h = min(window.height(), avail.height() - frame.height())
    if (w, h) != (window.width(), window.height()):
        QTimer.singleShot(0, lambda: window.resize(w, h))


def _dvp_of(dock: QDockWidget) -> DvpDock | None:
    widget = dock.widget()
    if isinstance(widget, DvpDock):
        return widget
    return widget.findChild(DvpDock) if widget is not None else None


def _readable_tabs(window: QMainWindow) -> None:
    """Full tab titles (no "Sl…"), scroll arrows when the dock is narrow."""
    for bar in window.findChildren(QTabBar):
        if any(bar.tabText(i) in STEPS for i in range(bar.count())):
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)
            bar.setExpanding(False)
