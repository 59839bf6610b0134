"""Project folders: exact round trip, atomic saves, damaged projects, image references, CLI."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import anndata
import numpy as np
import pandas as pd
import pytest
import shapely
import tifffile
from skimage.draw import disk

from napari_dvp.cli import main
from napari_dvp.core import project as P
from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.regions import Region


def _labels(shape=(1500, 1100), n=40, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lab = np.zeros(shape, np.uint32)
    for i in range(1, n + 1):
        rr, cc = disk(tuple(rng.integers(20, np.array(shape) - 20)), 12, shape=shape)
        lab[rr, cc] = i
    return lab


def _cells(lab: np.ndarray) -> pd.DataFrame:
    ids = np.unique(lab[lab > 0]).astype(np.int64)
    n = len(ids)
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "cell_id": ids,
        "centroid_row": rng.random(n) * 100,
        "area_um2": rng.random(n).astype(np.float32),
        "touches_border": rng.random(n) > 0.5,
        "qc_status": pd.Categorical(rng.choice(["pending", "accepted", "rejected"], n),
                                    categories=["pending", "accepted", "rejected"]),
        "region": rng.choice(["epidermis", "dermis", ""], n),
        "class": pd.Categorical(rng.choice(["keratinocyte", "CD8 T cell"], n)),
        "class_probability": np.where(rng.random(n) > 0.2, rng.random(n), np.nan),
    })


@pytest.fixture
def full_project() -> P.Project:
    lab = _labels()
    cells = _cells(lab)
    buf = io.BytesIO()  # a data-only classifier file: arrays, no pickle
    np.savez(buf, thresholds=np.random.default_rng(2).random((5, 7)), features=np.arange(3))
    hole = shapely.Polygon([(0, 0), (500, 0), (500, 300), (0, 300)],
                           [[(10.5, 10.25), (20, 10), (20, 20.125)]])
    regions = [
        Region(hole, "epidermis", name="top", color=(214, 96, 77)),
        Region(shapely.MultiPolygon([shapely.box(600, 0, 700, 100), shapely.box(800, 0, 900, 1)]),
               "dermis"),
        Region(shapely.box(1, 2, 3.3333333333333335, 4), "exclude", color=(90, 90, 90),
               properties={"_id": "abc", "isLocked": True}),
    ]
    plan = pd.DataFrame({"sample_id": ["S1", "S2"], "well": ["B2", "B3"],
                         "n_cells": np.array([12, 30], np.int32), "area_um2": [1000.5, 2000.25]})
    manifest = plan.assign(cell_ids=["1;2;3", "4;5"], replicate=[1, 2])
    adata = anndata.AnnData(
        X=np.random.default_rng(3).random((2, 5)).astype(np.float32),
        obs=pd.DataFrame({"well": ["B2", "B3"]}, index=["S1", "S2"]),
        var=pd.DataFrame({"gene": list("ABCDE")}, index=[f"P{i}" for i in range(5)]))
    scores = pd.DataFrame({"sample_id": ["S1", "S2"], "JAK_STAT": [0.5, -1.25]})
    return P.Project(
        labels=lab, cells=cells, regions=regions,
        classes={"classes": [{"name": "keratinocyte", "color": [1, 2, 3]}],
                 "rules": {"keratinocyte": "panCK+ & CD8-"}},
        classifier=buf.getvalue(), classifier_info={"features": ["a", "b", "c"]},
        plans={"TEN plan": plan}, manifests={"run 1/2": manifest}, scores={"pathways": scores},
        proteomics=adata,
        layers=[{"name": "cells", "kind": "labels", "opacity": 0.6, "scale": [0.5, 0.5]}],
        meta={"pixel_size_um": 0.5},
    )


def assert_projects_equal(a: P.Project, b: P.Project) -> None:
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.labels.dtype == b.labels.dtype
    pd.testing.assert_frame_equal(a.cells, b.cells, check_exact=True)
    assert len(a.regions) == len(b.regions)
    for ra, rb in zip(a.regions, b.regions, strict=True):
        assert shapely.equals_exact(ra.geometry, rb.geometry, tolerance=0)
        assert (ra.region_class, ra.name, ra.color, ra.properties) == \
            (rb.region_class, rb.name, rb.color, rb.properties)
    assert a.classes == b.classes
    assert a.classifier == b.classifier and a.classifier_info == b.classifier_info
    for slot in ("plans", "manifests", "scores"):
        assert list(getattr(a, slot)) == list(getattr(b, slot))
        for k in getattr(a, slot):
            pd.testing.assert_frame_equal(getattr(a, slot)[k], getattr(b, slot)[k],
                                          check_exact=True)
    np.testing.assert_array_equal(a.proteomics.X, b.proteomics.X)
    pd.testing.assert_frame_equal(a.proteomics.obs, b.proteomics.obs)
    pd.testing.assert_frame_equal(a.proteomics.var, b.proteomics.var)
    assert a.layers == b.layers and a.meta == b.meta


def test_round_trip_is_exact(tmp_path, full_project):
    index = P.save_project(tmp_path / "proj", full_project)
    assert index["format_version"] == P.FORMAT_VERSION and index["generation"] == 1
    back = P.load_project(tmp_path / "proj")
    assert_projects_equal(full_project, back)
    # labels stored as a zarr v3 array in 1024² chunks
    import zarr

    z = zarr.open_array(str(tmp_path / "proj" / index["files"]["labels"]["file"]), mode="r")
    assert z.chunks == (1024, 1024) and z.metadata.zarr_format == 3
    assert index["files"]["labels"]["n_cells"] == len(full_project.cells)
    # regions are QuPath-shaped GeoJSON
    gj = json.loads((tmp_path / "proj" / index["files"]["regions"]["file"]).read_text())
    props = gj["features"][0]["properties"]
    assert props["objectType"] == "annotation"
    assert props["classification"] == {"name": "epidermis", "color": [214, 96, 77]}
    lazy = P.load_project(tmp_path / "proj", lazy_labels=True).labels
    np.testing.assert_array_equal(lazy[100:200, 50:80], full_project.labels[100:200, 50:80])


def test_regions_as_mapping_and_tuples(tmp_path):
    geom = shapely.box(0, 0, 5, 5)
    P.save_project(tmp_path / "a", P.Project(regions={"dermis": geom}))
    (r,) = P.load_project(tmp_path / "a").regions
    assert r.region_class == "dermis" and shapely.equals_exact(r.geometry, geom, 0)
    P.save_project(tmp_path / "b", P.Project(regions=[("r1", "blister", (1, 2, 3), geom)]))
    (r,) = P.load_project(tmp_path / "b").regions
    assert (r.name, r.region_class, r.color) == ("r1", "blister", (1, 2, 3))


def test_resave_reuses_unchanged_files_and_collects_old(tmp_path, full_project):
    d = tmp_path / "proj"
    first = P.save_project(d, full_project)
    full_project.cells.loc[0, "qc_status"] = "rejected"
    second = P.save_project(d, full_project)
    assert second["generation"] == 2
    assert second["files"]["labels"]["file"] == first["files"]["labels"]["file"]
    assert second["files"]["cells"]["file"] == "cells.g2.parquet"
    names = {p.name for p in d.iterdir()}
    assert "cells.g1.parquet" not in names and "cells.g2.parquet" in names
    assert P.load_project(d).cells.loc[0, "qc_status"] == "rejected"
    # removing a slot removes its file
    full_project.scores = {}
    P.save_project(d, full_project)
    assert not any(p.name.startswith("scores.") for p in d.iterdir())
    assert P.load_project(d).scores == {}


def test_failed_save_leaves_previous_project(tmp_path, full_project, monkeypatch):
    d = tmp_path / "proj"
    P.save_project(d, full_project)
    before = sorted(p.name for p in d.iterdir())
    changed = P.Project(**{**full_project.__dict__})
    changed.labels = full_project.labels.copy()
    changed.labels[:5, :5] = 999
    changed.cells = full_project.cells.iloc[:3]

    def boom(*args, **kwargs):
        raise OSError("disk full (simulated, after labels and cells were written)")

    monkeypatch.setattr(P._slots, "_h5ad_entry", boom)
    with pytest.raises(OSError, match="disk full"):
        P.save_project(d, changed)
    assert sorted(p.name for p in d.iterdir()) == before  # new generation cleaned up
    assert_projects_equal(full_project, P.load_project(d))


def test_crash_leftovers_are_ignored_then_collected(tmp_path, full_project):
    d = tmp_path / "proj"
    P.save_project(d, P.Project(cells=full_project.cells))
    # what a crash mid-save leaves: a complete new-generation file, a partial temp
    (d / "cells.g2.parquet").write_bytes(b"PAR1 torn")
    (d / ".labels.g2.abc.partial.zarr").mkdir()
    pd.testing.assert_frame_equal(P.load_project(d).cells, full_project.cells)
    P.save_project(d, P.Project(cells=full_project.cells.iloc[:2]))
    names = {p.name for p in d.iterdir()}
    assert names == {"project.json", "cells.g2.parquet"}
    assert len(P.load_project(d).cells) == 2


def _one_line_error(func, *args, match: str) -> None:
    with pytest.raises(DvpInputError, match=match) as exc:
        func(*args)
    assert "\n" not in str(exc.value)


def test_damaged_projects_give_one_line_errors(tmp_path, full_project):
    _one_line_error(P.load_project, tmp_path / "nope", match="not found")
    (tmp_path / "empty").mkdir()
    _one_line_error(P.load_project, tmp_path / "empty", match="not a napari-dvp project")
    d = tmp_path / "proj"
    P.save_project(d, full_project)
    good = (d / "project.json").read_text()

    def with_index(text):
        (d / "project.json").write_text(text)

    with_index("{not json")
    _one_line_error(P.load_project, d, match="damaged")
    with_index(json.dumps({**json.loads(good), "format_version": 99}))
    _one_line_error(P.load_project, d, match="newer napari-dvp")
    with_index(json.dumps({**json.loads(good), "format": "something else"}))
    _one_line_error(P.load_project, d, match="not a napari-dvp project index")
    for key, bad in [("files", {"plans": 5}), ("files", {"plans": {"a": 5}}),
                     ("files", {"cells": "x"}), ("layers", 5), ("meta", [1]),
                     ("generation", "x")]:
        with_index(json.dumps({**json.loads(good), key: bad}))
        _one_line_error(P.load_project, d, match="damaged")
        _one_line_error(P.project_info, d, match="damaged")
    with_index(good)
    cells = d / json.loads(good)["files"]["cells"]["file"]
    data = cells.read_bytes()
    cells.write_bytes(data[: len(data) // 2])  # truncated parquet
    _one_line_error(P.load_project, d, match="cells.g1.parquet is damaged")
    _one_line_error(lambda: P.load_project(d, verify=False), match="damaged or truncated")
    cells.unlink()
    _one_line_error(P.load_project, d, match="missing")
    shutil.rmtree(d / json.loads(good)["files"]["labels"]["file"])
    _one_line_error(P.load_project, d, match="missing")


def test_refuses_to_save_into_a_folder_of_other_files(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    _one_line_error(P.save_project, tmp_path, P.Project(), match="already holds other files")
    bad = pd.DataFrame({"cell_id": [1, 2], "mixed": [1, "a"]})
    _one_line_error(P.save_project, tmp_path / "p", P.Project(cells=bad), match="mixes types")
    _one_line_error(P.save_project, tmp_path / "q", P.Project(labels=np.zeros((4, 4))),
                    match="integer array")


def _write_tiff(path: Path, seed: int) -> None:
    data = np.random.default_rng(seed).integers(0, 4000, (2, 300, 200), dtype=np.uint16)
    tifffile.imwrite(path, data, ome=True, tile=(128, 128),
                     metadata={"axes": "CYX", "Channel": {"Name": ["DAPI", "panCK"]}})


def test_image_reference_survives_a_move_and_rejects_another_image(tmp_path):
    img = tmp_path / "biopsy.ome.tif"
    _write_tiff(img, 0)
    ref = P.image_ref(img)
    assert ref.shape == (2, 300, 200) and ref.dtype == "uint16"
    d = tmp_path / "proj"
    P.save_project(d, P.Project(image=ref))
    assert P.load_project(d).image.status == "ok"
    moved = tmp_path / "elsewhere" / "renamed.tif"
    moved.parent.mkdir()
    shutil.move(img, moved)
    proj = P.load_project(d)
    assert proj.image.status == "missing"
    assert "MISSING" in _cli_out(["project", "info", str(d)])
    other = tmp_path / "other.ome.tif"
    _write_tiff(other, 1)
    _one_line_error(P.relink_image, proj, other, match="not the image this project")
    P.relink_image(proj, moved)
    assert proj.image.status == "ok" and proj.image.path == str(moved.resolve())
    assert P.load_project(d, image_path=moved).image.status == "ok"
    shutil.copy(other, img)  # a different image now sits at the old path
    assert P.load_project(d).image.status == "changed"


def _cli_out(argv, capsys=None) -> str:
    import contextlib

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(argv)
    return buf.getvalue()


def test_cli_project_info_and_check(tmp_path, full_project, capsys):
    img = tmp_path / "img.ome.tif"
    _write_tiff(img, 0)
    full_project.image = P.image_ref(img)
    d = tmp_path / "proj"
    P.save_project(d, full_project)
    assert main(["project", "info", str(d)]) == 0
    out = capsys.readouterr().out
    assert "format version 1" in out and "found, matches" in out
    assert "labels: 1500x1100 uint32, 40 cells" in out
    assert f"cell table: {len(full_project.cells)} rows x 8 columns" in out
    assert "regions: 3 (dermis, epidermis, exclude)" in out
    assert "plan 'TEN plan': 2 rows x 4 columns" in out
    assert "manifest 'run 1/2'" in out and "score 'pathways'" in out
    assert "proteomics: 2 samples x 5 proteins" in out and "classifier:" in out
    assert main(["project", "info", "--json", str(d)]) == 0
    assert json.loads(capsys.readouterr().out)["generation"] == 1
    assert main(["project", "check", str(d)]) == 0
    (d / json.loads((d / "project.json").read_text())["files"]["classes"]["file"]).write_text("{}")
    assert main(["project", "check", str(d)]) == 2
    err = capsys.readouterr().err
    assert "checksum" in err and len(err.strip().splitlines()) == 1
    assert main(["project", "info", str(tmp_path / "missing")]) == 2


# --------------------------------------------------------------------------- executable content


def _pickles() -> dict[str, bytes]:
    import pickle

    import joblib

    payload = {"model": shapely.box(0, 0, 1, 1), "x": [1, 2]}  # any object pickles as code
    out = {f"pickle protocol {p}": pickle.dumps(payload, protocol=p) for p in (0, 2, 5)}
    for comp in (3, "gzip", "xz"):
        buf = io.BytesIO()
        joblib.dump(payload, buf, compress=comp)
        out[f"joblib {comp}"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, ok=np.arange(3), obj=np.array([payload], dtype=object))
    out["npz with objects"] = buf.getvalue()
    return out


def test_executable_content_is_recognised_without_loading_it():
    for name, data in _pickles().items():
        assert P.executable_content(data), name
    buf = io.BytesIO()
    np.savez(buf, thresholds=np.ones((3, 3)))
    for data in (buf.getvalue(), b'{"trees": []}', b"PAR1" + bytes(100),
                 np.random.default_rng(0).bytes(100_000)):
        assert P.executable_content(data) is None


def _plant_classifier(d: Path, data: bytes) -> None:
    """Replace a saved project's classifier bytes (and its checksum, as an attacker would)."""
    import hashlib

    index = json.loads((d / "project.json").read_text())
    entry = index["files"]["classifier"]
    (d / entry["file"]).write_bytes(data)
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    (d / "project.json").write_text(json.dumps(index))


