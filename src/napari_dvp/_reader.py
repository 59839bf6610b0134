"""npe2 reader: tissue images (OME-TIFF, TIFF, PNG, JPEG, zarr), opened lazily.

Contract (napari): ``get_reader`` returns ``None`` for paths it does not read.
Policy for files with a readable extension that turn out to be unreadable
(not a TIFF behind ``.tif``, truncated, Z stack, ...): ``get_reader`` returns
``None`` *and* shows a napari warning saying what is wrong and what to do, so
the user is not left with napari's generic "no reader found". No traceback
ever escapes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

from .core.errors import DvpError, one_line
from .core.slide import TissueImage, is_image_path, open_image
from .core.slide.layers import layer_data

PathLike = str | os.PathLike[str]
LayerData = tuple[Any, dict[str, Any], str]

__all__ = ["get_reader", "guarded_reader", "read_image"]


def guarded_reader(hook: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an npe2 ``get_reader`` hook so that nothing ever raises out of it.

    A :class:`DvpError` becomes one warning notification (its one line); any
    other exception (a bug, ``RecursionError``, ``MemoryError`` …) one warning
    naming the file — and ``None``, so napari offers its other readers.
    """

    @functools.wraps(hook)
    def wrapper(path: Any) -> Any:
        try:
            return hook(path)
        except DvpError as exc:
            _warn(one_line(exc))
        except Exception as exc:
            name = os.path.basename(str(path if not isinstance(path, list | tuple) else
                                        (path[0] if path else "")))
            _warn(f"could not read {name} ({type(exc).__name__}: {one_line(exc)[:200]})")
        return None

    return wrapper


@guarded_reader
def get_reader(path: PathLike | Sequence[PathLike]) -> Callable[..., list[LayerData]] | None:
    """Return a reader function for ``path``, or ``None`` if napari-dvp does not read it.

    The image is opened here (lazily: only metadata and one tiny tile are
    read), so the returned function never fails on a file that opened.
    """
    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    if not paths or not all(is_image_path(p) for p in paths):
        return None
    images: list[TissueImage] = []
    for p in paths:
        try:
            images.append(open_image(p))
        except DvpError as exc:
            _warn(one_line(exc))
            for img in images:
                img.close()
            return None

    def reader(_path: Any = None) -> list[LayerData]:
        out: list[LayerData] = []
        for img in images:
            out.extend(layer_data(img))
        return out

    return reader


def read_image(path: PathLike | Sequence[PathLike]) -> list[LayerData]:
    """Open ``path`` and return its napari layer data (empty list if it cannot be read)."""
    reader = get_reader(path)
    return reader(path) if reader is not None else []


def _warn(message: str) -> None:
    try:
        from napari.utils.notifications import show_warning
    except ImportError:  # pragma: no cover - napari is a dependency
        return
    show_warning(f"napari-dvp: {message}")
