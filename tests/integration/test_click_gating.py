"""Gating dock, clicked as a pathologist does: every button, the histogram, dialogs answered.

One viewer with a measured synthetic biopsy (core functions, 384 px); the dock is
opened from the plugin menu entry. Each click is checked for what it should
change: thresholds, rules, the class overlay's colours, the classes in the cell
table, the saved rules file, and the question before replacing the classifier's
classes (answered No, then Yes).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import QPoint, Qt

from napari_dvp._qt._common import cell_table_of, set_cell_table, update_cells
from napari_dvp._qt._session import session_of
from napari_dvp._qt._slide import role_of
from napari_dvp.core.cells.table import provenance
from napari_dvp.core.classes.gating import apply_gating, default_thresholds

from ._cells_sample import measured_sample, open_in_viewer

pytestmark = [pytest.mark.gui]


@pytest.fixture
def gating(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    sample = measured_sample()
    cells = open_in_viewer(viewer, sample)
    _, dock = viewer.window.add_plugin_dock_widget("napari-dvp", "Gating")
    qtbot.waitUntil(lambda: "cell classes" in viewer.layers, timeout=5000)
    return viewer, dock, cells, sample


def _canvas_point(hist, x: float) -> QPoint:
    """Where value ``x`` of the histogram's axis is on the canvas widget (Qt coordinates)."""
    px, py = hist.ax.transData.transform((x, 1.0))
    dpr = hist.canvas.device_pixel_ratio
    return QPoint(int(px / dpr), int((hist.figure.bbox.height - py) / dpr))


def _overlay_rgb(viewer, code: int) -> np.ndarray:
    lay = viewer.layers["cell classes"]
    k = lay.contrast_limits[1]
    return lay.colormap.map(np.array([code / k]))[0, :3]