def test_project_with_a_pickled_classifier_is_refused_and_flagged(tmp_path, full_project,
                                                                  capsys):
    d = tmp_path / "proj"
    bad = _pickles()["joblib 3"]
    _one_line_error(P.save_project, d, P.Project(classifier=bad), match="runs code")
    assert not (d / "project.json").exists()
    P.save_project(d, full_project)
    marker = tmp_path / "ran"

    class Evil:  # unpickling this would create the marker file
        def __reduce__(self):
            return (Path.touch, (marker,))

    import pickle

    for data in (pickle.dumps(Evil()), bad):
        _plant_classifier(d, data)
        _one_line_error(P.load_project, d, match=r"classifier \(classifier\.g1\.bin\) is a "
                        r"Python pickle.*refuses this project")
        assert main(["project", "check", str(d)]) == 2
        err = capsys.readouterr().err
        assert "pickle" in err and len(err.strip().splitlines()) == 1
        assert main(["project", "info", str(d)]) == 1
        assert "EXECUTABLE CONTENT: classifier.g1.bin" in capsys.readouterr().out
    assert not marker.exists()


# --------------------------------------------------------------------------- in-memory image


@pytest.mark.parametrize("rgb", [False, True])
def test_an_image_only_in_memory_is_kept_in_the_project(tmp_path, rgb):
    from napari_dvp.core.slide import open_image

    rng = np.random.default_rng(4)
    data = rng.integers(0, 255 if rgb else 4000, (300, 200, 3) if rgb else (2, 300, 200),
                        dtype=np.uint8 if rgb else np.uint16)
    names = ["red", "green", "blue"] if rgb else ["DAPI", "panCK"]
    emb = P.EmbeddedImage(data, names, pixel_size_um=0.25, rgb=rgb)
    d = tmp_path / "proj"
    first = P.save_project(d, P.Project(image_data=emb, labels=_labels((300, 200), 5)))
    name = first["files"]["image"]["file"]
    assert name == "image.g1.ome.tif" and first["image"] is None
    back = P.load_project(d)
    assert back.image.embedded and back.image.path == str(d / name)
    img = open_image(back.image.path)
    assert img.pixel_size_um == pytest.approx(0.25) and list(img.channel_names) == names
    pixels = np.asarray(img.levels[0])
    np.testing.assert_array_equal(pixels, np.moveaxis(data, -1, 0) if rgb else data)
    # saving again (the image now comes from the project's file) reuses the file
    again = P.save_project(d, back)
    assert again["files"]["image"]["file"] == name
    # Save as… copies it; the copy opens after the original project is gone
    P.save_project(tmp_path / "copy", P.load_project(d))
    shutil.rmtree(d)
    moved = P.load_project(tmp_path / "copy")
    np.testing.assert_array_equal(np.asarray(open_image(moved.image.path).levels[0]), pixels)
    info = P.project_info(tmp_path / "copy")
    assert info["image"]["embedded"] and info["image"]["status"] == "ok"
    assert "image: kept in the project" in _cli_out(["project", "info", str(tmp_path / "copy")])


