"""Screenshot of the LMD dock on the Zeiss PALM path (docs/images/lmd_dock_palm.png).

Every napari-dvp dock is opened from the Plugins menu (they form one tab
group) and the LMD tab is shown. The synthetic TEN biopsy is shown with its
classified cells; CD8 T cells and macrophages of the dermis and keratinocytes
of the epidermis are planned with *Make plan*. The three calibration marks
come from the pathologist's QuPath project: points ``calib1``-``calib3``
read with the dock's *From QuPath GeoJSON…* (the file dialog is answered by
the script). *Format* is set to palm and the *Stage positions* table holds
X, Y of marks 1-3 in µm as PALMRobo shows them (a stage rotated 90° against
the image). The export's own checks of marks and stage positions are run
(nothing is written); the dock is scrolled to its calibration and export
sections.

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshot_lmd_palm.py \
        docs/images/lmd_dock_palm.png 1920x1080
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from _sample_workspace import open_sample
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QDockWidget, QScrollArea

from napari_dvp._qt.lmd import calibration as calibration_module

GROUPS = [("keratinocyte", "epidermis"), ("CD8 T cell", "dermis"), ("macrophage", "dermis")]


def _qupath_marks(path: Path, marks_rc: np.ndarray) -> Path:
    """A QuPath GeoJSON export with the point annotations calib1, calib2, calib3."""
    feats = [{"type": "Feature", "id": f"mark-{k}",
              "geometry": {"type": "Point", "coordinates": [float(c), float(r)]},
              "properties": {"objectType": "annotation", "name": f"calib{k}"}}
             for k, (r, c) in enumerate(marks_rc, start=1)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def _stage_um(marks_rc: np.ndarray, px: float) -> np.ndarray:
    """X, Y of the marks on a PALM stage rotated 90° against the image, 0.1 µm as shown."""
    x = 52_310.5 + marks_rc[:, 0] * px
    y = -18_220.0 - marks_rc[:, 1] * px
    return np.round(np.stack([x, y], axis=1), 1)


def main(out: str, size: str = "1920x1080", tissue: int = 768) -> None:
    width, height = (int(v) for v in size.split("x"))
    viewer, s, _cells, docks = open_sample(tissue, classified=True)
    px = s.pixel_size_um
    dock = docks["LMD export"]
    window = viewer.window._qt_window
    window.showNormal()
    window.resize(width, height)
    QTest.qWait(1500)  # the docks join their tab group

    # 1-2: the groups to collect, Make plan (the preview colours the cells by well)
    dock.cells.groups.select(GROUPS)
    dock.plan.plan_btn.click()
    # 4: the marks from QuPath, near three corners of the tissue
    n = s.labels.shape[0]
    marks = np.array([[20.0, 20.0], [20.0, n - 21.0], [n - 21.0, n / 2]])
    with tempfile.TemporaryDirectory() as tmp:
        path = _qupath_marks(Path(tmp) / "TEN_biopsy_marks.geojson", marks)
        dialog = calibration_module.QFileDialog
        original = dialog.getOpenFileName
        dialog.getOpenFileName = staticmethod(lambda *a, **k: (str(path), ""))
        try:
            dock.calibration.qupath_btn.click()
        finally:
            dialog.getOpenFileName = original
    # 5: Zeiss PALM, and the stage positions of marks 1-3 typed from PALMRobo
    dock.export.form.fmt.value = "palm"
    dock.calibration.set_stage(_stage_um(dock.calibration.marks(), px))
    QTest.qWait(300)
    args = dock._prepare()  # the export's checks: 3 marks, stage positions that fit
    cal = args["calibration"]

    holder = dock.parentWidget()
    while not isinstance(holder, QDockWidget):
        holder = holder.parentWidget()
    holder.raise_()
    viewer.layers.selection.active = viewer.layers["calibration"]
    QTest.qWait(300)
    viewer.reset_view()
    scroll = dock.findChild(QScrollArea)
    scroll.ensureWidgetVisible(dock.export.progress, 0, 10)
    QTest.qWait(500)
    window.grab().save(out)

    # what a user would notice: the marks' section and the whole stage table are on screen
    stage = dock.calibration.stage
    rows = sum(stage.rowHeight(r) for r in range(3))
    need = stage.horizontalHeader().height() + rows + 2 * stage.frameWidth()
    port = scroll.viewport()
    top = dock.calibration.qupath_btn.mapTo(port, dock.calibration.qupath_btn.rect().topLeft())
    shown = 0 <= top.y() and dock.export.export_btn.mapTo(port, dock.export.export_btn.rect()
                                                           .bottomLeft()).y() <= port.height()
    print(f"wrote {out}: {len(dock.table.plan())} samples, marks {cal.marks_rc.tolist()}, "
          f"stage {dock.calibration.stage_um().tolist()}; {dock.calibration.status.text()} "
          f"stage table {stage.height()} px high, its 3 rows need {need} px; "
          f"marks to Export… on screen: {shown}")
    viewer.close()
    sys.exit(0 if shown and stage.height() >= need else 1)


if __name__ == "__main__":
    main(*sys.argv[1:])
