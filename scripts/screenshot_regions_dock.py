"""Screenshot of the Regions dock in the napari-dvp workspace (docs/images/regions_dock*.png).

Every napari-dvp dock is opened from the Plugins menu (they form one tab
group), the synthetic TEN biopsy is shown with its cells, the pathologist's
QuPath regions (epidermis, dermis) are imported with the dock's *Import
GeoJSON…* and the blister is drawn by hand with the mouse on the canvas.

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_regions_dock.py \
        docs/images/regions_dock.png 1920x1080
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import shapely
from _sample_workspace import open_sample
from qtpy.QtCore import QEvent, QPoint, QPointF, Qt
from qtpy.QtGui import QMouseEvent
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication, QDockWidget

from napari_dvp.core.synthetic import regions_geojson


def _mouse(widget, kind, pos: QPoint, button=Qt.MouseButton.LeftButton) -> None:
    held = Qt.MouseButton.NoButton if kind in (QEvent.Type.MouseMove,
                                               QEvent.Type.MouseButtonRelease) else button
    QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(pos),
                                               QPointF(widget.mapToGlobal(pos)), button, held,
                                               Qt.KeyboardModifier.NoModifier))


def _draw(viewer, world_rc) -> None:
    canvas = viewer.window._qt_viewer.canvas
    QTest.qWait(500)  # the tab group settles its size first
    for r, c in world_rc:
        tr = canvas.view.transform * canvas.view.scene.transform
        x, y = tr.map([c, r])[:2]
        pos = QPoint(round(x), round(y))
        _mouse(canvas.native, QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton)
        QTest.qWait(20)
        _mouse(canvas.native, QEvent.Type.MouseButtonPress, pos)
        _mouse(canvas.native, QEvent.Type.MouseButtonRelease, pos)
        QTest.qWait(20)
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick,
                 QEvent.Type.MouseButtonRelease):
        _mouse(canvas.native, kind, pos)
    QTest.qWait(800)


def main(out: str, size: str = "1920x1080", tissue: int = 768) -> None:
    width, height = (int(v) for v in size.split("x"))
    viewer, s, _cells, docks = open_sample(tissue)
    px = s.pixel_size_um
    dock = docks["Regions"]
    window = viewer.window._qt_window
    window.resize(width, height)
    QTest.qWait(300)
    viewer.reset_view()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qupath_regions.geojson"
        regions = {k: g for k, g in s.regions.items() if k != "blister"}
        path.write_text(json.dumps(regions_geojson(regions)))
        dock.import_geojson(str(path))
    names = dock.classes.list.names()
    dock.classes.list.setCurrentCell(names.index("blister"), 0)
    dock.draw.draw_btn.click()
    ny, nx = s.labels.shape
    blister = shapely.simplify(s.regions["blister"], 2).intersection(
        shapely.box(2, 2, nx - 3, ny - 3))
    ring = max(shapely.get_parts(blister), key=lambda g: g.area).exterior.coords
    step = max(1, len(ring) // 40)
    _draw(viewer, [(y * px, x * px) for x, y in list(ring)[:-1:step]])
    viewer.layers["regions"].mode = "pan_zoom"
    holder = dock.parentWidget()
    while not isinstance(holder, QDockWidget):
        holder = holder.parentWidget()
    holder.raise_()
    window.showNormal()
    window.resize(width, height)
    QTest.qWait(400)
    viewer.reset_view()
    QTest.qWait(300)
    window.grab().save(out)
    print(f"wrote {out}: {dock.counts.rows()}")
    viewer.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
