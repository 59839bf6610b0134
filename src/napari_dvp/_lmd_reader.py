"""napari reader: a Leica LMD XML file back onto the image as shapes.

The shapes are mapped through the inverse of the export's calibration
transform (pixel size and scale from ``lmd_export.json`` beside the file,
written by napari-dvp's export). Without it, py-lmd's defaults are assumed
(scale 100, 1 unit = 1 pixel), which places py-lmd exports made from a
segmentation correctly. A file that is not an LMD XML gives ``None``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._reader import guarded_reader
from .core.errors import DvpError, one_line
from .core.lmd.calibration import Calibration
from .core.lmd.export import SETTINGS_NAME
from .core.lmd.leica_xml import is_leica_xml, read_leica_xml


@guarded_reader
def napari_get_reader(path):
    """Return :func:`read_lmd_xml` for a Leica LMD ``.xml`` file, else ``None``."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(str(path))
    if p.suffix.lower() != ".xml" or not p.is_file() or not is_leica_xml(p):
        return None
    try:  # parse now (LMD files are small): a broken file is a notification, not a traceback
        layers = lmd_xml_to_layer_data(p)
    except DvpError as exc:
        _warn(one_line(exc))
        return None

    def reader(_path=None):
        return layers

    return reader


def _warn(message: str) -> None:
    from napari.utils.notifications import show_warning

    show_warning(f"napari-dvp: {message}")


def lmd_xml_to_layer_data(path) -> list[tuple]:
    """Shapes (one polygon per cut shape, (row, col) pixels) and the calibration marks."""
    p = Path(str(path))
    xml = read_leica_xml(p)
    px, scale = 1.0, 100
    settings = p.parent / SETTINGS_NAME
    if settings.is_file():
        try:
            s = json.loads(settings.read_text(encoding="utf-8"))
            px, scale = float(s["pixel_size_um"]), int(s["scale"])
        except (ValueError, KeyError, TypeError):
            pass
    cal = Calibration(np.zeros((3, 2)), px, scale)
    polys = [cal.from_xml(s) for s in xml.shapes if len(s) >= 3]
    wells = [w or "" for s, w in zip(xml.shapes, xml.wells, strict=True) if len(s) >= 3]
    uniq = list(dict.fromkeys(wells))
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    colours = [cmap(uniq.index(w) % 20) for w in wells]
    shapes = (polys, {"name": f"LMD {p.stem}", "shape_type": "polygon",
                      "features": {"well": wells}, "face_color": colours,
                      "edge_color": colours, "opacity": 0.5}, "shapes")
    marks = (cal.from_xml(xml.calibration_xy),
             {"name": f"LMD {p.stem} calibration", "symbol": "cross", "size": 20,
              "face_color": "red", "features": {"mark": [1, 2, 3]},
              "text": {"string": "{mark}", "color": "red"}}, "points")
    return [shapes, marks]


def read_lmd_xml(path):
    """npe2 reader function: returns layer data tuples (``None`` for non-LMD XML)."""
    if isinstance(path, list):
        path = path[0]
    if not is_leica_xml(path):
        return None
    return lmd_xml_to_layer_data(path)
