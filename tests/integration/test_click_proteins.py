"""Proteins dock, clicked as an analyst does: every button, the match table typed in, dialogs
answered.

One viewer with a grid of small cells (240 x 320 px) and an LMD manifest of 24 samples; the
MS results are a DIA-NN pg_matrix written by the core's synthetic generator, with one run
renamed so that it matches no sample (assigned by typing in the match table) and a blank
run. Each click is checked for what it should change: what was read, the matches, the
painted values per cell, the statistics (equal to the core functions), the saved files,
the question before overwriting them, and the reset of the progress bar after an error and
after Cancel.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QToolButton

from napari_dvp._qt._session import session_of
from napari_dvp._qt._slide import role_of
from napari_dvp.core.proteomics import differential
from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix

pytestmark = [pytest.mark.gui]

MYSTERY = "D:\\DVP\\TEN_run_mystery.d"


def _study_files(tmp_path):
    """Labels of 8x8 px cells, a manifest of 24 samples, a pg_matrix and a precursor matrix."""
    labels = np.zeros((240, 320), dtype=np.uint32)
    cid = 0
    for r in range(0, 240, 10):
        for c in range(0, 320, 10):
            cid += 1
            labels[r + 1:r + 9, c + 1:c + 9] = cid
    rows = []
    classes = ["keratinocyte", "CD8 T cell", "macrophage", "fibroblast"]
    for k in range(24):
        region = ["epidermis", "blister", "dermis"][k // 8]
        band = {"epidermis": 0, "blister": 8, "dermis": 16}[region]
        row0, col0 = band + (k % 8) // 4 * 4, (k % 4) * 8
        ids = [(row0 + dr) * 32 + col0 + dc + 1 for dr in range(2) for dc in range(4)]
        rows.append({"sample_id": f"S{k + 1:02d}", "well": f"{'BCDE'[k // 6]}{2 + k % 6}",
                     "class": classes[k % 4], "region": region, "replicate": 1, "n_cells": 8,
                     "area_um2": 128.0, "n_shapes": 8, "cell_ids": ";".join(map(str, ids))})
    man = pd.DataFrame(rows)
    (tmp_path / "lmd").mkdir()
    man.to_csv(tmp_path / "lmd" / "manifest.csv", index=False)
    table = synthetic_pg_matrix(man, seed=5, n_proteins=600)
    s07 = next(c for c in table.columns if c.endswith("TEN_run_C2.d"))  # sample S07, well C2
    table = table.rename(columns={s07: MYSTERY})
    write_pg_matrix(table, tmp_path / "TEN.pg_matrix.tsv")
    pr = table.head(30).assign(**{"Precursor.Id": [f"PEP{i}2" for i in range(30)],
                                  "Stripped.Sequence": "PEPTIDE", "Modified.Sequence": "PEPTIDE",
                                  "Precursor.Charge": 2})
    write_pg_matrix(pr, tmp_path / "TEN.pr_matrix.tsv")
    gmt = tmp_path / "mine.gmt"
    genes = [g for g in table["Genes"] if g.startswith("SYN")][:8]
    gmt.write_text("MY_SET\tmy own set\t" + "\t".join(genes) + "\n")
    return labels, man, gmt


@pytest.fixture
def proteins(make_napari_viewer, tmp_path):
    labels, man, gmt = _study_files(tmp_path)
    viewer = make_napari_viewer()
    viewer.add_labels(labels, name="cells")
    _, dock = viewer.window.add_plugin_dock_widget("napari-dvp", "Proteins on tissue")
    return viewer, dock, labels, man, gmt


def _idle(dock):
    return not dock.runner.running and dock.progress.value() == 0


def _cell_value(layer, labels, cell):
    px = np.asarray(layer.data)[labels == cell]
    assert np.unique(px).size == 1
    return float(px[0])


def _form(form, name):
    return next(w for w in form if w.name == name)


@pytest.mark.slow
def test_every_button_of_the_proteins_dock(proteins, qtbot, clicker, dialogs, errors,
                                           tmp_path, monkeypatch):
    viewer, dock, labels, man, gmt = proteins
    click = clicker(dock)
    click.arrows = dock.plots.tabBar().findChildren(QToolButton)  # kept alive: ids stay
    for arrow in click.arrows:
        click.exempt_button(arrow, "Qt's own scroll arrows of the plot tabs")
    assert "<b>cells</b>" in dock.painting.cells.text()

    # a precursor report: one clear error, the bar and Cancel reset, nothing read
    dialogs.open(tmp_path / "TEN.pr_matrix.tsv")
    click.click("Open MS results", wait_until=lambda: bool(errors) and _idle(dock),
                allow_error="precursor matrix")
    assert len(errors) == 1 and "export report.pg_matrix.tsv" in errors[0]
    assert dock.data is None and not dock.cancel.isEnabled()
    # ... unless the user asks to aggregate its precursors (as --aggregate top3 does)
    click.click("aggregate precursors", wait_until=lambda: dock.data is not None
                and _idle(dock))
    assert dock.data.n_vars == 30 and "top3 of precursor quantities" in \
        dock.source.summary.text()
    aggregated = dock.data
    click.click("aggregate precursors", wait_until=lambda: len(errors) == 2 and _idle(dock),
                allow_error="precursor matrix")
    assert dock.data is aggregated

    # Cancel while reading: nothing changes, the bar resets
    from napari_dvp._qt.proteomics import widget as widget_mod

    gate, real = threading.Event(), widget_mod.read_proteomics

    def held(*args, **kwargs):
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(widget_mod, "read_proteomics", held)
    dialogs.open(tmp_path / "TEN.pg_matrix.tsv")
    click.click("Open MS results", wait_until=lambda: dock.cancel.isEnabled())
    click.click("Cancel")
    gate.set()
    qtbot.waitUntil(lambda: _idle(dock), timeout=10_000)
    assert dock.data is aggregated and "Cancelled" in dock.status.text()
    monkeypatch.setattr(widget_mod, "read_proteomics", real)

    # the DIA-NN matrix: format, log state and filters shown; every run listed, no manifest yet
    dialogs.open(tmp_path / "TEN.pg_matrix.tsv")
    click.click("Open MS results", wait_until=lambda: dock.data is not None and _idle(dock))
    text = dock.source.summary.text()
    assert "DIA-NN protein-group matrix" in text and "linear intensities" in text
    assert "removed 0 contaminant" in text
    table = dock.match.table
    assert table.rowCount() == 25
    assert {table.item(i, 4).text() for i in range(25)} == {"no manifest"}

    # the manifest: 23 runs matched, the blank and the renamed run shown unmatched (orange)
    dialogs.open(tmp_path / "lmd" / "manifest.csv")
    click.click("Open manifest", wait_until=lambda: dock.study is not None
                and dock.study.processed is not None and _idle(dock))
    status = [table.item(i, 4).text() for i in range(25)]
    assert status.count("matched") == 23 and status.count("unmatched") == 2
    row = dock.match.row_of("TEN_run_mystery")
    assert table.item(row, 0).background().color().name() == "#ffd6aa"
    assert "2 not matched" in dock.match.note.text()
    assert "S07" not in dock.study.processed.obs_names

    # type the sample of the renamed run: a wrong id is refused, S07 is taken
    combo = dock.match.combo(row)
    combo.lineEdit().selectAll()
    qtbot.keyClicks(combo.lineEdit(), "S99")
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    assert len(errors) == 3 and "S99" in errors[-1]
    assert dock.match.combo(row).currentText() == ""
    combo = dock.match.combo(row)
    qtbot.keyClicks(combo.lineEdit(), "S07")
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "S07" in dock.study.processed.obs_names and _idle(dock))
    assert dock.study.table.set_index("run").loc[MYSTERY, "rule"] == "manual"
    assert dock.match.table.item(row, 4).text() == "matched"

    # processing options re-process; reading options re-read (both through the job runner)
    _form(dock.processing, "normalise").value = "quantile"
    qtbot.waitUntil(lambda: dock.study.params.normalise == "quantile" and _idle(dock))
    click.click("keep contaminants", wait_until=lambda: _idle(dock)
                and dock.data.uns["filtering"]["remove_contaminants"] is False)
    click.click("keep contaminants", wait_until=lambda: _idle(dock)
                and dock.data.uns["filtering"]["remove_contaminants"] is True)
    click.click("keep decoys", wait_until=lambda: _idle(dock)
                and dock.data.uns["filtering"]["remove_decoys"] is False)
    qtbot.waitUntil(lambda: dock.study.processed is not None and _idle(dock))
    assert dock.study.table.set_index("run").loc[MYSTERY, "sample_id"] == "S07"  # kept

    # paint a protein found by its previous symbol; the overlay is an overlay with a legend
    dock.protein.setText("rigi")  # the approved symbol; the data still call it DDX58
    click.click("Paint protein")
    name = dock.protein.text()
    assert name == "DDX58"
    layer = viewer.layers[f"{name} (z)"]
    assert role_of(layer) == "overlay"
    expect = dock.study.protein(name)
    for _, r in man.iterrows():
        cell = int(r["cell_ids"].split(";")[0])
        assert _cell_value(layer, labels, cell) == pytest.approx(expect[r["sample_id"]],
                                                                 rel=1e-5, nan_ok=True)
    assert np.isnan(np.asarray(layer.data)[labels == 0]).all()
    assert dock.painting.colorbar.figure.axes
    # a protein missing in some samples: the note says which and why
    z = dock.study.processed.to_df(layer="z")
    sparse = z.columns[z.isna().any() & z.notna().sum().gt(5)][0]
    dock.protein.setText(sparse)
    qtbot.keyClick(dock.protein, Qt.Key.Key_Return)  # Enter paints too
    qtbot.waitUntil(lambda: any(lay.name.endswith("(z)") and lay.name != f"{name} (z)"
                                for lay in viewer.layers))
    assert "samples blank" in dock.painting.note.text()
    assert "protein not measured" in dock.painting.note.text()

    # your own gene set, then paint a pathway score
    dialogs.open(gmt)
    click.click("Add gene sets", wait_until=lambda: _idle(dock)
                and dock.sets.findData("MY_SET") >= 0)
    dock.sets.setCurrentIndex(dock.sets.findData("HALLMARK_INTERFERON_GAMMA_RESPONSE"))
    click.click("Paint score")
    ifn = viewer.layers["IFN-γ response score (z)"]
    cell = int(man.loc[3, "cell_ids"].split(";")[0])
    score = dock.study.scores.scores.loc["S04", "HALLMARK_INTERFERON_GAMMA_RESPONSE"]
    assert _cell_value(ifn, labels, cell) == pytest.approx(score, rel=1e-5)
    assert "all 24 samples painted" in dock.painting.note.text()
    # more members needed than most samples have: those samples are blank, and say why
    members = dock.study.scores.members["HALLMARK_INTERFERON_GAMMA_RESPONSE"]
    need = int(members.max())
    _form(dock.processing, "min_members").value = need
    qtbot.waitUntil(lambda: dock.study.min_members == need and _idle(dock))
    click.click("Paint score")
    n_blank = int((members < need).sum())
    assert f"{n_blank} of 24 samples blank" in dock.painting.note.text()
    assert f"members measured (< {need})" in dock.painting.note.text()
    _form(dock.processing, "min_members").value = 5
    qtbot.waitUntil(lambda: dock.study.min_members == 5 and _idle(dock))

    # statistics: CD8 T cells vs all other samples, Welch — the same numbers as the core
    stats = dock.stats
    stats.group_by.setCurrentText("class")
    stats.group_a.setCurrentText("CD8 T cell")
    stats.group_b.setCurrentText("all other samples")
    stats.color_by.setCurrentText("region")
    _form(stats.form, "test").value = "welch"
    click.click("Run statistics", wait_until=lambda: stats.result is not None and _idle(dock))
    ref = differential.compare(dock.study.processed, "class", "CD8 T cell", None, test="welch")
    pd.testing.assert_series_equal(stats.result.table["p"], ref["p"])
    assert "Welch t" in stats.summary.text()
    assert stats.result.color_by == "region"
    assert dock.plots.pca.figure.axes[0].get_legend().get_title().get_text() == "region"
    # click the most significant volcano dot: that protein is painted
    canvas = dock.plots.volc
    canvas.draw()
    ids, xs, ys = canvas.figure.volcano_points
    k = int(np.argmax(ys))
    x_px, y_px = canvas.figure.axes[0].transData.transform((xs[k], ys[k]))
    ratio = canvas.device_pixel_ratio
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(x_px / ratio), round(canvas.height() - y_px / ratio)))
    gene = stats.result.table.loc[ids[k], "gene"]
    qtbot.waitUntil(lambda: f"{gene} (z)" in viewer.layers, timeout=5000)

    # save (then the same name: No keeps the files, Yes overwrites them)
    out = tmp_path / "res" / "cd8.csv"
    out.parent.mkdir()
    dialogs.save(out)
    click.click("Save results")
    saved = pd.read_csv(out)
    assert len(saved) == dock.study.processed.n_vars
    assert np.allclose(saved.set_index("protein_id")["p"], ref["p"], equal_nan=True)
    assert (out.parent / "cd8.meta.json").is_file() and (out.parent / "cd8.pca.csv").is_file()
    assert (out.parent / "cd8.volcano.png").read_bytes()[:4] == b"\x89PNG"
    before = out.stat().st_mtime_ns
    _form(stats.form, "test").value = "anova"
    click.click("Run statistics", wait_until=lambda: stats.result.test == "anova"
                and _idle(dock))
    assert stats.result.tukey is not None and "one-way ANOVA" in stats.summary.text()
    dialogs.save(out).no()
    click.click("Save results")
    assert out.stat().st_mtime_ns == before
    dialogs.save(out).yes()
    click.click("Save results")
    assert "F" in pd.read_csv(out).columns and (out.parent / "cd8.tukey.csv").is_file()
    dialogs.done()

    # the study lives in the session (the Project saves it)
    session = session_of(viewer)
    assert session.get("proteomics") is dock.study.data
    assert list(session.get("manifests")) == ["lmd"]
    viewer.window._qt_window.resize(1400, 900)


@pytest.mark.slow
def test_lmd_export_and_reopened_project_bring_the_study(proteins, make_napari_viewer, qtbot,
                                                        clicker, dialogs, tmp_path):
    """The manifest of an LMD export is used without asking; a saved project reopens with
    the protein table, the manifest and the hand-made matches."""
    from napari_dvp._qt.project.layers import project_from_viewer, restore_into_viewer
    from napari_dvp.core.project import load_project, save_project

    viewer, dock, labels, man, _ = proteins
    click = clicker(dock, check_all=False)
    session_of(viewer).put("manifests", "lmd_export", man, source=object())  # as LMD does
    assert "lmd_export" in dock.match.manifest_label.text()
    dialogs.open(tmp_path / "TEN.pg_matrix.tsv")
    click.click("Open MS results", wait_until=lambda: dock.study is not None and _idle(dock))
    row = dock.match.row_of("TEN_run_mystery")
    combo = dock.match.combo(row)
    qtbot.keyClicks(combo.lineEdit(), "S07")
    qtbot.keyClick(combo.lineEdit(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "S07" in dock.study.processed.obs_names and _idle(dock))
    save_project(tmp_path / "proj", project_from_viewer(viewer))

    viewer2 = make_napari_viewer()
    viewer2.add_labels(labels, name="cells")
    _, dock2 = viewer2.window.add_plugin_dock_widget("napari-dvp", "Proteins on tissue")
    restore_into_viewer(viewer2, load_project(tmp_path / "proj"))
    qtbot.waitUntil(lambda: dock2.study is not None and _idle(dock2), timeout=20_000)
    assert dock2.study.table.set_index("run").loc[MYSTERY, "sample_id"] == "S07"
    assert dock2.match.table.rowCount() == 25
    np.testing.assert_allclose(dock2.study.data.X, dock.study.data.X)
    pd.testing.assert_frame_equal(dock2.study.scores.scores, dock.study.scores.scores,
                                  check_names=False)
