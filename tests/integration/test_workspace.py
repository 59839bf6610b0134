"""Every napari-dvp dock opened in a quick loop (as the demo or a project restore does):
one tab group in pipeline order, full titles, and a window that still fits the screen."""

from __future__ import annotations

import pytest
from qtpy.QtWidgets import QApplication, QTabBar

from napari_dvp._qt._workspace import STEPS

pytestmark = [pytest.mark.gui]

DOCKS = ["Project", "Slide", "Segment cells", "Review segmentation", "Regions", "Gating",
         "Cell classifier", "LMD export", "Proteins on tissue", "Study"]


def test_docks_opened_in_a_loop_form_one_tab_group_that_fits_the_screen(make_napari_viewer,
                                                                        qtbot):
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    screen = window.screen().availableGeometry()
    for name in DOCKS:  # out of order on purpose: the tabs still follow the pipeline
        viewer.window.add_plugin_dock_widget("napari-dvp", name)

    def bars():
        return [b for b in window.findChildren(QTabBar)
                if any(b.tabText(i) in STEPS for i in range(b.count()))]

    qtbot.waitUntil(lambda: len(bars()) == 1 and bars()[0].count() == len(DOCKS),
                    timeout=10_000)
    [bar] = bars()
    assert [bar.tabText(i) for i in range(bar.count())] == list(STEPS[:len(DOCKS)])
    for i in range(bar.count()):  # full titles, never "Sl…"
        assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(bar.tabText(i))
    QApplication.processEvents()
    qtbot.waitUntil(lambda: window.frameGeometry().height() <= screen.height() + 1,
                    timeout=5000)
    assert window.frameGeometry().width() <= screen.width() + 1
