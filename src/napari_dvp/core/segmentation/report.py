"""What a segmentation run tells its user: nucleus size, nuclei only, a pixel size from the nuclei.

The Segment dock and ``napari-dvp segment`` print the same lines:

* the nucleus size the built-in method used, when it was estimated from the
  image, and how to correct it (:func:`.pipeline.scale_report`);
* that a nuclei-only input gave nuclei, not cells, and how to grow cells;
* for a slide that records no pixel size, the pixel size its nuclei suggest
  (:func:`pixel_size_from_nuclei`): nuclei of human tissue are about
  :data:`TYPICAL_NUCLEUS_UM` across, so ``typical / diameter in pixels`` is a
  rough pixel size — offered to the user, never applied silently.
"""

from __future__ import annotations

from types import SimpleNamespace

from .pipeline import scale_report

__all__ = ["NUCLEI_ONLY", "TYPICAL_NUCLEUS_UM", "is_nuclei_only", "pixel_hint",
           "pixel_size_from_nuclei", "report_lines", "size_lines"]

TYPICAL_NUCLEUS_UM = 7.0
"""Typical nucleus diameter of human tissue (µm): lymphocytes ~6, keratinocytes ~8-9."""

NUCLEI_ONLY = "nuclei only — expansion 0; set a cell expansion to grow cells"
"""Said when a nuclei-only input gave nuclei because no expansion was set."""


def is_nuclei_only(backend, n_channels: int) -> bool:
    """Whether the built-in ``backend`` gives bare nuclei for an input of ``n_channels``.

    True only when the expansion was left automatic (the user did not ask for 0).
    """
    params = getattr(backend, "params", None)
    if getattr(backend, "name", "") != "builtin" or params.max_expansion_um is not None:
        return False
    return backend.expansion_px(n_channels) == 0


def pixel_size_from_nuclei(estimate) -> float | None:
    """A rough pixel size (µm) from a nucleus size estimate, or ``None`` if nothing was found.

    Parameters
    ----------
    estimate
        A :class:`~.scale.NucleusSizeEstimate`.
    """
    if estimate is None or estimate.confidence == "none" or not estimate.diameter_px > 0:
        return None
    return float(f"{TYPICAL_NUCLEUS_UM / estimate.diameter_px:.2g}")


def pixel_hint(estimate, pixel, where: str = "the slide") -> str | None:
    """One line offering the pixel size the nuclei suggest, when the slide has no measured one.

    ``pixel`` is the slide's :class:`~napari_dvp.core.slide.model.PixelSize`.
    """
    if pixel.measured:
        return None
    um = pixel_size_from_nuclei(estimate)
    if um is None:
        return None
    return (f"{where} records no pixel size; if its nuclei are of typical size (about "
            f"{TYPICAL_NUCLEUS_UM:g} µm across), a pixel measures about {um:g} µm — a rough "
            "estimate: the scanner's report gives the true value")


def size_lines(estimate, pixel, where: str = "the slide") -> list[str]:
    """The lines about a nucleus size estimated without a run: the size, and a pixel size hint."""
    lines = [scale_report(SimpleNamespace(size_estimate=estimate), pixel.um, pixel.source)]
    hint = pixel_hint(estimate, pixel, where)
    return [*lines, hint] if hint else lines


def report_lines(backend, n_channels: int, pixel, where: str = "the slide") -> list[str]:
    """The lines to show after a run with the calibrated ``backend`` (may be empty).

    Parameters
    ----------
    backend
        The calibrated backend of the run.
    n_channels
        Number of channels it segmented (1 = nuclear only).
    pixel
        The pixel size the run used (:class:`~napari_dvp.core.slide.model.PixelSize`).
    where
        How to name the slide or file in the lines.
    """
    lines = []
    scale = scale_report(backend, pixel.um, pixel.source)
    if scale:
        lines.append(scale)
    if is_nuclei_only(backend, n_channels):
        lines.append(NUCLEI_ONLY)
    hint = pixel_hint(getattr(backend, "size_estimate", None), pixel, where)
    if hint:
        lines.append(hint)
    return lines
