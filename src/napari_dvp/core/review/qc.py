"""Quality control of a segmentation: flag suspicious cells, track the user's decisions.

Flags (boolean columns of the cell table):

* ``qc_too_small`` / ``qc_too_large``: area outside ``[min_area_um2, max_area_um2]``
  (defaults 20-600 µm², skin cells at 0.5 µm/px; a keratinocyte is ~100-300 µm²);
* ``qc_low_nuclear``: mean nuclear signal below ``min_nuclear_fraction`` × the
  median over all cells (a "cell" without a nucleus is usually background);
* ``qc_odd_shape``: solidity below ``min_solidity`` (two cells merged, ragged masks);
* ``qc_border``: the cell touches the image border (cut, its measurements are partial).

``qc_flagged`` is any flag; ``qc_status`` is the user's decision: "pending"
(default), "accepted" or "rejected". **Rejected cells are excluded downstream**:
classification, regions, LMD selection and exports use :func:`usable_cells`
(or filter ``qc_status != "rejected"`` themselves).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cells import columns as ct
from ..errors import DvpInputError
from ..overlay.lut import apply_lut, build_lut
from .params import QcThresholds

__all__ = [
    "QC_COLOURS",
    "QC_FLAGS",
    "QC_NAMES",
    "QcThresholds",
    "flag_cells",
    "qc_codes",
    "qc_colour_lut",
    "qc_rgba",
    "reasons",
    "refresh_rgba",
    "set_status",
    "suspicious",
    "usable_cells",
]

QC_FLAGS = ("qc_too_small", "qc_too_large", "qc_low_nuclear", "qc_odd_shape", "qc_border")
_REASON = {
    "qc_too_small": "too small",
    "qc_too_large": "too large",
    "qc_low_nuclear": "low nuclear signal",
    "qc_odd_shape": "odd shape",
    "qc_border": "touches border",
}
#: QC state codes and their names / colours (RGBA 0-1): grey ok, orange flagged,
#: green accepted, red rejected.
QC_OK, QC_FLAGGED, QC_ACCEPTED_CODE, QC_REJECTED_CODE = 0, 1, 2, 3
QC_NAMES = ("ok", "flagged", "accepted", "rejected")
QC_COLOURS = np.array([
    [0.62, 0.62, 0.62, 0.45],
    [1.00, 0.55, 0.00, 0.85],
    [0.10, 0.80, 0.25, 0.85],
    [0.90, 0.10, 0.10, 0.90],
], dtype=np.float32)


def flag_cells(
    table: pd.DataFrame,
    thresholds: QcThresholds | None = None,
    nuclear_channel: str | None = None,
) -> pd.DataFrame:
    """Return a copy of ``table`` with the QC flag columns and ``qc_status``.

    Parameters
    ----------
    table
        Cell table with ``area_um2`` and, for the other flags, ``solidity``,
        ``touches_border`` and ``mean_<nuclear_channel>``.
    thresholds
        Limits (default :class:`QcThresholds`).
    nuclear_channel
        Channel name for the low-signal flag; ``None`` disables that flag.

    Returns
    -------
    pandas.DataFrame
        With ``qc_too_small, qc_too_large, qc_low_nuclear, qc_odd_shape,
        qc_border, qc_flagged`` (bool) and ``qc_status``; existing decisions
        ("accepted"/"rejected") are kept, anything else becomes "pending".
    """
    th = thresholds or QcThresholds()
    ct.validate(table, (ct.CELL_ID, ct.AREA_UM2))
    out = table.copy()
    area = out[ct.AREA_UM2].to_numpy(dtype=np.float64)
    out["qc_too_small"] = area < th.min_area_um2
    out["qc_too_large"] = area > th.max_area_um2
    low = np.zeros(len(out), bool)
    if nuclear_channel is not None and th.min_nuclear_fraction > 0:
        col = ct.mean_column(nuclear_channel)
        if col not in out.columns:
            have = [c[5:] for c in out.columns if c.startswith("mean_")]
            raise DvpInputError(
                f"no intensity column for nuclear channel {nuclear_channel!r}; "
                f"measured channels: {', '.join(have) or 'none'}"
            )
        vals = out[col].to_numpy(dtype=np.float64)
        if len(vals):
            low = vals < th.min_nuclear_fraction * float(np.nanmedian(vals))
    out["qc_low_nuclear"] = low
    out["qc_odd_shape"] = (out["solidity"].to_numpy() < th.min_solidity
                           if "solidity" in out.columns else np.zeros(len(out), bool))
    out["qc_border"] = (out["touches_border"].to_numpy(dtype=bool)
                        if th.flag_border and "touches_border" in out.columns
                        else np.zeros(len(out), bool))
    out["qc_flagged"] = out[list(QC_FLAGS)].any(axis=1)
    status = (out[ct.QC_STATUS].astype(str) if ct.QC_STATUS in out.columns
              else pd.Series(ct.QC_PENDING, index=out.index))
    keep = status.isin([ct.QC_ACCEPTED, ct.QC_REJECTED])
    out[ct.QC_STATUS] = status.where(keep, ct.QC_PENDING)
    return out


def qc_codes(table: pd.DataFrame) -> np.ndarray:
    """QC state per row: 0 ok, 1 flagged (pending), 2 accepted, 3 rejected."""
    n = len(table)
    codes = np.zeros(n, np.uint8)
    if "qc_flagged" in table.columns:
        codes[table["qc_flagged"].to_numpy(dtype=bool)] = QC_FLAGGED
    if ct.QC_STATUS in table.columns:
        st = table[ct.QC_STATUS].astype(str).to_numpy()
        codes[st == ct.QC_ACCEPTED] = QC_ACCEPTED_CODE
        codes[st == ct.QC_REJECTED] = QC_REJECTED_CODE
    return codes


def reasons(table: pd.DataFrame) -> pd.Series:
    """Human-readable reasons per row ("too small, odd shape"), "" when none."""
    parts = [np.where(table[f].to_numpy(dtype=bool), _REASON[f] + ", ", "")
             for f in QC_FLAGS if f in table.columns]
    if not parts:
        return pd.Series("", index=table.index)
    joined = parts[0].astype(object)
    for p in parts[1:]:
        joined = joined + p
    return pd.Series(joined, index=table.index).str.rstrip(", ")


def suspicious(table: pd.DataFrame, include_decided: bool = False) -> pd.DataFrame:
    """Flagged cells, most suspicious first: ``cell_id, area_um2, reasons, qc_status``.

    Sorted by number of flags (descending), then by area distance from the
    typical cell. Cells already accepted/rejected are left out unless
    ``include_decided``.
    """
    if "qc_flagged" not in table.columns:
        raise DvpInputError("cells have no QC flags yet; run 'Find suspicious cells' first")
    sel = table["qc_flagged"].to_numpy(dtype=bool, copy=True)
    if not include_decided and ct.QC_STATUS in table.columns:
        sel &= table[ct.QC_STATUS].to_numpy() == ct.QC_PENDING
    sub = table.loc[sel]
    nflags = sub[[f for f in QC_FLAGS if f in sub.columns]].sum(axis=1).to_numpy()
    area = sub[ct.AREA_UM2].to_numpy(dtype=np.float64)
    typical = float(np.median(table[ct.AREA_UM2])) if len(table) else 1.0
    dist = np.abs(np.log(np.maximum(area, 1e-9) / max(typical, 1e-9)))
    order = np.lexsort((-dist, -nflags))
    out = pd.DataFrame({
        ct.CELL_ID: sub[ct.CELL_ID].to_numpy()[order],
        ct.AREA_UM2: area[order],
        "reasons": reasons(sub).to_numpy()[order],
        ct.QC_STATUS: sub[ct.QC_STATUS].to_numpy()[order] if ct.QC_STATUS in sub.columns
        else ct.QC_PENDING,
    })
    return out


def set_status(table: pd.DataFrame, cell_ids, status: str) -> pd.DataFrame:
    """Return a copy with ``qc_status`` of ``cell_ids`` set to ``status``."""
    if status not in (ct.QC_PENDING, ct.QC_ACCEPTED, ct.QC_REJECTED):
        raise DvpInputError(f"QC status must be pending, accepted or rejected, not {status!r}")
    out = table.copy()
    if ct.QC_STATUS not in out.columns:
        out[ct.QC_STATUS] = ct.QC_PENDING
    ids = np.atleast_1d(np.asarray(cell_ids, dtype=np.int64))
    missing = np.setdiff1d(ids, out[ct.CELL_ID].to_numpy())
    if missing.size:
        raise DvpInputError(f"cell {int(missing[0])} is not in the cell table")
    out.loc[out[ct.CELL_ID].isin(ids), ct.QC_STATUS] = status
    return out


def usable_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The cells later steps should use: every cell not rejected in review."""
    if ct.QC_STATUS not in table.columns:
        return table
    return table.loc[table[ct.QC_STATUS] != ct.QC_REJECTED]


def qc_colour_lut(table: pd.DataFrame, max_id: int | None = None) -> np.ndarray:
    """RGBA lookup table ``lut[cell_id]`` by QC state (background transparent)."""
    ids = table[ct.CELL_ID].to_numpy(dtype=np.int64)
    return build_lut(ids, QC_COLOURS[qc_codes(table)], max_id=max_id,
                     fill=0.0, dtype=np.float32)


def qc_rgba(labels, table: pd.DataFrame):
    """RGBA image ``(Y, X, 4)`` colouring every cell by its QC state (lazy for dask)."""
    top = None
    if isinstance(labels, np.ndarray) and labels.size:
        top = int(labels.max())
    return apply_lut(labels, qc_colour_lut(table, max_id=top))


def refresh_rgba(rgba: np.ndarray, labels: np.ndarray, lut: np.ndarray,
                 box: tuple[int, int, int, int]) -> None:
    """Recolour ``rgba`` in place inside ``box = (r0, r1, c0, c1)`` only (after an edit)."""
    r0, r1, c0, c1 = box
    rgba[r0:r1, c0:c1] = apply_lut(np.asarray(labels[r0:r1, c0:c1]), lut)
