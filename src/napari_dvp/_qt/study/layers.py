"""Layers of the Study dock: every slide's painted values, side by side, one contrast range."""

from __future__ import annotations

from .._slide import set_role
from ..proteomics.layers import CMAP

GAP_PX = 40


def show_slides(viewer, study, images: dict, limits: tuple[float, float], title: str) -> list:
    """Add (or replace) one overlay image per slide, ``"<slide> · <title>"``, in µm, placed
    left to right with the same contrast limits; returns the layers."""
    layers, x = [], 0.0
    for slide, img in images.items():
        px = study.get(slide).pixel.um
        name = f"{slide} · {title}"
        if name in viewer.layers:
            viewer.layers.remove(name)
        layer = viewer.add_image(img, name=name, colormap=CMAP, contrast_limits=limits,
                                 scale=(px, px), translate=(0.0, x), blending="translucent")
        set_role(layer, "overlay")
        layers.append(layer)
        x += (img.shape[1] + GAP_PX) * px
    viewer.reset_view()
    return layers
