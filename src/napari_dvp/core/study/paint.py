"""Per-sample values painted on every slide of a study with ONE colour scale.

Each slide is painted by :class:`napari_dvp.core.overlay.proteins.SampleOverlay` (its
labels, its part of the study manifest); the contrast limits come from the values of all
samples of the study, so equal colours mean equal values on every slide.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .model import Study


def study_limits(values: pd.Series, centred: bool = True) -> tuple[float, float]:
    """One colour scale for every slide: symmetric around 0 (z-scores, pathway scores)
    covering the 98th percentile of |value|, else the 1st-99th percentile range."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        raise DvpInputError("no sample has a value to paint; choose another protein or set")
    if centred:
        m = max(float(np.percentile(np.abs(v), 98)), 1e-6)
        return -m, m
    lo, hi = np.percentile(v, [1, 99])
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 0.5, float(hi) + 0.5)


def paint_slides(study: Study, manifest: pd.DataFrame, values: pd.Series):
    """A generator yielding ``(done, total, message)`` and returning
    ``{slide: float32 image}`` (each cut cell = its sample's value, NaN elsewhere)."""
    from ..overlay.proteins import SampleOverlay
    from .slides import slide_data

    values = pd.Series(values, dtype=float)
    values.index = values.index.astype(str)
    slides = [s for s in study.names() if (manifest["slide"].astype(str) == s).any()]
    if not slides:
        raise DvpInputError("no slide of the study is in the manifest; export the LMD files "
                            "of the study first")
    out = {}
    for i, slide in enumerate(slides):
        yield i, len(slides), f"painting {slide}…"
        labels, _ = slide_data(study, slide, lazy=False)
        sub = manifest[manifest["slide"].astype(str) == slide]
        out[slide] = SampleOverlay(np.asarray(labels), sub).paint(values)
    yield len(slides), len(slides), f"{len(slides)} slides painted"
    return out


def slides_figure(images: dict[str, np.ndarray], limits: tuple[float, float], title: str,
                  study: Study | None = None, cmap: str = "RdBu_r"):
    """All painted slides side by side with one colour bar (matplotlib Figure)."""
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    n = len(images)
    cols = min(n, 4)
    rows = -(-n // cols)
    fig = Figure(figsize=(3.0 * cols + 0.8, 3.0 * rows + 0.6), dpi=100, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    norm = Normalize(*limits)
    im = None
    for ax, (slide, img) in zip(axes.ravel(), images.items(), strict=False):
        shown = np.ma.masked_invalid(img)
        ax.set_facecolor("0.15")
        im = ax.imshow(shown, cmap=cmap, norm=norm, interpolation="nearest")
        label = slide
        if study is not None:
            rec = study.get(slide)
            label = f"{slide} · {rec.patient} · {rec.condition}"
        ax.set_title(label, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=axes, label=f"{title} (one scale for all slides)", shrink=0.7)
    fig.suptitle(title, fontsize=10)
    return fig
