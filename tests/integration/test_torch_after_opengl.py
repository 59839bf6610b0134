"""cellpose (torch) imported after napari has opened its OpenGL canvas must not crash.

Runs in a fresh subprocess: the test process itself hides triton (conftest).
"""

from __future__ import annotations

import subprocess
import sys

CODE = """
import napari
viewer = napari.Viewer(show=False)
from napari_dvp.core.segmentation.cellpose_backend import load_model
from napari_dvp.core.torch_guard import llvm_loaded, prepare_torch_import
prepare_torch_import()
import cellpose.models, torch
x = torch.ones(3)
print("llvm", llvm_loaded(), "sum", float(x.sum()))
viewer.close()
"""


def test_cellpose_import_after_napari_canvas_does_not_crash():
    res = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "sum 3.0" in res.stdout
