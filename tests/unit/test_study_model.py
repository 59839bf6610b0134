"""The study model and folder: slides with patient, condition, metadata; progress."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.study import new_study, open_study
from napari_dvp.core.study.cohort import cohort_conditions
from napari_dvp.core.study.params import StudyPlanParams, parse_group
from napari_dvp.core.study.slides import progress


def test_new_add_remove_save_reopen(tmp_path):
    s = new_study(tmp_path / "cohort")
    s.add("TEN1", "P01", "TEN", pixel_size_um=0.5, calibration=[[0, 0], [0, 9], [9, 0]],
          age=54, drug="allopurinol")
    s.add("MDE1", "P02", "MDE", project=tmp_path / "elsewhere" / "proj")
    s.save()
    back = open_study(tmp_path / "cohort")
    assert back.names() == ["TEN1", "MDE1"]
    assert back.get("TEN1").meta == {"age": 54, "drug": "allopurinol"}
    assert back.project_dir("TEN1") == tmp_path / "cohort" / "slides" / "TEN1"
    assert back.project_dir("MDE1") == (tmp_path / "elsewhere" / "proj").resolve()
    table = back.table()
    assert list(table["condition"]) == ["TEN", "MDE"]
    assert table.loc[0, "drug"] == "allopurinol" and pd.isna(table.loc[1, "drug"])
    back.remove("MDE1")
    back.save()
    assert open_study(tmp_path / "cohort").names() == ["TEN1"]
    index = json.loads((tmp_path / "cohort" / "study.json").read_text())
    assert index["format"] == "napari-dvp study" and index["format_version"] == 1


def test_a_slide_without_pixel_size_follows_the_one_rule(tmp_path):
    """Study layers and exports place a slide at the Slide dock's size, never at 1 µm."""
    from napari_dvp.core.slide.model import pixel_size_rule

    s = new_study(tmp_path / "cohort")
    s.add("TEN1", "P01", "TEN", pixel_size_um=0.25)
    s.add("MDE1", "P02", "MDE")
    assert (s.get("TEN1").pixel.um, s.get("TEN1").pixel.source) == (0.25, "file")
    assert s.get("MDE1").pixel == pixel_size_rule()
    assert s.get("MDE1").pixel.source == "assumed"


@pytest.mark.parametrize("bad", ["", "a b", "../x", "x/y", "-lead", "x" * 41])
def test_bad_slide_names_are_refused(tmp_path, bad):
    s = new_study(tmp_path / "s")
    with pytest.raises(DvpInputError, match="slide name"):
        s.add(bad, "P1", "TEN")


def test_refusals(tmp_path):
    s = new_study(tmp_path / "s")
    s.add("A", "P1", "TEN")
    with pytest.raises(DvpInputError, match="already in the study"):
        s.add("A", "P2", "MDE")
    with pytest.raises(DvpInputError, match="patient id and a condition"):
        s.add("B", "", "TEN")
    with pytest.raises(DvpInputError, match="reserved"):
        s.add("C", "P3", "TEN", **{"project": None, "pixel_size_um": None, "meta": 1})
    with pytest.raises(DvpInputError, match="no slide 'Z'"):
        s.remove("Z")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    with pytest.raises(DvpInputError, match="not an empty folder"):
        new_study(tmp_path / "full")
    with pytest.raises(DvpInputError, match="not a napari-dvp study"):
        open_study(tmp_path / "full")
    (tmp_path / "s" / "study.json").write_text("{broken")
    with pytest.raises(DvpInputError, match="damaged"):
        open_study(tmp_path / "s")


def test_progress_from_what_each_project_holds(tmp_path):
    from napari_dvp.core.project import Project, save_project

    s = new_study(tmp_path / "s")
    s.add("seg", "P1", "TEN")
    s.add("cls", "P2", "MDE")
    s.add("none", "P3", "healthy")
    labels = np.zeros((8, 8), np.uint32)
    labels[2:4, 2:4] = 1
    cells = pd.DataFrame({"cell_id": [1], "area_um2": [1.0]})
    save_project(s.project_dir("seg"), Project(labels=labels, cells=cells))
    save_project(s.project_dir("cls"), Project(labels=labels, cells=cells.assign(
        **{"class": ["keratinocyte"]})))
    p = progress(s).set_index("slide")
    assert p.loc["seg", ["segmented", "classified"]].tolist() == [True, False]
    assert p.loc["cls", ["segmented", "classified"]].tolist() == [True, True]
    assert not p.loc["none", ["segmented", "classified", "planned", "exported",
                              "measured"]].any()


def test_cohort_conditions_follow_the_design():
    assert cohort_conditions(6) == ["TEN"] * 3 + ["MDE"] * 2 + ["healthy"]
    assert cohort_conditions(8).count("healthy") == 2
    assert cohort_conditions(3) == ["TEN", "MDE", "healthy"]
    with pytest.raises(DvpInputError, match="out of range"):
        cohort_conditions(0)


def test_plan_params_checked():
    assert parse_group("CD8 T cell:dermis:6") == ("CD8 T cell", "dermis", 6)
    assert parse_group("keratinocyte:epidermis") == ("keratinocyte", "epidermis", None)
    for bad in ("keratinocyte", "a:b:c:d", ":dermis", "a:b:0", "a:b:x"):
        with pytest.raises(DvpInputError):
            parse_group(bad)
    with pytest.raises(DvpInputError, match="Plate layout"):
        StudyPlanParams(layout="diagonal")
    with pytest.raises(DvpInputError, match="Blank wells"):
        StudyPlanParams(blanks=-1)


def test_ratio_normalisation_ignores_a_rising_minority():
    """Runs with a known loading offset; in half of them 10 % of the proteins rise by 2 log2.
    Median of ratios recovers the offsets far better than each run's own median."""
    import anndata as ad

    from napari_dvp.core.study.analysis import ratio_normalise

    rng = np.random.default_rng(0)
    n_runs, n_prot = 12, 2000
    base = rng.normal(21, 2.2, n_prot)
    load = rng.normal(0, 0.5, n_runs)
    L = base + load[:, None] + rng.normal(0, 0.2, (n_runs, n_prot))
    L[:6, :200] += 2.0
    L[rng.random(L.shape) < 0.1] = np.nan
    out = ratio_normalise(ad.AnnData(X=np.exp2(L)), log2_input=False)
    est = out.obs["ratio_offset_log2"].to_numpy()
    err_ratio = (est - est.mean()) - (load - load.mean())
    per_run_median = np.nanmedian(L, axis=1)
    err_median = (per_run_median - per_run_median.mean()) - (load - load.mean())
    assert np.abs(err_ratio).max() < 0.1
    assert np.abs(err_median).max() > 2 * np.abs(err_ratio).max()
    back = np.log2(np.asarray(out.X))
    assert np.allclose(back, L - est[:, None], equal_nan=True)
