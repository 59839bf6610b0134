"""npe2 GeoJSON reader/writer through real napari layers (QuPath export -> napari -> GeoJSON)."""

from __future__ import annotations

import json

import shapely
from napari.layers import Layer

from napari_dvp._geojson_io import get_reader, write_geojson_layers, write_geojson_shapes
from napari_dvp.core.geojson import read_geojson
from unit.test_geojson import QUPATH


def test_reader_writer_roundtrip_through_layers(tmp_path):
    src = tmp_path / "qupath.geojson"
    src.write_text(json.dumps(QUPATH))
    reader = get_reader(str(src))
    assert reader is not None
    layer_data = reader(str(src))
    assert [(m["name"], t) for _, m, t in layer_data] == [
        ("regions", "shapes"), ("qupath detections", "shapes"), ("calibration", "points")]
    layers = [Layer.create(d, m, t) for d, m, t in layer_data]
    regions = layers[0]
    assert list(regions.features["region"][:3]) == ["epidermis", "epidermis", "dermis"]
    assert regions.face_color[1, 3] == 0  # the hole
    out = tmp_path / "out.geojson"
    assert write_geojson_layers(str(out), [lay.as_layer_data_tuple() for lay in layers]) == [
        str(out)]
    a, b = read_geojson(src), read_geojson(out)
    key = {f.id: f for f in b}
    assert len(a) == len(b)
    for f in a:
        g = key[f.id]
        # napari keeps shape vertices as float32: exact to ~1e-5 px (the core round trip is exact)
        assert shapely.equals_exact(shapely.normalize(f.geometry), shapely.normalize(g.geometry),
                                    1e-3)
        assert (f.class_name, f.name, f.object_type, f.color) == (
            g.class_name, g.name, g.object_type, g.color)


def test_reader_declines_other_files_and_plain_layers_write(tmp_path):
    (tmp_path / "config.json").write_text('{"a": 1}')
    (tmp_path / "x.tif").write_bytes(b"II*\x00")
    assert get_reader(str(tmp_path / "config.json")) is None
    assert get_reader(str(tmp_path / "x.tif")) is None
    lay = Layer.create([[[0, 0], [0, 10], [20, 10], [20, 0]]],
                       {"shape_type": "rectangle", "face_color": "red"}, "shapes")
    d, m, _ = lay.as_layer_data_tuple()
    out = write_geojson_shapes(str(tmp_path / "plain"), d, m)
    f = read_geojson(out[0])[0]
    assert out[0].endswith(".geojson") and f.geometry.bounds == (0, 0, 10, 20)
    # no class: QuPath colours by classification, so an unclassified shape carries none
    assert (f.class_name, f.color, f.object_type) == ("", None, "annotation")
