"""QC picture of an LMD export: shapes over the image, coloured by well, with the marks."""

from __future__ import annotations

import os

import numpy as np
import shapely


def well_colours(wells: list[str]) -> dict[str, tuple[float, float, float, float]]:
    """A distinct RGBA colour per well (tab20 without its greys, cycled)."""
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    uniq = list(dict.fromkeys(wells))
    # distinct hues before light shades; tab20's greys (14, 15) look like unselected cells
    hue_first = [k for k in [*range(0, 20, 2), *range(1, 20, 2)] if k not in (14, 15)]
    return {w: cmap(hue_first[k % len(hue_first)]) for k, w in enumerate(uniq)}


def well_lut(plan, wells: dict[str, str], max_id: int | None = None) -> np.ndarray:
    """RGBA ``uint8`` lookup table: every planned cell in its well's colour, others transparent.

    Use with :func:`napari_dvp.core.overlay.lut.apply_lut` over the labels (lazy for dask labels).
    """
    from ..overlay.lut import build_lut

    colours = well_colours([wells[s] for s in plan["sample_id"]])
    ids = [np.asarray(c, dtype=np.int64) for c in plan["cell_ids"]]
    rgba = (np.asarray([colours[wells[s]] for s in plan["sample_id"]]) * 255).astype(np.uint8)
    per_cell = np.repeat(rgba, [len(c) for c in ids], axis=0)
    all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
    return build_lut(all_ids, per_cell.reshape(-1, 4), max_id=max_id, fill=0, dtype=np.uint8)


def _background(labels: np.ndarray, image: np.ndarray | None, step: int) -> np.ndarray:
    if image is not None:
        img = np.asarray(image)
        if img.ndim == 3 and img.shape[-1] in (3, 4) and img.shape[0] not in (3, 4):
            bg = img[::step, ::step, :3].astype(float).mean(-1)
        elif img.ndim == 3:
            bg = img[0, ::step, ::step].astype(float)
        else:
            bg = img[::step, ::step].astype(float)
        lo, hi = np.percentile(bg, [1, 99.5]) if bg.size else (0, 1)
        return np.clip((bg - lo) / max(hi - lo, 1e-9), 0, 1)
    return (np.asarray(labels)[::step, ::step] > 0).astype(float) * 0.35


def legend_rows(wells: list[str], samples: list[str] | None = None
                ) -> list[tuple[str, str, tuple[float, float, float, float]]]:
    """``(sample, well, colour)`` per well, in the order the wells first appear (for a legend).

    The same colours as the QC picture and :func:`well_lut`; the dock can show
    them as a table.
    """
    colours = well_colours(list(wells))
    samples = list(samples) if samples is not None else [""] * len(wells)
    first: dict[str, str] = {}
    for wl, s in zip(wells, samples, strict=True):
        first.setdefault(wl, s)
    return [(first[wl], wl, colours[wl]) for wl in colours]


def draw_qc(
    path: str | os.PathLike[str],
    labels: np.ndarray,
    geoms: np.ndarray,
    wells: list[str],
    marks_rc: np.ndarray,
    image: np.ndarray | None = None,
    max_side: int = 1600,
    samples: list[str] | None = None,
    max_legend: int = 48,
) -> None:
    """Save a PNG: image (or cell mask), shapes filled by well, legend, numbered marks 1-3.

    Parameters
    ----------
    geoms
        Shapes in pixel coordinates (x=col, y=row), in cut order.
    wells
        Well of each shape.
    marks_rc
        Calibration marks (row, col), drawn as large crosses with their number.
    samples
        Sample id of each shape: the legend reads ``sample -> well`` in the well's colour.
    max_legend
        At most this many legend rows (then "… and N more").
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import patheffects
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    h, w = np.asarray(labels).shape[:2]
    step = max(1, int(np.ceil(max(h, w) / max_side)))
    bg = _background(labels, image, step)
    aspect = h / max(w, 1)
    fig = Figure(figsize=(12.5, max(10 * aspect, 4.0) + 0.6), dpi=150)
    ax = fig.add_axes((0.0, 0.0, 0.78, 0.94))
    ax.set_facecolor("white")
    ax.imshow(bg, cmap="gray", extent=(-0.5, w - 0.5, h - 0.5, -0.5), vmin=0, vmax=1,
              interpolation="nearest")
    colours = well_colours(list(wells))
    if len(geoms):
        # at most one vertex per output pixel: drawing 100k shapes stays quick
        rings = shapely.simplify(shapely.get_exterior_ring(geoms), step * 0.5)
        coords, idx = shapely.get_coordinates(rings, return_index=True)
        verts = np.split(coords, np.flatnonzero(np.diff(idx)) + 1)
        face = [colours[wl] for wl in wells]
        ax.add_collection(PolyCollection(verts, facecolors=face, edgecolors=face,
                                         linewidths=0.4, alpha=0.6))
    m = np.asarray(marks_rc, dtype=float)
    halo = [patheffects.withStroke(linewidth=5, foreground="white")]
    size = 14 + 6 * (max(h, w) > 2000)
    ax.plot(m[:, 1], m[:, 0], linestyle="none", marker="+", color="red", markersize=2 * size,
            markeredgewidth=3, path_effects=halo, zorder=5)
    ax.plot(m[:, 1], m[:, 0], linestyle="none", marker="o", markerfacecolor="none",
            markeredgecolor="red", markersize=2 * size, markeredgewidth=2, zorder=5)
    for k, (r, c) in enumerate(m, start=1):
        # the number sits on the side of the mark that faces the image centre
        dx = 1.3 * size if c < w / 2 else -1.3 * size
        dy = -1.3 * size if r < h / 2 else 1.3 * size
        ax.annotate(str(k), (c, r), xytext=(dx, dy), textcoords="offset points",
                    ha="center", va="center", color="red", fontsize=size, fontweight="bold",
                    zorder=6, annotation_clip=False,
                    bbox={"boxstyle": "circle,pad=0.25", "facecolor": "white",
                          "edgecolor": "red", "alpha": 0.9})
    pad = 0.03 * max(h, w)  # marks on the image edge stay whole
    ax.set_xlim(-0.5 - pad, w - 0.5 + pad)
    ax.set_ylim(h - 0.5 + pad, -0.5 - pad)
    ax.set_axis_off()
    rows = legend_rows(list(wells), samples)
    handles = [Patch(facecolor=col, edgecolor=col, alpha=0.8,
                     label=f"{s} → {wl}" if s else wl) for s, wl, col in rows[:max_legend]]
    if len(rows) > max_legend:
        handles.append(Patch(facecolor="none", edgecolor="none",
                             label=f"… and {len(rows) - max_legend} more"))
    if handles:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.79, 0.94),
                   fontsize=7 if len(handles) > 24 else 9, ncol=2 if len(handles) > 24 else 1,
                   frameon=False, title="sample → well", title_fontsize=9)
    fig.suptitle(f"{len(geoms)} shapes in {len(rows)} wells; calibration marks 1-3 in red "
                 "(find them on the slide in this order)", fontsize=10)
    fig.savefig(os.fspath(path), format="png")
