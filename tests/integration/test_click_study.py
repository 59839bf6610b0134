"""Study dock, clicked as a user does: a 3-slide study built through clicks, one plate
planned, one LMD file per slide, the study's MS matrix loaded, every slide painted with
one colour scale, TEN vs MDE compared, results saved, the study reopened.

The three slides are projects written beforehand by the core cohort writer (256 px).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qtpy.QtCore import Qt

from napari_dvp._qt._slide import role_of, set_role

pytestmark = [pytest.mark.gui, pytest.mark.slow]

SLIDES = (("TEN1", "P01", "TEN"), ("MDE1", "P02", "MDE"), ("healthy1", "P03", "healthy"))


@pytest.fixture
def projects(tmp_path):
    from napari_dvp.core.progress import run_to_end
    from napari_dvp.core.study.cohort import iter_write_cohort

    run_to_end(iter_write_cohort(tmp_path / "source", 3, 256, 0))
    return tmp_path / "source" / "slides"


def _type(qtbot, edit, text: str) -> None:
    edit.clear()
    qtbot.keyClicks(edit, text)


def test_every_button_of_the_study_dock(make_napari_viewer, qtbot, clicker, dialogs, projects,
                                        tmp_path):
    from napari_dvp.core.proteomics.synthetic import write_pg_matrix
    from napari_dvp.core.study.synthetic_ms import study_pg_matrix

    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-dvp", "Study")
    click = clicker(dock)

    # a new study, three slides added through the form and the folder dialog
    study_dir = tmp_path / "my study"
    dialogs.folder(study_dir)
    click.click("New study…")
    assert (study_dir / "study.json").is_file()
    panel = dock.slides
    for slide, patient, cond in (*SLIDES, ("spare", "P09", "TEN")):
        _type(qtbot, panel.slide, slide)
        _type(qtbot, panel.patient, patient)
        _type(qtbot, panel.condition, cond)
        dialogs.folder(projects / (slide if slide != "spare" else "TEN1"))
        click.click("Add slide…")
    assert panel.table.rowCount() == 4
    panel.table.selectRow(3)
    click.click("Remove slide")
    assert dock.study.names() == [s for s, _, _ in SLIDES]
    assert panel.table.item(0, 3).text() == "✓"  # segmented
    assert dock.study.get("MDE1").pixel_size_um == 0.5  # from the slide's project
    # calibration marks for TEN1 from the viewer's calibration layer
    marks = np.array([[5.0, 5.0], [5.0, 240.0], [240.0, 5.0]])
    set_role(viewer.add_points(marks, name="LMD calibration"), "calibration")
    panel.table.selectRow(0)
    click.click("Marks from viewer")
    assert dock.study.get("TEN1").calibration == marks.tolist()
    assert "3 slides (TEN 1, MDE 1, healthy 1)" in dock.info.text()

    # plan: small groups for 256 px slides; edge wells toggled off and on again
    dock.form["groups"].value = "keratinocyte:epidermis:10, CD8 T cell:dermis:4, " \
                                "macrophage:dermis:3"
    skip = dock.form["skip_outer"].native
    click.click(skip)
    click.click(skip)
    assert dock.form["skip_outer"].value is True
    # Cancel stops a running plan: nothing is written
    click.click("Plan study")
    click.click("Cancel", wait_until=lambda: not dock.jobs.running)
    assert dock.plan is None and not (study_dir / "plan").exists()
    click.click("Plan study", wait_until=lambda: dock.plan is not None)
    plan = dock.plan
    s = plan[plan["kind"] == "sample"]
    assert set(s["slide"]) == {"TEN1", "MDE1", "healthy1"} and plan["plate"].nunique() == 1
    assert (study_dir / "plan" / "plate_1.png").is_file()
    assert dock.figures.tabText(dock.figures.currentIndex()) == "Plate"

    # one LMD file per slide, one manifest
    click.click("Export LMD files", wait_until=lambda: dock.manifest is not None)
    for slide, _, _ in SLIDES:
        assert (study_dir / "lmd" / slide / f"{slide}.xml").is_file()
    manifest = pd.read_csv(study_dir / "lmd" / "manifest.csv")
    assert set(manifest["condition"]) == {"TEN", "MDE", "healthy"}
    assert panel.table.item(0, HEAD.index("exported")).text() == "✓"

    # the study's MS matrix
    matrix = tmp_path / "report.pg_matrix.tsv"
    write_pg_matrix(study_pg_matrix(dock.manifest, seed=1, n_proteins=1500), matrix)
    dialogs.open(matrix)
    click.click("Load MS matrix…", wait_until=lambda: dock.ps is not None)
    assert (study_dir / "ms" / "processed.h5ad").is_file()
    assert dock.sets.count() > 0 and dock.compare.a.count() == 3
    assert {"Heatmap", "PCA"} <= set(dock.figures.canvases)

    # every slide painted with one scale
    click.click("Paint every slide",
                wait_until=lambda: sum(role_of(lay) == "overlay" for lay in viewer.layers) == 3)
    painted = [lay for lay in viewer.layers if role_of(lay) == "overlay"]
    assert len({tuple(lay.contrast_limits) for lay in painted}) == 1
    assert {lay.name.split(" · ")[0] for lay in painted} == {"TEN1", "MDE1", "healthy1"}
    assert len({lay.translate[1] for lay in painted}) == 3  # side by side
    _type(qtbot, dock.protein, "STAT1")
    click.click("Paint every slide",
                wait_until=lambda: any("STAT1" in lay.name for lay in viewer.layers))

    # TEN vs MDE in keratinocytes (one patient each: samples as replicates)
    cmp = dock.compare
    cmp.a.setCurrentText("TEN")
    cmp.b.setCurrentText("MDE")
    cmp.cell_type.setCurrentText("keratinocyte")
    cmp.design.setCurrentText("samples")
    click.click("Compare")
    assert cmp.table.rowCount() == 30 and "Volcano" in dock.figures.canvases
    top = [cmp.table.item(i, 0).text() for i in range(10)]
    from napari_dvp.core.proteomics.genesets import interferon_genes

    assert sum(g in interferon_genes() for g in top) >= 8  # the planted effect leads
    (tmp_path / "results").mkdir()
    dialogs.folder(tmp_path / "results")
    click.click("Save results…")
    saved = tmp_path / "results" / "TEN_vs_MDE_keratinocyte"
    assert (saved / "TEN_vs_MDE_keratinocyte.csv").is_file()
    assert (saved / "TEN_vs_MDE_keratinocyte_volcano.png").is_file()

    # reopening the study brings back plan, manifest and MS results
    dock.ps = dock.plan = None
    dialogs.folder(study_dir)
    click.click("Open study…", wait_until=lambda: dock.ps is not None)
    assert dock.plan is not None and dock.manifest is not None
    qtbot.keyClick(panel.table, Qt.Key.Key_Down)  # the table takes the keyboard
    for b in dock.figures.arrows:  # the tab bar's own scroll arrows
        click.exempt_button(b, "Qt's tab-bar scroll arrow")


HEAD = ("slide", "patient", "condition", "segmented", "classified", "planned", "exported",
        "measured")