def test_an_unchanged_in_memory_image_is_not_written_again(tmp_path):
    data = np.random.default_rng(5).integers(0, 4000, (1, 256, 256), dtype=np.uint16)
    project = P.Project(image_data=P.EmbeddedImage(data, ["DAPI"], 0.5))
    d = tmp_path / "proj"
    P.save_project(d, project)
    stamp = (d / "image.g1.ome.tif").stat().st_mtime_ns
    assert P.save_project(d, project)["files"]["image"]["file"] == "image.g1.ome.tif"
    assert (d / "image.g1.ome.tif").stat().st_mtime_ns == stamp
    data[0, 0, 0] += 1
    assert P.save_project(d, project)["files"]["image"]["file"] == "image.g3.ome.tif"
    assert not (d / "image.g1.ome.tif").exists()


# --------------------------------------------------------------------------- steps, summary


def test_a_cancelled_save_changes_nothing(tmp_path, full_project):
    d = tmp_path / "proj"
    P.save_project(d, P.Project(cells=full_project.cells.iloc[:3]))
    before = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    steps = P.save_steps(d, full_project)
    messages = [next(steps)[2] for _ in range(4)]  # image, labels, cells, regions written
    assert messages[1] == "Saving the cell labels…"
    steps.close()  # Cancel
    assert {p.name: p.stat().st_mtime_ns for p in d.iterdir()} == before
    assert len(P.load_project(d).cells) == 3 and P.read_lock(d) is None


def test_save_summary_is_one_line(tmp_path, full_project):
    index = P.save_project(tmp_path / "p", full_project)
    text = P.save_summary(tmp_path / "p", index, left_out=["2 layers of another slide"])
    assert text == (f"Saved project to {tmp_path / 'p'}: 40 cells, 3 regions, classes, "
                    "classifier, 1 plan, 1 manifest, 1 score table, proteomics "
                    "(not saved: 2 layers of another slide)")
    big = {"files": {"cells": {"rows": 1234}, "image": {}}}
    assert P.save_summary("x", big) == "Saved project to x: image (kept in the project), " \
        "1,234 cells"
