"""Leica LMD XML: writer and (safe) reader.

Layout written (the one the Leica LMD software and py-lmd read)::

    <?xml version='1.0' encoding='UTF-8'?>
    <ImageData>
      <GlobalCoordinates>1</GlobalCoordinates>
      <X_CalibrationPoint_1>…</X_CalibrationPoint_1>
      <Y_CalibrationPoint_1>…</Y_CalibrationPoint_1>
      … _2, _3
      <ShapeCount>N</ShapeCount>
      <Shape_1>
        <PointCount>k</PointCount>
        <CapID>A1</CapID>
        <X_1>…</X_1><Y_1>…</Y_1> …
      </Shape_1>
      …
    </ImageData>

All coordinates are integers in the frame of
:class:`~napari_dvp.core.lmd.calibration.Calibration` (µm × scale, y up).
``GlobalCoordinates`` is 1 (coordinates are given relative to the calibration
marks; py-lmd's development head writes 1 as well, 1.6.1 wrote the count 3).
Polygons are written closed (last point = first point), as py-lmd does.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ..errors import DvpInputError, one_line


def write_leica_xml(
    path: str | os.PathLike[str],
    calibration_xy: np.ndarray,
    shapes: list[np.ndarray],
    wells: list[str | None],
) -> Path:
    """Write a Leica LMD XML file.

    Parameters
    ----------
    path
        Target file (write it inside an atomic folder or via ``atomic_path``).
    calibration_xy
        ``(3, 2)`` integer calibration points (X, Y) in XML units.
    shapes
        One ``(k, 2)`` integer array (X, Y) per shape, in cut order.
    wells
        ``CapID`` per shape (``None`` to omit).
    """
    cal = np.asarray(calibration_xy, dtype=np.int64)
    if cal.shape != (3, 2):
        raise DvpInputError("Leica XML needs exactly three calibration points")
    if len(shapes) != len(wells):
        raise ValueError("one well per shape expected")
    parts = ["<?xml version='1.0' encoding='UTF-8'?>\n<ImageData>\n",
             "  <GlobalCoordinates>1</GlobalCoordinates>\n"]
    for i, (x, y) in enumerate(cal, start=1):
        parts.append(f"  <X_CalibrationPoint_{i}>{x}</X_CalibrationPoint_{i}>\n"
                     f"  <Y_CalibrationPoint_{i}>{y}</Y_CalibrationPoint_{i}>\n")
    parts.append(f"  <ShapeCount>{len(shapes)}</ShapeCount>\n")
    counts = np.fromiter((len(p) for p in shapes), dtype=np.int64, count=len(shapes))
    allp = (np.concatenate([np.asarray(p, dtype=np.int64).reshape(-1, 2) for p in shapes])
            if len(shapes) else np.empty((0, 2), np.int64))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    k = np.arange(len(allp)) - np.repeat(starts, counts) + 1
    vals = np.column_stack([k, allp[:, 0], k, k, allp[:, 1], k]).ravel().tolist()
    for n, (well, a, m) in enumerate(zip(wells, starts.tolist(), counts.tolist(),
                                         strict=True), start=1):
        cap = f"    <CapID>{escape(str(well))}</CapID>\n" if well is not None else ""
        coords = (_POINT * m) % tuple(vals[6 * a:6 * (a + m)])
        parts.append(f"  <Shape_{n}>\n    <PointCount>{m}</PointCount>\n{cap}"
                     f"{coords}  </Shape_{n}>\n")
    parts.append("</ImageData>\n")
    path = Path(path)
    path.write_text("".join(parts), encoding="utf-8")
    return path


@dataclass
class LeicaXml:
    """Content of a Leica LMD XML file (coordinates as in the file)."""

    calibration_xy: np.ndarray
    shapes: list[np.ndarray] = field(default_factory=list)
    wells: list[str | None] = field(default_factory=list)


def is_leica_xml(path: str | os.PathLike[str]) -> bool:
    """Quick sniff: does the file start like a Leica LMD XML (root ``ImageData``)?"""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return b"<ImageData" in head and (b"CalibrationPoint" in head or b"ShapeCount" in head)


_POINT = "    <X_%d>%d</X_%d>\n    <Y_%d>%d</Y_%d>\n"
_XY = re.compile(r"^([XY])_(\d+)$")


def read_leica_xml(path: str | os.PathLike[str]) -> LeicaXml:
    """Read a Leica LMD XML file with :mod:`defusedxml` (no entity expansion).

    Raises
    ------
    DvpInputError
        If the file is not XML or not an LMD shape file.
    """
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeET

    try:
        root = SafeET.parse(str(path)).getroot()
    except DefusedXmlException as exc:  # entity declarations, external references
        raise DvpInputError(f"{Path(path).name} declares XML entities or external references "
                            f"({type(exc).__name__}), which are refused for safety; export the "
                            "file again from the LMD software") from None
    except Exception as exc:  # ParseError, OSError
        raise DvpInputError(f"{Path(path).name} is not a readable XML file "
                            f"({one_line(exc)[:120]})") from None
    if root.tag != "ImageData":
        raise DvpInputError(
            f"{Path(path).name} is not a Leica LMD file (root <{root.tag}>, expected <ImageData>)"
        )
    name = Path(path).name
    cal = np.zeros((3, 2), dtype=np.int64)
    seen = 0
    shapes: list[np.ndarray] = []
    wells: list[str | None] = []
    for child in root:
        tag = child.tag
        m = re.match(r"^([XY])_CalibrationPoint_(\d+)$", tag)
        if m:
            k = int(m.group(2)) - 1
            if 0 <= k < 3:
                cal[k, 0 if m.group(1) == "X" else 1] = _coordinate(child.text, tag, name)
                seen += 1
            continue
        if tag.startswith("Shape_"):
            count = (child.findtext("PointCount") or "0").strip()
            n_xy = sum(1 for el in child if _XY.match(el.tag))
            if not count.isdigit() or 2 * int(count) > n_xy:  # also refuses a huge declared count
                raise DvpInputError(f"{name}: {tag} has PointCount {count[:20]!r} but holds "
                                    f"{n_xy // 2} points; the file is damaged, export it again")
            n = int(count)
            pts = np.zeros((n, 2), dtype=np.int64)
            given = np.zeros((n, 2), dtype=np.int64)  # how often each X_k / Y_k occurs
            well = None
            for el in child:
                mm = _XY.match(el.tag)
                if mm:
                    k = int(mm.group(2)) - 1
                    if 0 <= k < n:
                        axis = 0 if mm.group(1) == "X" else 1
                        pts[k, axis] = _coordinate(el.text, f"{tag}/{el.tag}", name)
                        given[k, axis] += 1
                elif el.tag == "CapID":
                    well = (el.text or "").strip() or None
            if n and not (given == 1).all():  # e.g. one X_1 repeated instead of X_1 … X_n
                k, axis = np.argwhere(given != 1)[0]
                raise DvpInputError(
                    f"{name}: {tag} gives {'XY'[axis]}_{k + 1} {given[k, axis]} times (each of "
                    f"its {n} points needs exactly one X and one Y); the file is damaged, "
                    "export it again")
            shapes.append(pts)
            wells.append(well)
    if seen < 6:
        raise DvpInputError(
            f"{name} lacks the three calibration points of an LMD file"
        )
    return LeicaXml(cal, shapes, wells)


def _coordinate(text: str | None, where: str, name: str) -> int:
    """An integer coordinate of the XML (``1.0`` accepted); one-line error otherwise."""
    try:
        value = float(text or 0)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or abs(value) > 2**53:
        raise DvpInputError(f"{name}: {where} holds {str(text).strip()[:20]!r}, not a "
                            "coordinate; the file is damaged, export it again")
    return int(value)
