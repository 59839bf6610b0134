"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_dvp.core.torch_guard import prepare_torch_import

# Tests open napari (OpenGL via Mesa's LLVM) and import torch in one process:
# keep torch's optional triton (a second LLVM) out of it, or the process crashes.
prepare_torch_import(force=True)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Folder of real third-party files (../shared/data beside the clone); skip if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party test data not found at {SHARED_DATA} (dev checkout/CI only)")
    return SHARED_DATA


DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


@pytest.fixture
def screenshot_path(tmp_path):
    """Where a test saves a screenshot named ``name``.

    Tests never modify tracked files: screenshots go to ``tmp_path`` unless
    ``NAPARI_DVP_SCREENSHOTS=1`` is set, when they refresh ``docs/images/``
    (``NAPARI_DVP_SCREENSHOTS=1 bash scripts/bootstrap.sh test -k screenshot``).
    """
    import os

    def _path(name: str) -> Path:
        if os.environ.get("NAPARI_DVP_SCREENSHOTS") == "1":
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            return DOCS_IMAGES / name
        return tmp_path / name

    return _path


@pytest.fixture(scope="session")
def random_cpsam_file(tmp_path_factory):
    """A randomly initialised cellpose-SAM network saved as a model file (~1.2 GB, once).

    cellpose's pretrained weights download from the internet, impossible here;
    this file runs the same network and code path (its masks are arbitrary).
    """
    torch = pytest.importorskip("torch")
    from cellpose.vit import CPSAM

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("cellpose") / "random_cpsam.pth"
    torch.save(CPSAM().state_dict(), path)
    yield path
    path.unlink()
