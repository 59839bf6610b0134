"""Channel names and pixel size from OME-XML, ImageJ, Aperio and TIFF tags."""

from __future__ import annotations

import re
from typing import Any

from defusedxml import ElementTree

__all__ = ["UNIT_UM", "ome_images", "ome_info", "pixel_size_from_tags", "to_um"]

UNIT_UM = {
    "µm": 1.0, "μm": 1.0, "um": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
    "\\u00b5m": 1.0, "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3, "millimeter": 1e3,
    "cm": 1e4, "centimeter": 1e4, "m": 1e6, "meter": 1e6, "å": 1e-4, "pm": 1e-6,
}
#: pixel sizes outside this range are not microscopy (e.g. 72 dpi from an image editor)
PLAUSIBLE_UM = (1e-3, 50.0)


def to_um(value: Any, unit: str | None) -> float | None:
    """``value`` in ``unit`` as micrometres; ``None`` if unknown or implausible."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    factor = UNIT_UM.get((unit or "µm").strip().lower())
    if factor is None:
        return None
    um = v * factor
    return um if PLAUSIBLE_UM[0] <= um <= PLAUSIBLE_UM[1] else None


def ome_info(xml: str) -> tuple[list[str], float | None]:
    """Channel names and pixel size (µm) of the first OME ``Image``.

    Returns ``([], None)`` for what cannot be parsed.
    """
    try:
        root = ElementTree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except Exception:
        return [], None
    pixels = None
    for el in root.iter():
        if _local(el.tag) == "Pixels":
            pixels = el
            break
    if pixels is None:
        return [], None
    names = []
    for i, ch in enumerate(el for el in pixels if _local(el.tag) == "Channel"):
        names.append(ch.get("Name") or ch.get("Fluor") or f"Channel {i}")
    px = to_um(pixels.get("PhysicalSizeX"), pixels.get("PhysicalSizeXUnit", "µm"))
    return names, px


def ome_images(xml: str | bytes) -> list[dict[str, int]] | None:
    """Declared sizes of every OME ``Image``: ``SizeX, SizeY, SizeC, SizeZ, SizeT, planes``.

    ``planes`` is the number of TIFF pages the image needs (``SizeC`` divided
    by the samples per pixel, times ``SizeZ`` and ``SizeT``). Returns ``None``
    when the XML cannot be parsed (the caller then trusts the pages).

    Raises
    ------
    ValueError
        A size that is not a positive integer.
    """
    try:
        root = ElementTree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
    except Exception:
        return None
    images = []
    for image in (el for el in root if _local(el.tag) == "Image"):
        pixels = next((el for el in image if _local(el.tag) == "Pixels"), None)
        if pixels is None:
            continue
        sizes = {}
        for key in ("SizeX", "SizeY", "SizeC", "SizeZ", "SizeT"):
            text = pixels.get(key, "1")
            value = int(text) if text.strip().isdigit() else -1
            if value < 1:
                raise ValueError(f"{key}={text!r}")
            sizes[key] = value
        channel = next((el for el in pixels if _local(el.tag) == "Channel"), None)
        spp = channel.get("SamplesPerPixel", "1") if channel is not None else "1"
        spp_n = int(spp) if spp.strip().isdigit() and int(spp) > 0 else 1
        sizes["samples"] = spp_n
        sizes["planes"] = max(sizes["SizeC"] // spp_n, 1) * sizes["SizeZ"] * sizes["SizeT"]
        sizes["files"] = sum(1 for el in pixels.iter() if _local(el.tag) == "UUID"
                             and el.get("FileName"))
        images.append(sizes)
    return images


def pixel_size_from_tags(page: Any, imagej: dict | None = None) -> float | None:
    """Pixel size (µm) from Aperio ``MPP``, ImageJ units or TIFF resolution tags."""
    desc = page.description or ""
    m = re.search(r"\bMPP\s*=\s*([0-9.eE+-]+)", desc)
    if m:
        px = to_um(m.group(1), "µm")
        if px is not None:
            return px
    tag = page.tags.get("XResolution")
    if tag is None:
        return None
    num, den = tag.value if isinstance(tag.value, tuple) else (tag.value, 1)
    if not num or not den:
        return None
    per_unit = num / den  # pixels per unit
    if imagej and imagej.get("unit"):
        return to_um(1.0 / per_unit, str(imagej["unit"]))
    unit_tag = page.tags.get("ResolutionUnit")
    unit = int(unit_tag.value) if unit_tag is not None else 2
    if unit == 3:  # centimetre
        return to_um(1.0 / per_unit, "cm")
    if unit == 2 and per_unit > 2000:  # inch; ignore screen/print dpi such as 72 or 300
        return to_um(25400.0 / per_unit, "µm")
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
