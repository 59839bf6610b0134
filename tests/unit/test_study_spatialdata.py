"""SpatialData / AnnData interop of a study: export, read back with spatialdata, import.

Needs the optional ``spatialdata`` package (``napari-dvp[spatialdata]``); spatialdata 0.7.3
pins dask < 2026.1.2, so it lives in its own environment here and these tests skip where it
is not installed. AnnData exports run everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ._study_data import build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return build(tmp_path_factory.mktemp("sd"), n=3, size=256)


def test_cells_and_samples_as_anndata(data):
    from napari_dvp.core.study.interop import cells_anndata, samples_anndata
    from napari_dvp.core.study.slides import slide_data

    study, ps, manifest = data["study"], data["ps"], data["manifest"]
    scores = ps.scores.scores
    a = cells_anndata(study, "TEN1", manifest, scores)
    _, cells = slide_data(study, "TEN1")
    assert a.n_obs == len(cells) and (a.obs["cell_id"].to_numpy() == cells["cell_id"]).all()
    assert (a.obs["class"].to_numpy() == cells["class"].astype(str).to_numpy()).all()
    assert set(a.obs["condition"]) == {"TEN"} and "meta_drug" in a.obs.columns
    cut = a.obs[a.obs["sample_id"] != ""]
    m = manifest.set_index("sample_id")
    assert len(cut) == int(m.loc[m["slide"] == "TEN1", "n_cells"].sum())
    col = next(c for c in a.obs.columns if c.startswith("score_"))
    sid = cut["sample_id"].iloc[0]
    assert cut[col].iloc[0] == pytest.approx(scores.loc[sid, col[6:]], nan_ok=True)
    assert a.obsm["spatial"].shape == (a.n_obs, 2)
    s = samples_anndata(ps, study)
    assert {"slide", "patient", "condition", "class", "age"} <= set(s.obs.columns)
    assert s.uns["study"]["slides"] == study.names()


# spatialdata 0.7.3 calls ome-zarr's deprecated Scaler itself: third-party, not ours
@pytest.mark.filterwarnings("ignore:Call to deprecated class Scaler:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:zarr v3 autosharding:UserWarning")
def test_study_round_trip_through_spatialdata_zarr(data, tmp_path):
    sd = pytest.importorskip("spatialdata")
    from napari_dvp.core.study.interop import (
        import_spatialdata,
        study_spatialdata,
        write_spatialdata,
    )
    from napari_dvp.core.study.slides import slide_data

    study, ps, manifest = data["study"], data["ps"], data["manifest"]
    path = write_spatialdata(study, tmp_path / "study.zarr", ps=ps)
    back = sd.read_zarr(path)
    built = study_spatialdata(study, ps=ps)
    assert set(back.images) == set(built.images) == {f"{s}_image" for s in study.names()}
    assert set(back.labels) == {f"{s}_labels" for s in study.names()}
    cells = back.tables["cells"]
    for slide in study.names():
        labels, table = slide_data(study, slide)
        # image: lazy multiscale, same pixels as the slide's file at full resolution
        img = back.images[f"{slide}_image"]
        assert len(img.children) == 3  # scale0, scale1, scale2
        assert img["scale0"]["image"].shape[1:] == labels.shape
        # labels identical
        assert np.array_equal(np.asarray(back.labels[f"{slide}_labels"].data), labels)
        # same cells, classes and tissue regions per cell
        sub = cells[cells.obs["labels_element"] == f"{slide}_labels"].obs
        assert sorted(sub["cell_id"].astype(int)) == sorted(table["cell_id"].astype(int))
        t = table.set_index("cell_id")
        assert (sub.set_index("cell_id")["class"].astype(str)
                == t.loc[sub["cell_id"].astype(int), "class"].astype(str).to_numpy()).all()
        assert (sub.set_index("cell_id")["region"].astype(str)
                == t.loc[sub["cell_id"].astype(int), "region"].astype(str).to_numpy()).all()
        # metadata
        rec = study.get(slide)
        assert set(sub["patient"]) == {rec.patient} and set(sub["condition"]) == {rec.condition}
        # regions and LMD shapes as shapes, in the slide's coordinate system (µm)
        regs = back.shapes[f"{slide}_regions"]
        assert {"epidermis", "dermis"} <= set(regs["name"])
        lmd = back.shapes[f"{slide}_lmd"]
        assert len(lmd) >= (manifest["slide"] == slide).sum()
        assert slide in sd.transformations.get_transformation(
            back.labels[f"{slide}_labels"], get_all=True)
    # scores of the cut cells = their sample's score
    obs = cells.obs[cells.obs["sample_id"] != ""]
    col = next(c for c in obs.columns if c.startswith("score_"))
    expect = ps.scores.scores[col[6:]].reindex(obs["sample_id"]).to_numpy()
    assert np.allclose(obs[col].to_numpy(dtype=float), expect, equal_nan=True)
    # the sample x protein matrix with the study design
    samples = back.tables["samples"]
    assert samples.shape == ps.processed.shape
    assert (samples.obs["condition"].astype(str).to_numpy()
            == ps.processed.obs["condition"].astype(str).to_numpy()).all()
    # and back in as a slide project
    project = import_spatialdata(path, tmp_path / "imported", labels="TEN1_labels")
    labels, table = slide_data(study, "TEN1")
    assert np.array_equal(project.labels, labels)
    assert sorted(project.cells["cell_id"]) == sorted(table["cell_id"])
    assert project.meta["pixel_size_um"] == pytest.approx(0.5)
    assert (project.cells.set_index("cell_id")["class"].astype(str).sort_index()
            == table.set_index("cell_id")["class"].astype(str).sort_index()).all()


def test_missing_spatialdata_is_one_line(monkeypatch):
    import sys

    from napari_dvp.core.errors import DvpInputError
    from napari_dvp.core.study.interop import require_spatialdata

    monkeypatch.setitem(sys.modules, "spatialdata", None)
    with pytest.raises(DvpInputError, match=r"napari-dvp\[spatialdata\]"):
        require_spatialdata()
    _ = pd  # the module's imports stay light


@pytest.mark.filterwarnings("ignore:Call to deprecated class Scaler:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:zarr v3 autosharding:UserWarning")
def test_cli_exports(data, tmp_path):
    import anndata as ad

    from napari_dvp.cli import main

    s = str(data["study"].folder)
    assert main(["study", "export-anndata", s, "--out", str(tmp_path / "h5ad")]) == 0
    names = {p.name for p in (tmp_path / "h5ad").iterdir() if not p.name.startswith(".")}
    assert names == {"cells_TEN1.h5ad", "cells_MDE1.h5ad", "cells_healthy1.h5ad",
                     "samples.h5ad"}
    assert "condition" in ad.read_h5ad(tmp_path / "h5ad" / "samples.h5ad").obs
    try:
        import spatialdata  # noqa: F401
    except ImportError:
        assert main(["study", "export-spatialdata", s, "--out", str(tmp_path / "x.zarr")]) == 2
        return
    assert main(["study", "export-spatialdata", s, "--slide", "MDE1", "--out",
                 str(tmp_path / "m.zarr")]) == 0
    assert main(["study", "import-spatialdata", s, "--zarr", str(tmp_path / "m.zarr"),
                 "--slide", "MDE1b", "--patient", "P02", "--condition", "MDE"]) == 0
    from napari_dvp.core.study import open_study
    from napari_dvp.core.study.slides import progress

    st = open_study(s)
    assert st.get("MDE1b").pixel_size_um == pytest.approx(0.5)
    p = progress(st).set_index("slide")
    assert p.loc["MDE1b", "segmented"] and p.loc["MDE1b", "classified"]


@pytest.mark.gui
@pytest.mark.filterwarnings("ignore:Call to deprecated class Scaler:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:zarr v3 autosharding:UserWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_export_opens_in_napari_spatialdata(data, tmp_path, qtbot):
    """The scverse viewer shows the exported slide: image, cells and regions, in µm.

    napari-spatialdata needs spatialdata (hence the older dask): it runs in the separate
    environment of docs/study.md and skips here when absent."""
    sd = pytest.importorskip("spatialdata")
    nsd = pytest.importorskip("napari_spatialdata")
    from napari_dvp.core.study.interop import write_spatialdata
    from napari_dvp.core.study.slides import slide_data

    study, ps = data["study"], data["ps"]
    back = sd.read_zarr(write_spatialdata(study, tmp_path / "study.zarr", ps=ps))
    slide = study.names()[0]
    view = nsd.Interactive(back, headless=True)
    try:
        for element in (f"{slide}_image", f"{slide}_labels", f"{slide}_regions"):
            view.add_element(element, slide)  # loads in a thread of napari-spatialdata
            qtbot.waitUntil(lambda e=element: e in [la.name for la in view._viewer.layers],
                            timeout=60_000)
        labels, _ = slide_data(study, slide)
        shown = view.get_layer(f"{slide}_labels")
        assert np.array_equal(np.asarray(shown.data), labels)
        # the labels sit on the slide's micrometre grid, as the image does
        px = study.get(slide).pixel_size_um
        assert shown.extent.world[1][-1] == pytest.approx(labels.shape[1] * px, rel=0.02)
        assert len(view.get_layer(f"{slide}_regions").data) >= 2
    finally:
        view._viewer.close()
