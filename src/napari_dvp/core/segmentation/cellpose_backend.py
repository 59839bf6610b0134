"""cellpose 4 backend (``cpsam`` by default, any cellpose model name or a local file).

cellpose fetches its pretrained weights from the internet on first use and, for
an unknown name, silently falls back to downloading its default model. To
never hang on a machine without internet, this module resolves the model
itself before cellpose sees it:

* a path to an existing file is used as it is (a file that is not a cellpose
  model raises :class:`DvpInputError`);
* a model name is looked up in cellpose's model folder (``~/.cellpose/models``
  or ``$CELLPOSE_LOCAL_MODELS_PATH``); when the weights are missing they are
  downloaded only after a connection check that gives up within a few seconds,
  otherwise :class:`DvpInputError` says what to do.

The loaded network is cached once per process (and so once per dask worker).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DvpInputError
from ..torch_guard import prepare_torch_import
from .backends import check_labels, params_from
from .params import CellposeParams

#: cellpose 4.2's downloadable models (``cellpose.models.MODEL_NAMES``; kept here so
#: that checking a name does not import torch)
CELLPOSE_MODEL_NAMES = ("cpsam", "cpsam_v2", "cpdino", "cpdino-vitb")
MODEL_HOST = "huggingface.co"
_MODEL_CACHE: dict[tuple[str, bool], object] = {}
_CACHE_LOCK = threading.Lock()


def model_dir() -> Path:
    """Folder where cellpose keeps downloaded weights (reads the environment now)."""
    env = os.environ.get("CELLPOSE_LOCAL_MODELS_PATH")
    return Path(env) if env else Path.home() / ".cellpose" / "models"


def known_model_names() -> list[str]:
    """Model names cellpose can download, plus user models registered in its GUI list."""
    names = list(CELLPOSE_MODEL_NAMES)
    listing = model_dir() / "gui_models.txt"
    if listing.is_file():
        names += [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    return names


def missing_weights_message(name: str) -> str:
    """The one line a user sees when a model's weights are not on this machine."""
    return (f"cellpose weights {name!r} are not on this machine ({model_dir() / name}) and "
            "cannot be downloaded (no internet); they are fetched on first use when online; "
            "or point at a local cellpose model file (--model /path/to/file, or "
            "'Local model file…' in the widget)")


