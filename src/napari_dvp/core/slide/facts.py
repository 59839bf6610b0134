"""What a slide holds, in words a pathologist reads: one summary for the Slide dock and ``info``.

:func:`slide_facts` turns what is known about a slide (size, pyramid, stain,
channels, the pixel size by the one rule) into :class:`SlideFacts`, whose
:meth:`~SlideFacts.rows` the Slide dock shows and ``napari-dvp info`` prints.
:func:`pixel_size_of_table` reads back the pixel size a cell table was
measured with (its centroids are in pixels and in µm).

Light module: numpy is imported only inside :func:`pixel_size_of_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .model import PixelSize, Stain

__all__ = ["SlideFacts", "facts_of_image", "pixel_size_of_table", "slide_facts"]

STAIN_TEXT = {"fluorescence": "Fluorescence", "brightfield": "Brightfield colour (H&E, IHC)"}


@dataclass(frozen=True)
class SlideFacts:
    """Plain facts about one slide.

    Attributes
    ----------
    name
        File name (or layer name for an image made in memory).
    stain
        ``"fluorescence"`` or ``"brightfield"``.
    channels
        Channel names.
    shape_yx
        Full-resolution size in pixels.
    level_shapes
        ``(rows, cols)`` of every pyramid level, full resolution first.
    dtype
        Pixel type (``"uint16"`` …).
    pixel
        The pixel size by the one rule, with its source.
    """

    name: str
    stain: Stain
    channels: tuple[str, ...]
    shape_yx: tuple[int, int]
    level_shapes: tuple[tuple[int, int], ...]
    dtype: str
    pixel: PixelSize

    @property
    def kind(self) -> str:
        """"Fluorescence, 5 channels" or "Brightfield colour (H&E, IHC)"."""
        if self.stain == "brightfield":
            return STAIN_TEXT["brightfield"]
        n = len(self.channels)
        return f"{STAIN_TEXT['fluorescence']}, {n} channel{'s' if n != 1 else ''}"

    @property
    def size_mm(self) -> tuple[float, float]:
        """Width and height in mm at the rule's pixel size."""
        ny, nx = self.shape_yx
        return nx * self.pixel.um / 1000, ny * self.pixel.um / 1000

    def size_text(self) -> str:
        """"12,000 × 8,000 px = 6.00 × 4.00 mm" (≈ and a note when the pixel size is a guess)."""
        ny, nx = self.shape_yx
        w, h = self.size_mm
        if self.pixel.measured:
            return f"{nx:,} × {ny:,} px = {w:.2f} × {h:.2f} mm"
        return f"{nx:,} × {ny:,} px ≈ {w:.2f} × {h:.2f} mm (if the pixel size is right)"

    def pyramid_text(self) -> str:
        """Number of levels, with a hint when a big slide has no pyramid."""
        n = len(self.level_shapes)
        if n > 1:
            return f"{n} levels"
        big = self.shape_yx[0] * self.shape_yx[1] > 4096 * 4096
        return "1 level" + (" (no pyramid: slow to browse; save as pyramidal OME-TIFF)"
                            if big else "")

    def rows(self, where: str | None = None) -> list[tuple[str, str]]:
        """``(label, text)`` rows: stain, size, pyramid, channels, pixel size, pixel type."""
        return [("Stain", self.kind), ("Size", self.size_text()),
                ("Pyramid", self.pyramid_text()), ("Channels", ", ".join(self.channels)),
                ("Pixel size", self.pixel.describe(where or self.name).removeprefix("pixel size ")),
                ("Pixel type", self.dtype)]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready facts (``napari-dvp info --json``)."""
        ny, nx = self.shape_yx
        w, h = self.size_mm
        return {"file": self.name, "kind": ("brightfield (H&E, RGB)" if self.stain == "brightfield"
                                            else "fluorescence"),
                "stain": self.stain, "size_px": [nx, ny], "size_mm": [round(w, 3), round(h, 3)],
                "pyramid_levels": len(self.level_shapes),
                "level_sizes_px": [[s[1], s[0]] for s in self.level_shapes],
                "channels": list(self.channels), "pixel_size_um": self.pixel.um,
                "pixel_size_source": self.pixel.source,
                "pixel_size": self.pixel.describe(self.name), "pixel_type": self.dtype}


def slide_facts(name: str, stain: Stain, channels: Sequence[str], level_shapes:
                Sequence[Sequence[int]], dtype: Any, pixel: PixelSize) -> SlideFacts:
    """Build :class:`SlideFacts` (``level_shapes`` as ``(rows, cols)``, full resolution first)."""
    shapes = tuple((int(s[0]), int(s[1])) for s in level_shapes)
    return SlideFacts(name=name, stain=stain, channels=tuple(str(c) for c in channels),
                      shape_yx=shapes[0], level_shapes=shapes, dtype=str(dtype), pixel=pixel)


def facts_of_image(image: Any, user_um: float | None = None) -> SlideFacts:
    """Facts of an opened :class:`~napari_dvp.core.slide.TissueImage` (pixel size by the rule)."""
    from .model import pixel_size_rule

    return slide_facts(image.path.name, "brightfield" if image.is_rgb else "fluorescence",
                       image.channel_names, image.level_shapes, image.dtype,
                       pixel_size_rule(user_um, image.pixel_size_um))


def pixel_size_of_table(table: Any) -> float | None:
    """The pixel size (µm) a cell table was measured with, from its centroids in px and µm.

    ``None`` when the table lacks ``centroid_row``/``centroid_y_um`` (and the
    column pair), has no cell off the origin, or the ratios disagree by more than 0.1 %.
    """
    import numpy as np

    from ..cells.columns import COL, ROW, X_UM, Y_UM

    if any(c not in getattr(table, "columns", ()) for c in (ROW, COL, Y_UM, X_UM)):
        return None
    px = np.concatenate([table[ROW].to_numpy(float), table[COL].to_numpy(float)])
    um = np.concatenate([table[Y_UM].to_numpy(float), table[X_UM].to_numpy(float)])
    ok = np.isfinite(px) & np.isfinite(um) & (px > 1)
    if not ok.any():
        return None
    ratio = um[ok] / px[ok]
    value = float(np.median(ratio))
    if value <= 0 or np.abs(ratio - value).max() > 1e-3 * value:
        return None
    for digits in (3, 4, 5):  # tables written as text keep 4 digits: 0.50003 is 0.5
        short = float(f"{value:.{digits}g}")
        if abs(short - value) <= 2e-4 * value:
            return short
    return float(f"{value:.6g}")
