"""Import torch (for cellpose) safely inside a process that already draws with OpenGL.

On Linux, Mesa's OpenGL drivers (llvmpipe under Xvfb, radeonsi, …) load
``libLLVM``. The CUDA build of torch imports ``triton`` as soon as
``torch._dynamo`` is imported (torchvision does, and cellpose imports
torchvision), and triton carries its own, different LLVM: loading both into one
process crashes it with a segmentation fault. napari opens its OpenGL canvas
before any plugin runs, so napari-dvp must import torch second.

Cellpose's inference never uses triton (it only serves ``torch.compile`` on a
GPU). When an LLVM is already mapped into this process and torch is not yet
imported, :func:`prepare_torch_import` hides triton from torch, which then
behaves as on a machine without triton. Elsewhere it does nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path


def llvm_loaded() -> bool:
    """Whether a shared LLVM library is mapped into this process (Linux only)."""
    maps = Path("/proc/self/maps")
    if not maps.is_file():
        return False
    try:
        return "libLLVM" in maps.read_text(errors="ignore")
    except OSError:
        return False


def prepare_torch_import(force: bool = False) -> bool:
    """Hide triton from torch when importing it now would clash with Mesa's LLVM.

    Parameters
    ----------
    force
        Hide triton even if no LLVM is loaded yet (e.g. in a test process that
        will open OpenGL canvases before and after torch).

    Returns
    -------
    bool
        True if triton is hidden (``import triton`` raises ImportError).
    """
    if "triton" in sys.modules:
        return sys.modules["triton"] is None
    if "torch" in sys.modules and not force:
        return False
    if force or llvm_loaded():
        sys.modules["triton"] = None  # type: ignore[assignment]
        return True
    return False