def is_online(host: str = MODEL_HOST, port: int = 443, timeout: float = 3.0) -> bool:
    """True if a TCP connection to ``host`` opens within ``timeout`` seconds (DNS included)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def resolve_model(model: str | os.PathLike[str], allow_download: bool = True) -> Path:
    """Return the path of the weights file for a model name or file path.

    Raises
    ------
    DvpInputError
        If the file does not exist, the name is unknown, or the weights are
        missing and cannot be downloaded.
    """
    text = os.fspath(model).strip()
    path = Path(text).expanduser()
    if path.is_file():
        return path
    looks_like_path = os.sep in text or text.endswith((".pth", ".pt")) or path.suffix != ""
    if looks_like_path:
        raise DvpInputError(f"cellpose model file {text} does not exist; choose an existing file")
    cached = model_dir() / text
    if cached.is_file():
        return cached
    names = known_model_names()
    if text not in names:
        raise DvpInputError(f"unknown cellpose model {text!r}; use one of {', '.join(names)} "
                            "or a path to a local model file")
    if not allow_download or not is_online():
        raise DvpInputError(missing_weights_message(text))
    prepare_torch_import()
    from cellpose import models, utils

    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        utils.download_url_to_file(models._MODEL_URL + text, os.fspath(cached), progress=True)
    except OSError as exc:
        raise DvpInputError(f"{missing_weights_message(text)} (download failed: {exc})") from exc
    return cached


def load_model(path: Path, gpu: bool):
    """Load (once per process) a cellpose model from a weights file."""
    key = (os.fspath(Path(path).resolve()), bool(gpu))
    with _CACHE_LOCK:
        if key in _MODEL_CACHE:
            return _MODEL_CACHE[key]
        prepare_torch_import()
        import torch
        from cellpose import models

        use_gpu = bool(gpu) and torch.cuda.is_available()
        try:
            # bfloat16 (cellpose's default) halves GPU memory, but a CPU without bf16
            # units emulates it: the same 256² tile takes ~7x longer (446 s vs 65 s here)
            model = models.CellposeModel(gpu=use_gpu, pretrained_model=key[0],
                                         use_bfloat16=use_gpu)
        except Exception as exc:  # torch raises many kinds for a wrong file
            raise DvpInputError(
                f"{path} is not a cellpose model file ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:120] if str(exc) else ''}); choose a file saved by "
                "cellpose training or a downloaded cellpose model"
            ) from exc
        _MODEL_CACHE[key] = model
        return model


@dataclass(frozen=True)
class CellposeBackend:
    """Run a cellpose 4 model on each tile (nuclear + cytoplasm channels)."""

    params: CellposeParams = dataclasses.field(default_factory=CellposeParams)
    name: str = "cellpose"

    @classmethod
    def from_params(cls, **params) -> CellposeBackend:
        """Build from keyword parameters of :class:`CellposeParams`; checks the model now."""
        backend = cls(params_from("cellpose", CellposeParams, params))
        resolved = resolve_model(backend.params.model, backend.params.allow_download)
        return dataclasses.replace(backend, params=dataclasses.replace(backend.params,
                                                                       model=os.fspath(resolved)))

    @property
    def diameter_px(self) -> float | None:
        """Cell diameter in pixels handed to cellpose (``None`` = cellpose default)."""
        d = self.params.diameter_um
        return None if d is None or d <= 0 else d / self.params.pixel_size_um

    @property
    def cell_diameter_px(self) -> float:
        """Expected cell diameter in pixels (cellpose's default is 30 px)."""
        return self.diameter_px or 30.0

    def calibrate(self, overview: np.ndarray) -> CellposeBackend:
        """Fix the 1st/99th intensity percentiles per channel from the whole image's overview."""
        if not self.params.normalize:
            return self
        overview = np.asarray(overview, dtype=np.float32)
        lows = np.percentile(overview.reshape(overview.shape[0], -1), [1, 99], axis=1).T
        lowhigh = tuple((float(lo), float(hi) if hi > lo else float(lo) + 1.0) for lo, hi in lows)
        return dataclasses.replace(self, params=dataclasses.replace(self.params, lowhigh=lowhigh))

    def for_rgb(self) -> CellposeBackend:
        """A copy that hands its 3-channel tiles to cellpose as an RGB image."""
        return dataclasses.replace(self, params=dataclasses.replace(self.params, rgb=True))

    def load(self):
        """The cellpose model (loaded once per process)."""
        return load_model(Path(resolve_model(self.params.model, self.params.allow_download)),
                          self.params.gpu)

    def segment(self, tile: np.ndarray) -> np.ndarray:
        """Segment one tile (C_sel, h, w) into (h, w) int32 labels with cellpose."""
        tile = np.asarray(tile, dtype=np.float32)
        if tile.ndim == 2:
            tile = tile[None]
        p = self.params
        if p.normalize:  # 1st-99th percentile: image-wide after calibrate, else per tile
            lowhigh = p.lowhigh or tuple(
                tuple(np.percentile(ch, [1, 99]).tolist()) for ch in tile)
            tile = np.stack([(ch - lo) / max(hi - lo, 1e-6)
                             for ch, (lo, hi) in zip(tile, lowhigh, strict=False)])
        x = cellpose_input(tile, p.rgb)
        normalize = False
        model = self.load()
        masks, _flows, _styles = model.eval(
            x, channel_axis=0, diameter=self.diameter_px, flow_threshold=p.flow_threshold,
            cellprob_threshold=p.cellprob_threshold, normalize=normalize, batch_size=p.batch_size)
        return check_labels(masks, tile.shape[1:])


def cellpose_input(tile: np.ndarray, rgb: bool = False) -> np.ndarray:
    """The (3, h, w) float32 array cellpose 4 gets for a normalised (C_sel, h, w) tile.

    cellpose 4 (Cellpose-SAM) reads the first three channels of an image in any
    order. An RGB tile goes as it is (red, green, blue); otherwise channel 0 is
    the nuclear channel, channel 1 the cytoplasm (the brightest of several given)
    and channel 2 zeros, as cellpose pads a 2-channel image.
    """
    if rgb:
        if tile.shape[0] != 3:
            raise DvpInputError(f"an RGB input needs 3 channels (got {tile.shape[0]})")
        return np.ascontiguousarray(tile, dtype=np.float32)
    x = np.zeros((3, *tile.shape[1:]), np.float32)
    x[0] = tile[0]
    if tile.shape[0] > 1:
        x[1] = tile[1:].max(axis=0)
    return x
