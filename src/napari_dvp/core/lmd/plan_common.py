"""What every sample plan shares: its columns, which cells may be cut, combining plans."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from ..cells.columns import CLASS, QC_ACCEPTED, QC_REJECTED, QC_STATUS, REGION
from ..errors import DvpInputError
from ..regions import is_exclude_name

PLAN_COLUMNS = ["sample_id", "class", "region", "replicate", "well", "n_cells", "area_um2",
                "cell_ids", "kind", "geometry"]
EXCLUDE_REGION = "exclude"
ANY = "*"  #: wildcard for class or region in a group


def has_control_chars(text: str) -> bool:
    """Control or format characters, line or paragraph separators (tab, line break, NUL …).

    Sample ids and wells go into the LMD files (a PALM element row, a Leica
    ``CapID``); such characters would add lines, columns or elements there.
    """
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in str(text))


def empty_plan() -> pd.DataFrame:
    """A plan with no samples."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in PLAN_COLUMNS})


def eligible_mask(cells: pd.DataFrame, exclude_flagged: bool = True) -> np.ndarray:
    """Boolean mask of cells that may be cut (not rejected, not excluded, not QC-flagged)."""
    ok = np.ones(len(cells), dtype=bool)
    status = cells[QC_STATUS].astype(str) if QC_STATUS in cells else None
    if status is not None:
        ok &= (status != QC_REJECTED).to_numpy()
    if REGION in cells:  # "exclude", "artefact", QuPath's "Ignore*" … (core.regions)
        names = cells[REGION].astype(str)
        excluded = {n for n in names.unique() if is_exclude_name(n)}
        ok &= ~names.isin(excluded).to_numpy()
    if exclude_flagged:
        flags = [c for c in cells.columns
                 if c.startswith("qc_") and c != QC_STATUS and cells[c].dtype == bool]
        if flags:
            flagged = cells[flags].to_numpy().any(axis=1)
            accepted = (status == QC_ACCEPTED).to_numpy() if status is not None else False
            ok &= ~(flagged & ~accepted)
    return ok


def combine_plans(*plans: pd.DataFrame) -> pd.DataFrame:
    """Concatenate plans (e.g. cell samples + region samples); sample ids must stay unique.

    A cell listed by two cell samples is an error; a cell sample inside a region
    sample is fine (its cells are cut out of the region's pieces, and leave the
    region sample's ``cell_ids``).
    """
    plans = [p for p in plans if p is not None and len(p)]
    if not plans:
        return empty_plan()
    plan = pd.concat(plans, ignore_index=True)[PLAN_COLUMNS]
    dup = plan["sample_id"].duplicated()
    if dup.any():
        raise DvpInputError(f"sample id {plan['sample_id'][dup].iloc[0]!r} is used twice; "
                            "rename one of the samples")
    cell_rows = plan[plan["kind"] == "cells"]
    all_ids = np.concatenate([np.asarray(c, dtype=np.int64) for c in cell_rows["cell_ids"]]
                             or [np.empty(0, np.int64)])
    if len(np.unique(all_ids)) != len(all_ids):
        raise DvpInputError("a cell is in two samples; a cell can go into one sample only")
    reg = np.flatnonzero((plan["kind"] == "region").to_numpy())
    if len(reg) and len(all_ids):  # cells cut into a cell sample leave the region's list
        for i in reg:
            ids = np.asarray(plan.at[i, "cell_ids"], dtype=np.int64)
            kept = tuple(ids[~np.isin(ids, all_ids)].tolist())
            plan.at[i, "cell_ids"] = kept
            plan.at[i, "n_cells"] = len(kept)
    plan.attrs["warnings"] = [w for p in plans for w in p.attrs.get("warnings", [])]
    return plan


def group_counts(cells: pd.DataFrame) -> list[tuple[str, str, int]]:
    """``(class, region, number of cells)`` of every group that can be collected.

    Groups in an exclude-type region and cells without a class are left out;
    empty when the table has no ``class`` and ``region`` columns.
    """
    if not {CLASS, REGION} <= set(cells.columns):
        return []
    counts = cells.groupby([CLASS, REGION], observed=True).size()  # categorical columns too
    return [(str(c), str(r), int(n)) for (c, r), n in counts.items()
            if not is_exclude_name(str(r)) and str(c)]
