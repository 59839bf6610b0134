"""Broken files opened in napari: a notification naming the problem, never a traceback.

Each napari-dvp reader (images/labels, GeoJSON, Leica LMD XML) reads the file
when napari asks whether it can, so a damaged file is declined (``None``)
with a napari warning that says what is wrong. ``viewer.open(..., plugin=
"napari-dvp")`` then raises napari's own "refused the file" error (the GUI
offers another reader); no napari-dvp exception escapes and no layer is added.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from napari_dvp._geojson_io import get_reader as geojson_reader
from napari_dvp._lmd_reader import napari_get_reader as lmd_reader
from napari_dvp._reader import get_reader as image_reader
from napari_dvp.core.errors import DvpError

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = [
    ("image", "csv_named.ome.tif"), ("image", "truncated.ome.tif"),
    ("image", "huge_dims_tiles.tif"), ("image", "zstack.tif"), ("image", "broken.zarr"),
    ("labels", "huge_dims.tif"), ("image", "truncated.png"),
    ("geojson", "truncated.geojson"), ("geojson", "nan_coordinates.geojson"),
    ("geojson", "utf16_bom.geojson"), ("geojson", "properties_not_mapping.geojson"),
    ("lmd_xml", "billion_laughs.xml"), ("lmd_xml", "huge_pointcount.xml"),
    ("lmd_xml", "bad_number.xml"), ("lmd_xml", "external_entity.xml"),
]
READERS = {"image": image_reader, "labels": image_reader, "geojson": geojson_reader,
           "lmd_xml": lmd_reader}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location("make_bad_corpus", DATA / "make_bad_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = tmp_path_factory.mktemp("bad-gui")
    module.write_generated(root)
    return root


def _path(kind: str, name: str, generated: Path) -> Path:
    committed = DATA / "bad" / kind / name
    return committed if committed.exists() else generated / kind / name


@pytest.mark.parametrize(("kind", "name"), SAMPLE, ids=[f"{k}/{n}" for k, n in SAMPLE])
def test_reader_declines_with_a_notification(kind, name, generated, make_napari_viewer):
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    path = str(_path(kind, name, generated))
    before = len(notification_manager.records)
    reader = READERS[kind](path)
    if kind in ("geojson", "lmd_xml"):  # ours by name: a reader that reports one clear error
        assert reader is not None and reader(path) == [(None,)]
    else:
        assert reader is None
    messages = [str(r.message) for r in notification_manager.records[before:]]
    ours = [m for m in messages if m.startswith("napari-dvp:")]
    assert len(ours) == 1, messages
    assert "\n" not in ours[0] and len(ours[0]) < 320
    assert Path(path).name in ours[0] or (kind == "image" and name.endswith(".zarr"))

    before = len(notification_manager.records)
    try:
        viewer.open(path, plugin="napari-dvp")
    except DvpError as exc:  # pragma: no cover - the failure this test guards against
        pytest.fail(f"napari-dvp exception escaped the reader: {exc!r}")
    except ValueError as exc:  # npe2: the chosen plugin refused the file
        assert "refused" in str(exc) or "no data" in str(exc)
    assert len(viewer.layers) == 0
    assert any(str(r.message).startswith("napari-dvp:")
               for r in notification_manager.records[before:])
