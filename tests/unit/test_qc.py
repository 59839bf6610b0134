"""QC flags, codes, colours and the suspicious-cell list on constructed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.review import qc


def table() -> pd.DataFrame:
    return pd.DataFrame({
        "cell_id": [1, 2, 3, 4, 5, 6],
        "area_um2": [100.0, 10.0, 900.0, 150.0, 120.0, 5.0],
        "mean_DAPI": [1000.0, 900.0, 1100.0, 100.0, 1000.0, 50.0],
        "solidity": [0.95, 0.9, 0.92, 0.93, 0.6, 0.5],
        "touches_border": [False, False, False, False, False, True],
    })


def test_flags_and_status():
    out = qc.flag_cells(table(), qc.QcThresholds(), "DAPI")
    assert out["qc_too_small"].tolist() == [False, True, False, False, False, True]
    assert out["qc_too_large"].tolist() == [False, False, True, False, False, False]
    # median of means 950 -> threshold 285
    assert out["qc_low_nuclear"].tolist() == [False, False, False, True, False, True]
    assert out["qc_odd_shape"].tolist() == [False, False, False, False, True, True]
    assert out["qc_border"].tolist() == [False, False, False, False, False, True]
    assert out["qc_flagged"].tolist() == [False, True, True, True, True, True]
    assert (out["qc_status"] == "pending").all()
    assert qc.qc_codes(out).tolist() == [0, 1, 1, 1, 1, 1]


def test_decisions_are_kept_and_coded():
    t = qc.flag_cells(table(), nuclear_channel="DAPI")
    t = qc.set_status(t, [2], "accepted")
    t = qc.set_status(t, 3, "rejected")
    t.loc[0, "qc_status"] = "bogus"
    again = qc.flag_cells(t, qc.QcThresholds(min_area_um2=1), "DAPI")
    assert again["qc_status"].tolist() == ["pending", "accepted", "rejected"] + ["pending"] * 3
    assert qc.qc_codes(again).tolist() == [0, 2, 3, 1, 1, 1]
    assert 3 not in qc.usable_cells(again)["cell_id"].tolist()
    assert len(qc.usable_cells(again)) == 5


def test_suspicious_order_and_reasons():
    t = qc.flag_cells(table(), nuclear_channel="DAPI")
    s = qc.suspicious(t)
    assert s["cell_id"].iloc[0] == 6  # four flags
    assert s.loc[s.cell_id == 6, "reasons"].item() == (
        "too small, low nuclear signal, odd shape, touches border")
    assert set(s["cell_id"]) == {2, 3, 4, 5, 6}
    t = qc.set_status(t, [6], "accepted")
    assert 6 not in qc.suspicious(t)["cell_id"].tolist()
    assert 6 in qc.suspicious(t, include_decided=True)["cell_id"].tolist()


def test_colour_lut_and_refresh():
    t = qc.flag_cells(table(), nuclear_channel="DAPI")
    t = qc.set_status(t, [2], "accepted")
    labels = np.zeros((8, 8), np.uint16)
    labels[:2, :2] = 1
    labels[4:, 4:] = 2
    rgba = qc.qc_rgba(labels, t)
    assert rgba.shape == (8, 8, 4)
    np.testing.assert_array_equal(rgba[0, 0], qc.QC_COLOURS[0])
    np.testing.assert_array_equal(rgba[5, 5], qc.QC_COLOURS[2])
    assert rgba[3, 3, 3] == 0  # background transparent
    t = qc.set_status(t, [2], "rejected")
    lut = qc.qc_colour_lut(t, max_id=int(labels.max()))
    qc.refresh_rgba(rgba, labels, lut, (4, 8, 4, 8))
    np.testing.assert_array_equal(rgba[5, 5], qc.QC_COLOURS[3])


def test_bad_input():
    with pytest.raises(DvpInputError, match="not below"):
        qc.QcThresholds(min_area_um2=700)
    with pytest.raises(DvpInputError, match="nuclear channel 'CD8'"):
        qc.flag_cells(table(), nuclear_channel="CD8")
    with pytest.raises(DvpInputError, match="not in the cell table"):
        qc.set_status(table(), [99], "accepted")
    with pytest.raises(DvpInputError, match="QC status"):
        qc.set_status(table(), [1], "maybe")
    with pytest.raises(DvpInputError, match="area_um2"):
        qc.flag_cells(table().drop(columns="area_um2"))
