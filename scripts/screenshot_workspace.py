"""The napari-dvp workspace with every dock open (docs/images/workspace_*.png).

The synthetic TEN biopsy is shown with its cells, classes and regions; every
napari-dvp dock is opened from the Plugins menu (they join one tab group in
pipeline order); the window is sized as a laptop (1366×768) or a desktop
(1920×1080) screen; ``FRONT`` is the tab shown. The script checks what a user
would notice — the window fits the screen, the canvas keeps most of the width,
every tab title is readable — prints the figures and fails when one is not met.

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_workspace.py \
        docs/images/workspace_1920x1080.png 1920x1080 [FRONT]
"""

from __future__ import annotations

import sys

from _sample_workspace import DOCKS as BASE_DOCKS
from _sample_workspace import open_sample
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QDockWidget, QTabBar

from napari_dvp._qt._workspace import STEPS

DOCKS = (*BASE_DOCKS, "Study")


def main(out: str, size: str = "1920x1080", front: str = "Slide", tissue: int = 768) -> None:
    width, height = (int(v) for v in size.split("x"))
    viewer, _s, _cells, docks = open_sample(tissue, docks=DOCKS)
    window = viewer.window._qt_window
    window.showNormal()
    window.resize(width, height)
    QTest.qWait(2000)  # the docks join their tab group
    holder = docks[front].parentWidget()
    while not isinstance(holder, QDockWidget):
        holder = holder.parentWidget()
    holder.raise_()
    QTest.qWait(300)
    viewer.reset_view()
    QTest.qWait(300)
    window.grab().save(out)

    canvas = viewer.window._qt_viewer.canvas.native
    bars = [b for b in window.findChildren(QTabBar)
            if any(b.tabText(i) in STEPS for i in range(b.count()))]
    titles = [b.tabText(i) for b in bars for i in range(b.count())]
    cut = [t for b in bars for i, t in enumerate(b.tabText(j) for j in range(b.count()))
           if b.tabRect(i).width() < b.fontMetrics().horizontalAdvance(t)]
    fits = window.frameGeometry().height() <= height and window.frameGeometry().width() <= width
    share = canvas.width() / window.width()
    print(f"wrote {out}: window {window.width()}x{window.height()} (fits {size}: {fits}), "
          f"canvas {canvas.width()}x{canvas.height()} ({share:.0%} of the width), "
          f"{len(bars)} tab group(s): {titles}, titles cut: {cut or 'none'}")
    viewer.close()
    ok = fits and len(bars) == 1 and len(titles) == len(DOCKS) and not cut and share > 0.4
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(*sys.argv[1:])
