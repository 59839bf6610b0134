"""napari-dvp: Deep Visual Proteomics in napari.

Importing this package never imports Qt or napari; the GUI lives in
:mod:`napari_dvp._qt` and the napari contributions named in ``napari.yaml``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("napari-dvp")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
