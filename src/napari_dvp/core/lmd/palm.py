"""Zeiss PALM RoboSoftware "elements" text file (tab-separated).

Layout (as PALMRobo exports and imports element lists)::

    PALMRobo Elements
    Version:\tV 4.9.0.0
    Date, Time:\t25.11.2026\t15:00:00
    <blank>
    MICROMETER
    Elements :
    <blank>
    Type\tColor\tThickness\tNo\tLaser function\tCutShot\tArea\tZ\tWell\tObjective\t
    Comment\tCoordinates   (one line in the file)
    <blank>
    Freehand\tgreen\t2\t1\tCut\t0,0\t123.4\t0\tA1\t5\tS001\t
    .\tx1,y1\tx2,y2\tx3,y3\tx4,y4\tx5,y5
    .\tx6,y6 …

Coordinates are **absolute stage positions in µm** with two decimals, the
frame PALMRobo moves the stage in (its X and Y axes as the software shows
them). napari-dvp maps every image point there through the affine map fitted
exactly through the three calibration marks: their image positions and the
stage positions the operator reads off PALMRobo for marks 1, 2 and 3 (see
:class:`~napari_dvp.core.lmd.calibration.Calibration`, ``stage_um``). Whatever
the stage's axes do relative to the camera image (on many PALM set-ups X runs
against the image columns and Y against the rows), rotation and mirror are
absorbed by that fit; the scale must match the pixel size. Each element is
closed. The three calibration marks are listed first as ``Dot`` elements (laser
function ``None``, comment ``calibration mark k``) at their stage positions, so
the operator can check the registration on the slide. Well names are written
as on the plate (``A1``); the sample id goes into the ``Comment`` column.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import numpy as np

from ..errors import DvpInputError
from .plan_common import has_control_chars

HEADER = ("Type", "Color", "Thickness", "No", "Laser function", "CutShot", "Area", "Z",
          "Well", "Objective", "Comment", "Coordinates")


def write_palm(
    path: str | os.PathLike[str],
    calibration_um: np.ndarray,
    shapes_um: list[np.ndarray],
    wells: list[str],
    comments: list[str] | None = None,
    objective: int = 5,
    now: _dt.datetime | None = None,
) -> Path:
    """Write a PALM RoboSoftware elements file.

    Parameters
    ----------
    path
        Target ``.txt`` file.
    calibration_um
        ``(3, 2)`` calibration marks (X, Y), stage µm.
    shapes_um
        One ``(k, 2)`` array (X, Y) in stage µm per shape, in cut order.
    wells
        Well of each shape.
    comments
        Text per shape (e.g. the sample id).
    """
    now = now or _dt.datetime.now()
    comments = comments or [""] * len(shapes_um)
    bad = [t for t in [*wells, *comments] if has_control_chars(t)]
    if bad:  # a tab or line break would add columns or elements to the list
        raise DvpInputError(f"{bad[0][:40]!r} holds a control character (tab, line break …); "
                            "rename the sample or well")
    lines = [
        "PALMRobo Elements",
        "Version:\tV 4.9.0.0",
        f"Date, Time:\t{now:%d.%m.%Y}\t{now:%H:%M:%S}",
        "",
        "MICROMETER",
        "Elements :",
        "",
        "\t".join(HEADER),
        "",
    ]
    no = 0
    for k, (x, y) in enumerate(np.asarray(calibration_um, dtype=float), start=1):
        no += 1
        lines.append(f"Dot\tred\t2\t{no}\tNone\t0,0\t0\t0\t\t{objective}\tcalibration mark {k}\t")
        lines.append(f".\t{x:.2f},{y:.2f}")
    for pts, well, comment in zip(shapes_um, wells, comments, strict=False):
        no += 1
        p = np.asarray(pts, dtype=float)
        area = 0.5 * abs(np.dot(p[:-1, 0], p[1:, 1]) - np.dot(p[1:, 0], p[:-1, 1]))
        lines.append(f"Freehand\tgreen\t2\t{no}\tCut\t0,0\t{area:.2f}\t0\t{well}\t{objective}"
                     f"\t{comment}\t")
        pairs = [f"{x:.2f},{y:.2f}" for x, y in p.tolist()]
        for i in range(0, len(pairs), 5):
            lines.append(".\t" + "\t".join(pairs[i:i + 5]))
    path = Path(path)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def read_palm(path: str | os.PathLike[str]) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Read back the ``Freehand`` elements of a PALM elements file (for tests and checks).

    Returns
    -------
    shapes, wells, types
        Point arrays (µm), well names, and element types (all elements, dots included).
    """
    shapes: list[list[tuple[float, float]]] = []
    wells: list[str] = []
    types: list[str] = []
    started = False
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if cells[0] == "Type":
            started = True
            continue
        if not started or not line.strip():
            continue
        if cells[0] == ".":
            shapes[-1].extend(tuple(map(float, c.split(","))) for c in cells[1:] if c)
        else:
            types.append(cells[0])
            wells.append(cells[8] if len(cells) > 8 else "")
            shapes.append([])
    return [np.asarray(s, dtype=float) for s in shapes], wells, types
