"""napari reader: a Leica LMD XML file back onto the image as shapes.

The shapes are mapped through the inverse of the export's calibration
transform (pixel size and scale from ``lmd_export.json`` beside the file,
written by napari-dvp's export). Without it, py-lmd's defaults are assumed
(scale 100, 1 unit = 1 pixel), which places py-lmd exports made from a
segmentation correctly. The layers are put on the grid of the slide they belong
to (:mod:`napari_dvp._onto_slide`) and one line says what was opened; the
calibration marks carry the role ``calibration``. A file that is not an LMD
XML gives ``None``; a broken LMD XML one error notification, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ._reader import guarded_reader
from .core.errors import DvpError, one_line
from .core.lmd.calibration import Calibration
from .core.lmd.export import SETTINGS_NAME
from .core.lmd.leica_xml import is_leica_xml, read_leica_xml


@guarded_reader
def napari_get_reader(path):
    """Return a reader for a Leica LMD ``.xml`` file, else ``None`` (never raises)."""
    try:
        if isinstance(path, (list, tuple)):
            if len(path) != 1:
                return None
            path = path[0]
        p = Path(str(path))
        if p.suffix.lower() != ".xml" or not p.is_file() or not is_leica_xml(p):
            return None
    except Exception:  # unreadable or odd path: not ours
        return None

    def reader(_path: Any = None, **_: Any) -> list:
        return read_onto_slide(p)

    return reader


def read_onto_slide(path: str | Path) -> list:
    """Read an LMD XML and put its layers on their slide, saying what was opened."""
    from ._onto_slide import place_on_slide, report_error

    try:
        layers, summary = lmd_layers_and_summary(path)
    except DvpError as exc:
        return report_error(path, one_line(exc))
    except Exception as exc:  # a bug must not become a traceback dialog either
        return report_error(path, f"{type(exc).__name__}: {one_line(exc)}")
    return place_on_slide(layers, Path(str(path)).name, summary)


def lmd_layers_and_summary(path) -> tuple[list[tuple], str]:
    """The layer data of :func:`lmd_xml_to_layer_data` and one line saying what they hold."""
    layers = lmd_xml_to_layer_data(path)
    (polys, meta, _), (marks, _, _) = layers
    wells = [w for w in dict.fromkeys(meta["features"]["well"]) if w]
    n = len(polys)
    text = f"{n:,} cut shape{'s' if n != 1 else ''}"
    if wells:
        text += f" in {len(wells)} well{'s' if len(wells) != 1 else ''}"
    text += f", {len(marks)} calibration mark{'s' if len(marks) != 1 else ''}"
    if meta["metadata"]["left_out"]:
        text += (f"; {meta['metadata']['left_out']} shape(s) with fewer than 3 points left "
                 "out")
    text += ("" if meta["metadata"]["pixel_size_from"] == SETTINGS_NAME
             else f" (no {SETTINGS_NAME} beside it: 1 XML unit = 1/100 pixel assumed)")
    return layers, text


def lmd_xml_to_layer_data(path) -> list[tuple]:
    """Shapes (one polygon per cut shape, (row, col) pixels) and the calibration marks."""
    p = Path(str(path))
    xml = read_leica_xml(p)
    px, scale, origin = 1.0, 100, "py-lmd defaults"
    settings = p.parent / SETTINGS_NAME
    if settings.is_file():
        try:
            s = json.loads(settings.read_text(encoding="utf-8"))
            px, scale, origin = float(s["pixel_size_um"]), int(s["scale"]), SETTINGS_NAME
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
                      "edge_color": colours, "opacity": 0.5,
                      "metadata": {"source": str(p), "pixel_size_from": origin,
                                   "left_out": len(xml.shapes) - len(polys)}}, "shapes")
    from ._qt._slide import ROLE

    xy = cal.from_xml(xml.calibration_xy)
    marks = (xy, {"name": f"LMD {p.stem} calibration", "symbol": "cross", "size": 40,
                  "face_color": "red", "border_color": "red",
                  "features": {"mark": list(range(1, len(xy) + 1))},
                  "text": {"string": "{mark}", "color": "red", "size": 14,
                           "anchor": "upper_left"},
                  "metadata": {"source": str(p), ROLE: "calibration"}}, "points")
    return [shapes, marks]


def read_lmd_xml(path):
    """npe2 reader function: returns layer data tuples (``None`` for non-LMD XML)."""
    if isinstance(path, list):
        path = path[0]
    if not is_leica_xml(path):
        return None
    return lmd_xml_to_layer_data(path)
