"""Class overlay lookup tables, categorical colormap, class × region table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_dvp.core.classes.overlay import (
    categorical_colormap,
    class_code_lut,
    class_codes,
    class_region_matrix,
    class_region_table,
    legend_entries,
    recolor_into,
    rgba_lut,
)


def test_codes_lut_and_recolor():
    codes = class_codes(["b", "a", "", "zzz", "b"], ["a", "b"])
    assert codes.tolist() == [2, 1, 0, 0, 2]
    lut = class_code_lut([1, 2, 3, 4, 5], codes)
    labels = np.array([[0, 1, 2], [3, 4, 5], [9, 0, 1]], np.uint32)  # 9: painted later
    out = np.full(labels.shape, 77, np.uint8)
    recolor_into(out, labels, lut, rows_per_block=1)
    assert out.tolist() == [[0, 2, 1], [0, 0, 2], [0, 0, 2]]
    rgba = rgba_lut([1, 2], np.array([1, 2]), [(255, 0, 0), (0, 0, 255)])
    assert rgba[0].tolist() == [0, 0, 0, 0] and rgba[2].tolist() == [0, 0, 255, 255]


def test_categorical_colormap_maps_codes_to_colours():
    cm = categorical_colormap([(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    k = 3
    # napari normalises code c by contrast limits (0, k): value c / k
    for code in range(k + 1):
        v = code / k
        idx = np.searchsorted(cm["controls"], v, side="right") - 1
        idx = min(idx, len(cm["colors"]) - 1)
        expect = [0, 0, 0, 0] if code == 0 else [*np.eye(3)[code - 1], 1]
        np.testing.assert_array_equal(cm["colors"][idx], expect)
    assert len(cm["controls"]) == len(cm["colors"]) + 1


def test_legend_and_tables():
    assert legend_entries(["CD8 T cell"], [(213, 40, 40)], {"CD8 T cell": 4}) == [
        ("CD8 T cell (4)", "#d52828")]
    t = pd.DataFrame({"cell_id": [1, 2, 3, 4], "class": ["a", "a", "b", ""],
                      "region": ["epi", "derm", "epi", "epi"], "area_um2": [1.0, 2, 3, 4]})
    long = class_region_table(t)
    assert long.to_dict("records") == [
        {"class": "", "region": "epi", "n_cells": 1, "area_um2": 4.0},
        {"class": "a", "region": "derm", "n_cells": 1, "area_um2": 2.0},
        {"class": "a", "region": "epi", "n_cells": 1, "area_um2": 1.0},
        {"class": "b", "region": "epi", "n_cells": 1, "area_um2": 3.0}]
    wide = class_region_matrix(t)
    assert wide.loc["a"].to_dict() == {"derm": 1, "epi": 1, "total": 2}


def test_recolor_into_stale_max_label_maps_new_ids_to_zero():
    """A cell split in place adds ids above the cached maximum: they show as 0, no IndexError."""
    labels = np.array([[1, 2], [3, 9]], np.uint32)
    lut = class_code_lut([1, 2, 3], np.array([1, 2, 1]), max_id=3)
    out = np.full(labels.shape, 7, np.uint8)
    recolor_into(out, labels, lut, max_label=3)
    assert out.tolist() == [[1, 2], [1, 0]]
    flat = np.zeros(4, np.uint8)
    recolor_into(flat, labels.ravel(), lut, max_label=3)
    assert flat.tolist() == [1, 2, 1, 0]


def test_class_region_summary_labels():
    from napari_dvp.core.classes.overlay import class_region_summary

    t = pd.DataFrame({"cell_id": [1, 2, 3], "class": ["a", "", "a"],
                      "region": ["epi", "epi", ""]})
    s = class_region_summary(t)
    assert list(s.columns) == ["class", "epi", "no region", "total"]
    assert s.set_index("class").loc["unclassified", "epi"] == 1
    s = class_region_summary(t.drop(columns="region"))
    assert s.to_dict("list") == {"class": ["unclassified", "a"], "cells": [1, 2]}
