"""A plan from a plain ``cell_id,sample[,well]`` table (cells chosen elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..cells.columns import AREA_UM2, CELL_ID, CLASS, REGION
from ..errors import DvpInputError, one_line
from .plan_common import PLAN_COLUMNS, eligible_mask


def read_selection(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a ``cell_id,sample[,well]`` selection table (CSV, UTF-8) for :func:`plan_from_table`.

    Raises
    ------
    DvpInputError
        Missing, empty, binary, UTF-16 or otherwise unparsable file.
    """
    p = Path(path)
    if not p.is_file():
        raise DvpInputError(f"selection file {p} does not exist")
    head = p.read_bytes()[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise DvpInputError(f"selection {p.name} is not UTF-8 text (UTF-16 or binary); save it "
                            "as CSV (UTF-8)")
    try:
        return pd.read_csv(p, encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DvpInputError(f"selection {p.name} is empty; list cell_id,sample rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DvpInputError(f"cannot read selection {p.name} as CSV "
                            f"({one_line(exc)[:120]})") from None


def plan_from_table(
    table: pd.DataFrame,
    cells: pd.DataFrame | None = None,
    label_ids: np.ndarray | None = None,
    exclude_flagged: bool = True,
) -> pd.DataFrame:
    """Plan from a plain ``cell_id,sample[,well]`` table (cells chosen elsewhere).

    Parameters
    ----------
    table
        Columns ``cell_id`` and ``sample`` (``sample_id`` accepted), optional ``well``.
    cells
        Cell table, for class/region/area and QC status of each cell (optional).
    label_ids
        Ids present in the labels image; cells not among them are an error.

    Raises
    ------
    DvpInputError
        Missing columns, unknown or repeated cells, empty selection, a sample
        whose cells are all rejected, or two wells for one sample.
    """
    t = table.rename(columns={c: c.strip().lower() for c in table.columns})
    if "sample" not in t and "sample_id" in t:
        t = t.rename(columns={"sample_id": "sample"})
    missing = [c for c in (CELL_ID, "sample") if c not in t]
    if missing:
        raise DvpInputError(
            f"selection table lacks column(s) {', '.join(missing)}; "
            "it needs columns cell_id,sample and optionally well"
        )
    t = t.dropna(subset=[CELL_ID, "sample"])
    if t.empty:
        raise DvpInputError("the selection is empty; list at least one cell_id with its sample")
    try:
        cid = pd.to_numeric(t[CELL_ID], errors="raise").to_numpy()
    except (TypeError, ValueError) as exc:
        raise DvpInputError("selection column cell_id must hold integer label values") from exc
    if (not np.isfinite(cid).all() or not np.all(np.equal(np.mod(cid, 1), 0))
            or (cid <= 0).any()):
        raise DvpInputError("selection column cell_id must hold positive integer label values")
    t = t.assign(**{CELL_ID: cid.astype(np.int64), "sample": t["sample"].astype(str).str.strip()})
    dup = t[CELL_ID].duplicated()
    if dup.any():
        raise DvpInputError(
            f"cell {int(t[CELL_ID][dup].iloc[0])} is listed more than once; "
            "a cell can go into one sample only"
        )
    if label_ids is not None:
        unknown = ~np.isin(t[CELL_ID].to_numpy(), np.asarray(label_ids))
        if unknown.any():
            bad = t[CELL_ID].to_numpy()[unknown]
            raise DvpInputError(
                f"{unknown.sum()} selected cell(s) do not exist in the labels image "
                f"(e.g. {', '.join(map(str, bad[:5]))}); check that selection and labels match"
            )
    well = t["well"].fillna("").astype(str).str.strip() if "well" in t else pd.Series(
        "", index=t.index)
    t = t.assign(well=well)
    info = None
    if cells is not None:
        info = cells.set_index(CELL_ID)
        if label_ids is None:
            unknown = ~t[CELL_ID].isin(info.index)
            if unknown.any():
                raise DvpInputError(
                    f"{unknown.sum()} selected cell(s) are not in the cell table "
                    f"(e.g. {int(t[CELL_ID][unknown].iloc[0])}); check the selection"
                )
        ok = pd.Series(eligible_mask(cells, exclude_flagged), index=info.index)
        t = t.assign(_ok=ok.reindex(t[CELL_ID]).fillna(True).to_numpy(dtype=bool))
    else:
        t = t.assign(_ok=True)
    rows = []
    warnings = []
    for sid, grp in t.groupby("sample", sort=False):
        wells = sorted(set(grp["well"]) - {""})
        if len(wells) > 1:
            raise DvpInputError(f"sample {sid!r} is given wells {', '.join(wells)}; one per sample")
        good = grp[grp["_ok"]]
        if good.empty:
            raise DvpInputError(
                f"all {len(grp)} cells of sample {sid!r} are rejected or excluded; "
                "drop the sample or review its cells"
            )
        if len(good) < len(grp):
            warnings.append(f"sample {sid}: {len(grp) - len(good)} rejected/excluded cell(s) "
                            "left out")
        ids = np.sort(good[CELL_ID].to_numpy())
        c = r = ""
        area = np.nan
        if info is not None:
            sub = info.reindex(ids)
            if CLASS in sub:
                c = "+".join(sorted(set(sub[CLASS].dropna().astype(str)) - {""}))
            if REGION in sub:
                r = "+".join(sorted(set(sub[REGION].dropna().astype(str)) - {""}))
            if AREA_UM2 in sub:
                area = float(sub[AREA_UM2].sum())
        rows.append({"sample_id": str(sid), "class": c, "region": r, "replicate": 1,
                     "well": wells[0] if wells else "", "n_cells": len(ids), "area_um2": area,
                     "cell_ids": tuple(ids.tolist()), "kind": "cells", "geometry": None})
    plan = pd.DataFrame(rows)[PLAN_COLUMNS]
    plan.attrs["warnings"] = warnings
    return plan