@pytest.mark.slow
def test_every_button_of_the_gating_dock(gating, qtbot, clicker, dialogs, tmp_path):
    viewer, dock, cells, sample = gating
    click = clicker(dock)
    # the dock says which cells it classifies: the measured layer, not the hidden ground truth
    assert "<b>cells</b>" in dock.cells.label.text()
    assert f"{len(sample.table):,} measured cells, 5 markers" in dock.cells.label.text()

    # default rules for the measured markers; the overlay is an overlay, coloured per class
    rules = dock.scheme().rules
    assert [r.name for r in rules] == ["keratinocyte", "CD8 T cell", "macrophage"]
    overlay = viewer.layers["cell classes"]
    assert role_of(overlay) == "overlay" and overlay.data.dtype == np.uint8
    assert viewer.layers.selection.active is cells, "the overlay did not steal the selection"
    ker = int(sample.truth.index[sample.truth == "keratinocyte"][0])
    assert overlay.data[sample.labels == ker].tolist().count(1) > 0
    assert np.allclose(_overlay_rgb(viewer, 1), np.array(rules[0].color) / 255, atol=0.01)
    assert any(t.startswith("keratinocyte (") for t in dock.legend.texts())

    # Auto (Otsu) puts back the threshold after a drag on the histogram moved it
    hist = dock.histogram
    hist.marker.setCurrentText("panCK")
    otsu = default_thresholds(sample.table, ["panCK"])["panCK"]
    assert hist.thresholds["panCK"] == pytest.approx(otsu)
    low = float(sample.table["mean_panCK"].min()) + 1.0
    qtbot.mousePress(hist.canvas, Qt.MouseButton.LeftButton, pos=_canvas_point(hist, otsu))
    qtbot.mouseMove(hist.canvas, _canvas_point(hist, low))
    qtbot.mouseRelease(hist.canvas, Qt.MouseButton.LeftButton, pos=_canvas_point(hist, low))
    assert hist.thresholds["panCK"] == pytest.approx(low, rel=0.1)
    assert hist.spin.value() == pytest.approx(hist.thresholds["panCK"], abs=0.1)
    # now (nearly) every cell is panCK+: keratinocyte everywhere on the live preview
    qtbot.waitUntil(lambda: (overlay.data[sample.labels > 0] == 1).mean() > 0.95, timeout=3000)
    click.click("Auto (Otsu)")
    assert hist.thresholds["panCK"] == pytest.approx(otsu)
    assert hist.line.get_xdata()[0] == pytest.approx(otsu)

    # Add class: a new row to fill in; Remove class removes the selected row
    click.click("Add class")
    table = dock.rules.table
    assert table.rowCount() == 4
    table.item(3, 0).setText("interferon-high")
    table.item(3, 1).setText("pSTAT1+ and panCK-")
    assert dock.scheme().rules[-1].expr == "pSTAT1+ and panCK-"
    table.setCurrentCell(3, 1)
    click.click("Remove class")
    assert table.rowCount() == 3

    # Live preview off: a threshold change leaves the image alone; on again: recoloured
    click.click("Live preview")
    assert not dock.live.isChecked()
    before = overlay.data.copy()
    hist.marker.setCurrentText("CD8")
    hist.spin.setValue(1e9)  # nobody CD8+
    qtbot.wait(150)
    assert np.array_equal(overlay.data, before)
    click.click("Live preview")
    qtbot.waitUntil(lambda: not (overlay.data == 2).any(), timeout=3000)
    click.click("Auto (Otsu)")
    qtbot.waitUntil(lambda: (overlay.data == 2).any(), timeout=3000)

    # Apply to cells: the class column, merged into the table (earlier columns kept)
    click.click("Apply to cells")
    got = cell_table_of(cells)
    assert {"touches_border", "mean_CD163"} <= set(got.columns)
    assert provenance(got)["class"] == "gating"
    acc = {c: (got["class"].to_numpy()[(sample.truth == c).to_numpy()] == c).mean()
           for c in ("keratinocyte", "CD8 T cell", "macrophage")}
    assert min(acc.values()) > 0.6 and acc["keratinocyte"] > 0.95, acc
    assert session_of(viewer).get("classes")["gating"]["rules"][0]["rule"] == "panCK+"

    # Save rules… then change them; Load rules… brings rules and thresholds back
    hist.marker.setCurrentText("CD8")
    hist.spin.setValue(123.0)
    dialogs.save(tmp_path / "gating.json")
    click.click("Save rules…")
    saved = json.loads((tmp_path / "gating.json").read_text())
    assert saved["thresholds"]["CD8"] == 123.0 and len(saved["rules"]) == 3
    dock.rules.set_rules([("T cell", "CD8+")])
    hist.spin.setValue(5.0)
    dialogs.open(tmp_path / "gating.json")
    click.click("Load rules…")
    assert [r.name for r in dock.scheme().rules] == ["keratinocyte", "CD8 T cell", "macrophage"]
    assert hist.thresholds["CD8"] == 123.0 and hist.spin.value() == 123.0
    (tmp_path / "rules.txt").write_text("CD8 T cell: CD8+\nother: panCK- and CD8-\n")
    dialogs.open(tmp_path / "rules.txt")
    click.click("Load rules…")
    assert [r.name for r in dock.scheme().rules] == ["CD8 T cell", "other"]
    assert hist.thresholds["CD8"] == 123.0, "a rules text file leaves the thresholds alone"
    dialogs.open(tmp_path / "gating.json")
    click.click("Load rules…")

    # classes the classifier wrote: Apply asks before replacing them — No keeps them, Yes not
    ids = cell_table_of(cells)["cell_id"]
    update_cells(cells, pd.DataFrame({"cell_id": ids, "class": "macrophage"}),
                 step="classifier", replace_classes=True)
    dialogs.no()
    click.click("Apply to cells")
    assert (cell_table_of(cells)["class"] == "macrophage").all()
    assert "Nothing written" in dock.status.text()
    dialogs.yes()
    click.click("Apply to cells")
    got = cell_table_of(cells)
    assert provenance(got)["class"] == "gating"
    assert got["class"].tolist() == apply_gating(got, dock.scheme()).tolist()
    assert any("Replace classes?" in q for q in dialogs.asked)

    # Load cells: a remeasured table (here: one cell left out) is read again
    fewer = sample.table.iloc[1:].copy()
    set_cell_table(cells, fewer, step="measure")
    click.click("Load cells")
    assert f"{len(fewer):,} measured cells" in dock.cells.label.text()
    assert len(dock.histogram.table) == len(fewer)
    dialogs.done()


def test_median_statistic_and_rule_problems(gating, qtbot, clicker):
    """The intensity choice redraws the markers; a broken rule shows in the dock, not a toast."""
    _, dock, _, sample = gating
    click = clicker(dock, check_all=False)
    combo = dock.form.statistic.native
    combo.setCurrentText("median")
    assert dock.scheme().statistic == "median"
    assert dock.histogram.ax.get_xlabel().startswith("median")
    m = dock.histogram.marker.currentText()
    assert dock.histogram.thresholds[m] == pytest.approx(
        default_thresholds(sample.table, [m], "median")[m])
    dock.rules.table.item(0, 1).setText("CD4+")
    qtbot.waitUntil(lambda: "unknown marker 'CD4'" in dock.status.text(), timeout=3000)
    click.click("Apply to cells", allow_error="unknown marker 'CD4'")
