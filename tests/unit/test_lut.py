from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from napari_dvp.core.overlay.lut import apply_lut, build_lut


def test_build_and_apply_lut_numpy():
    labels = np.array([[0, 1, 2], [3, 3, 9]], dtype=np.uint32)
    lut = build_lut([1, 3, 9], [0.5, -1.0, 2.0])
    out = apply_lut(labels, lut)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(out), [[True, False, True], [False, False, False]])
    assert out[0, 1] == 0.5 and out[1, 0] == -1.0 and out[1, 2] == 2.0


def test_lut_rgba_rows_and_dask_lazy():
    labels = da.from_array(np.arange(16, dtype=np.uint32).reshape(4, 4), chunks=2)
    colors = np.tile(np.array([[255, 0, 0, 255]], dtype=np.uint8), (3, 1))
    lut = build_lut([1, 5, 15], colors, fill=0)
    out = apply_lut(labels, lut)
    assert isinstance(out, da.Array)
    assert out.shape == (4, 4, 4)
    res = out.compute()
    assert res[0, 1, 0] == 255 and res[1, 1, 0] == 255 and res[3, 3, 3] == 255
    assert res[0, 0].sum() == 0 and res[0, 2].sum() == 0


def test_labels_beyond_table_map_to_background():
    lut = build_lut([1], [7], fill=0)
    np.testing.assert_array_equal(apply_lut(np.array([1, 2, 50]), lut), [7, 0, 0])


def test_bad_lengths():
    with pytest.raises(ValueError):
        build_lut([1, 2], [1.0])
