"""Class overlay and class × region summary.

The overlay is one uint8 image, ``class code per pixel`` = ``lut[labels]``
(:mod:`napari_dvp.core.overlay.lut`), shown with a categorical colormap whose control
points sit between the codes (interpolation ``zero``): recolouring 100k+
cells after a threshold move is one gather over the labels, never a per-cell
colour dict or polygon. Code 0 is background / unclassified (transparent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..cells.columns import AREA_UM2, CELL_ID, CLASS, REGION
from ..errors import DvpInputError
from ..overlay.lut import build_lut

#: Colours for classes without one (colour-blind friendly, Okabe-Ito + extras).
CLASS_PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
    (213, 94, 0), (204, 121, 167), (160, 160, 160), (120, 60, 160), (120, 200, 60),
)
#: Colours of the synthetic sample's classes / the demo.
DEFAULT_CLASS_COLORS: dict[str, tuple[int, int, int]] = {
    "keratinocyte": (230, 159, 0),
    "CD8 T cell": (213, 40, 40),
    "macrophage": (86, 180, 233),
    "fibroblast": (0, 158, 115),
}


def class_color(name: str, index: int = 0) -> tuple[int, int, int]:
    """Default colour of a class: known name, else palette entry ``index``."""
    for k, v in DEFAULT_CLASS_COLORS.items():
        if k.lower() == str(name).lower():
            return v
    return CLASS_PALETTE[index % len(CLASS_PALETTE)]


def class_codes(classes: Sequence[str] | pd.Series, class_names: Sequence[str]) -> np.ndarray:
    """uint8 code per cell: ``k + 1`` for ``class_names[k]``, 0 for anything else."""
    names = list(class_names)
    if len(names) > 254:
        raise DvpInputError("more than 254 classes; merge some")
    cat = pd.Categorical(pd.Series(classes, dtype=object).astype(str), categories=names)
    return (np.asarray(cat.codes, dtype=np.int16) + 1).astype(np.uint8)


def class_code_lut(cell_ids: Sequence[int] | np.ndarray, codes: np.ndarray,
                   max_id: int | None = None) -> np.ndarray:
    """uint8 lookup table ``lut[cell_id] = code`` (0 for background and unknown ids)."""
    return build_lut(cell_ids, np.asarray(codes, dtype=np.uint8), max_id=max_id, fill=0,
                     dtype=np.uint8)


def recolor_into(out: np.ndarray, labels: np.ndarray, lut: np.ndarray,
                 max_label: int | None = None, rows_per_block: int = 256) -> np.ndarray:
    """``out[...] = lut[labels]`` in place, in blocks of rows (cache-friendly, no temporaries).

    Label values beyond the table map to 0, even when ``max_label`` is stale (a cell
    split in place adds ids above the cached maximum). Pass ``max_label``
    (``labels.max()``, cached by the caller) to skip one scan of the labels per
    recolouring.
    """
    if out.shape != labels.shape:
        raise ValueError(f"out {out.shape} and labels {labels.shape} differ")
    top = int(labels.max(initial=0)) if max_label is None else int(max_label)
    # one trailing 0 slot; mode="clip" sends every larger label to it
    lut = np.concatenate([lut, np.zeros(max(top + 1 - lut.shape[0], 0) + 1, lut.dtype)])
    if labels.ndim < 2:
        np.take(lut, labels, out=out, mode="clip")
        return out
    for r in range(0, labels.shape[0], rows_per_block):
        np.take(lut, labels[r:r + rows_per_block], out=out[r:r + rows_per_block], mode="clip")
    return out


def categorical_colormap(colors: Sequence[Sequence[int]]) -> dict:
    """Control points and colours for a napari ``Colormap`` showing codes 0..K.

    Use with ``contrast_limits=(0, K)``; code 0 is transparent.

    Returns
    -------
    dict
        ``{"colors": (K+1, 4) float RGBA, "controls": (K+2,) floats,
        "interpolation": "zero"}`` (pass as ``napari.utils.Colormap(**d)``).
    """
    k = len(colors)
    rgba = np.zeros((k + 1, 4), dtype=np.float32)
    if k:
        rgba[1:, :3] = np.asarray(colors, dtype=np.float32)[:, :3] / 255.0
        rgba[1:, 3] = 1.0
    denom = max(k, 1)
    controls = np.concatenate([[0.0], (np.arange(k) + 0.5) / denom, [1.0]]).astype(np.float32)
    return {"colors": rgba, "controls": controls, "interpolation": "zero"}


def rgba_lut(cell_ids, codes: np.ndarray, colors: Sequence[Sequence[int]],
             max_id: int | None = None, alpha: int = 255) -> np.ndarray:
    """(max_id+1, 4) uint8 RGBA per cell id (for an RGBA overlay or a screenshot)."""
    pal = np.zeros((len(colors) + 1, 4), dtype=np.uint8)
    if len(colors):
        pal[1:, :3] = np.asarray(colors, dtype=np.uint8)[:, :3]
        pal[1:, 3] = alpha
    return build_lut(cell_ids, pal[np.asarray(codes, dtype=np.intp)], max_id=max_id,
                     fill=0, dtype=np.uint8)


def legend_entries(class_names: Sequence[str], colors: Sequence[Sequence[int]],
                   counts: Mapping[str, int] | None = None) -> list[tuple[str, str]]:
    """``(label, '#rrggbb')`` per class, e.g. ``("CD8 T cell (412)", "#d52828")``."""
    out = []
    for n, c in zip(class_names, colors, strict=True):
        label = f"{n} ({counts.get(n, 0)})" if counts is not None else n
        out.append((label, "#{:02x}{:02x}{:02x}".format(*map(int, c[:3]))))
    return out


def class_region_table(table: pd.DataFrame) -> pd.DataFrame:
    """Cells and total cell area per class × region.

    Returns
    -------
    pandas.DataFrame
        Long table ``class, region, n_cells, area_um2`` (area NaN without
        ``area_um2``), sorted by class then region; unclassified cells and
        cells outside every region appear as ``""``.
    """
    if CLASS not in table.columns:
        raise DvpInputError("cell table has no 'class' column; classify the cells first")
    if CELL_ID not in table.columns:
        raise DvpInputError("cell table has no 'cell_id' column")
    cls = table[CLASS].fillna("").astype(str)
    reg = (table[REGION].fillna("").astype(str) if REGION in table.columns
           else pd.Series("", index=table.index))
    area = (table[AREA_UM2].astype(float) if AREA_UM2 in table.columns
            else pd.Series(np.nan, index=table.index))
    df = pd.DataFrame({CLASS: cls, REGION: reg, AREA_UM2: area})
    g = df.groupby([CLASS, REGION], sort=True)
    out = g.size().rename("n_cells").to_frame()
    out[AREA_UM2] = g[AREA_UM2].sum(min_count=1)
    return out.reset_index()


def class_region_matrix(table: pd.DataFrame, value: str = "n_cells") -> pd.DataFrame:
    """Wide view of :func:`class_region_table`: classes as rows, regions as columns."""
    long = class_region_table(table)
    wide = long.pivot(index=CLASS, columns=REGION, values=value).fillna(0)
    if value == "n_cells":
        wide = wide.astype(int)
    wide["total"] = wide.sum(axis=1)
    return wide


def class_region_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Cells per class (rows) and region (columns) with readable labels, for a dock's table.

    Unclassified cells are the row ``unclassified``, cells outside every region the
    column ``no region``; without any region the table is just ``class, cells``.
    """
    wide = class_region_matrix(table).rename(index={"": "unclassified"},
                                             columns={"": "no region"})
    if list(wide.columns) == ["no region", "total"]:
        wide = wide[["total"]].rename(columns={"total": "cells"})
    else:  # named regions first, then the cells outside every region, then the total
        last = [c for c in ("no region", "total") if c in wide.columns]
        wide = wide[[c for c in wide.columns if c not in last] + last]
    wide.columns.name = None
    return wide.reset_index()
