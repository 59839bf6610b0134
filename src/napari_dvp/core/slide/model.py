"""The facts of one open slide, with one owner and one rule for the pixel size.

Every step that needs micrometres asks :class:`Slide` (in the GUI) or
:func:`pixel_size_rule` (on the command line) — never a spin box or a layer
scale of its own. The rule, in order:

1. the value the user gave (Slide dock, ``--pixel-size-um``);
2. the value the file records (OME ``PhysicalSizeX``, TIFF resolution tags);
3. a value estimated from the image (typical nucleus size), when one was made;
4. otherwise an *assumed* 0.5 µm (a 20x scan), said loudly.

Steps that cut tissue (LMD export) need a value from 1 or 2 and refuse the
others with :meth:`PixelSize.require`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from psygnal import Signal

from ..errors import DvpInputError

__all__ = ["ASSUMED_PIXEL_UM", "PixelSize", "Slide", "pixel_size_rule"]

ASSUMED_PIXEL_UM = 0.5
"""What a pixel is assumed to measure when nothing says otherwise (µm, a 20x scan)."""

Source = Literal["user", "file", "estimated", "assumed"]
Stain = Literal["fluorescence", "brightfield"]


@dataclass(frozen=True)
class PixelSize:
    """A pixel size and where it came from.

    Attributes
    ----------
    um
        Micrometres per full-resolution pixel.
    source
        ``"user"``, ``"file"``, ``"estimated"`` or ``"assumed"``.
    """

    um: float
    source: Source

    @property
    def measured(self) -> bool:
        """Whether a person or the scanner gave it (not estimated or assumed)."""
        return self.source in ("user", "file")

    def describe(self, where: str = "the slide",
                 advice: str = "set it in the Slide dock or pass --pixel-size-um") -> str:
        """One line for the dock, the CLI and output metadata.

        ``advice`` (what to do when the value is a guess) suits the place the
        line is shown; the rest of the message is the same everywhere.
        """
        text = f"pixel size {self.um:g} µm"
        if self.source == "user":
            return f"{text} (set by you)"
        if self.source == "file":
            return f"{text} (from {where})"
        how = ("estimated from the size of the nuclei" if self.source == "estimated"
               else "assumed: a typical 20x scan")
        return f"{text} {how}; {where} does not record it — {advice}"

    def require(self, purpose: str, where: str = "the slide") -> float:
        """The value, if measured; else a :class:`DvpInputError` saying how to give it."""
        if not self.measured:
            raise DvpInputError(f"{purpose} needs the true pixel size, but {where} does not "
                                f"record it ({self.source} {self.um:g} µm); set it in the Slide "
                                "dock or pass --pixel-size-um")
        return self.um


def _valid(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise DvpInputError(f"{what} pixel size must be a positive number of µm (got {value})")
    return value


def pixel_size_rule(user: float | None = None, recorded: float | None = None,
                    estimated: float | None = None) -> PixelSize:
    """The one fallback rule: user, else file, else estimated, else assumed.

    Parameters
    ----------
    user
        Given by the user (``None``: not given). 0, negative, NaN are refused,
        never silently replaced.
    recorded
        Recorded in the file (``None``: not recorded).
    estimated
        Estimated from the image (``None``: no estimate).
    """
    for value, source in ((_valid(user, "the given"), "user"),
                          (_valid(recorded, "the recorded"), "file"),
                          (_valid(estimated, "the estimated"), "estimated")):
        if value is not None:
            return PixelSize(value, source)  # type: ignore[arg-type]
    return PixelSize(ASSUMED_PIXEL_UM, "assumed")


@dataclass(eq=False)
class Slide:
    """What napari-dvp knows about one open slide (Qt-free; the Slide dock edits it).

    Attributes
    ----------
    key
        Identity: the file path, or ``layer: <name>`` for an image made in memory.
    name
        Short name shown to the user.
    shape_yx
        Full-resolution size in pixels.
    channels
        Channel names (``("red", "green", "blue")`` for brightfield RGB).
    stain
        ``"fluorescence"`` or ``"brightfield"`` (RGB: H&E, IHC).
    recorded_um, user_um, estimated_um
        The inputs of :func:`pixel_size_rule`.
    cells
        Name of the labels layer that holds this slide's cells (``None``: none yet).
    """

    key: str
    name: str
    shape_yx: tuple[int, int]
    channels: tuple[str, ...]
    stain: Stain = "fluorescence"
    recorded_um: float | None = None
    user_um: float | None = None
    estimated_um: float | None = None
    cells: str | None = None
    meta: dict = field(default_factory=dict)

    changed = Signal(str)
    """Emitted with the name of the fact that changed (``"pixel_size"``, ``"cells"`` …)."""

    @property
    def pixel(self) -> PixelSize:
        """The pixel size by the one rule."""
        return pixel_size_rule(self.user_um, self.recorded_um, self.estimated_um)

    @property
    def pixel_size_um(self) -> float:
        """Shortcut for ``pixel.um``."""
        return self.pixel.um

    @property
    def is_rgb(self) -> bool:
        """Whether the slide is a brightfield colour image."""
        return self.stain == "brightfield"

    def set_pixel_size(self, um: float | None) -> None:
        """Set (or with ``None`` forget) the user's pixel size."""
        self.user_um = _valid(um, "the given")
        self.changed.emit("pixel_size")

    def set_estimate(self, um: float | None) -> None:
        """Record a pixel size estimated from the image."""
        self.estimated_um = _valid(um, "the estimated")
        self.changed.emit("pixel_size")

    def set_cells(self, layer_name: str | None) -> None:
        """Say which labels layer holds the cells of this slide."""
        if layer_name != self.cells:
            self.cells = layer_name
            self.changed.emit("cells")

    def set_channels(self, channels: tuple[str, ...]) -> None:
        """Rename the channels (same order)."""
        self.channels = tuple(channels)
        self.changed.emit("channels")

    def renamed(self, old: str, new: str) -> None:
        """Follow a rename of the cells layer."""
        if self.cells == old:
            self.set_cells(new)
