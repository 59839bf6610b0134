"""One plan for the whole study: samples per slide, placed on plates without confounding.

Samples are slide x class x region x replicate, pooled per slide by
:func:`napari_dvp.core.lmd.plan.plan_samples` (balanced by cell count or area). They are
then laid out on one or more plates (wells from :func:`~napari_dvp.core.lmd.collectors.
plate_wells`, edges skipped on request):

* the samples of each condition are shuffled and **interleaved** by evenly spaced
  positions (condition ``c`` with ``n_c`` samples takes positions ``(k + u_c) / n_c``),
  so any run of consecutive wells holds the conditions in proportion;
* the sequence is split into equal consecutive parts, one per plate, so each plate
  holds every condition in proportion (plate does not confound condition);
* blanks and QC wells are spread evenly through each plate's sequence;
* ``blocked``: wells taken in fill order (each row a block of mixed conditions);
  ``randomised``: each plate's entries go to a random permutation of its wells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .model import Study
from .params import StudyPlanParams, parse_group

PLAN_COLUMNS = ["sample_id", "kind", "slide", "patient", "condition", "class", "region",
                "replicate", "plate", "well", "n_cells", "area_um2", "cell_ids"]


def slide_samples(study: Study, slide: str, cells: pd.DataFrame,
                  params: StudyPlanParams, labels: np.ndarray | None = None) -> pd.DataFrame:
    """Samples of one slide (core.lmd planning per group), ids ``<slide>-<class>-<n>``."""
    from ..lmd.plan import PlanOptions, plan_samples

    rec = study.get(slide)
    parts, warnings = [], []
    for k, text in enumerate(params.groups):
        cls, reg, target = parse_group(text)
        by_cells = params.balance == "cells"
        opt = PlanOptions(target_area_um2=None if by_cells else float(target or
                                                                      params.target_area_um2),
                          target_cells=(target or 20) if by_cells else None,
                          replicates=params.replicates, mode=params.mode,
                          seed=params.seed + k)
        try:
            p = plan_samples(cells, [(cls, reg)], opt, labels=labels, prefix=f"{slide}-G{k}-")
        except DvpInputError as exc:
            warnings.append(f"{slide}: {exc}")
            continue
        warnings += [f"{slide}: {w}" for w in p.attrs.get("warnings", [])]
        parts.append(p)
    if not parts:
        return pd.DataFrame(columns=PLAN_COLUMNS).assign(_w=[]).drop(columns="_w")
    plan = pd.concat(parts, ignore_index=True)
    plan["sample_id"] = [f"{slide}-{c.replace(' ', '')[:12]}-{r}-{i + 1:02d}" for i, (c, r) in
                         enumerate(zip(plan["class"], plan["replicate"], strict=True))]
    plan["kind"] = "sample"
    plan["slide"], plan["patient"], plan["condition"] = slide, rec.patient, rec.condition
    plan["plate"], plan["well"] = 0, ""
    plan.attrs["warnings"] = warnings
    return plan[PLAN_COLUMNS]


def interleave(conditions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An order of the samples in which every condition is spread evenly (see module doc)."""
    conditions = np.asarray(conditions, dtype=object)
    pos = np.empty(len(conditions))
    for c in pd.unique(conditions):
        idx = np.flatnonzero(conditions == c)
        idx = rng.permutation(idx)
        pos[idx] = (np.arange(len(idx)) + rng.uniform(0, 1)) / len(idx)
    return np.argsort(pos + rng.uniform(0, 1e-9, len(pos)), kind="stable")


def layout_plates(samples: pd.DataFrame, params: StudyPlanParams) -> pd.DataFrame:
    """Place samples (+ blanks and QC) on plates; returns the plan with ``plate, well``.

    Raises
    ------
    DvpInputError
        No sample, or blanks + QC fill a whole plate.
    """
    from ..lmd.collectors import plate_wells

    if samples.empty:
        raise DvpInputError("the plan has no sample; check the groups (class:region) and "
                            "that the slides are classified")
    wells, _ = plate_wells(params.plate, skip_outer=params.skip_outer, order="row")
    n_ctrl = params.blanks + params.qc
    room = len(wells) - n_ctrl
    if room < 1:
        raise DvpInputError(f"{n_ctrl} blank/QC wells leave no room on a {params.plate}-well "
                            "plate; use fewer")
    rng = np.random.default_rng(params.seed)
    order = interleave(samples["condition"].to_numpy(), rng)
    n_plates = -(-len(samples) // room)
    rows = []
    for p, chunk in enumerate(np.array_split(order, n_plates), start=1):
        seq: list[dict | int] = list(chunk)
        ctrl = ["blank"] * params.blanks + ["qc"] * params.qc
        ctrl = [ctrl[i] for i in rng.permutation(len(ctrl))]
        n = len(seq) + len(ctrl)
        at = np.round((np.arange(len(ctrl)) + 0.5) * n / max(len(ctrl), 1)).astype(int)
        for k, (pos, kind) in enumerate(zip(at, ctrl, strict=True)):
            seq.insert(min(int(pos), len(seq)), {"kind": kind, "n": k + 1})
        plate_wells_ = list(wells[:len(seq)]) if params.layout == "blocked" else \
            [wells[i] for i in rng.permutation(len(wells))[:len(seq)]]
        for entry, well in zip(seq, plate_wells_, strict=True):
            if isinstance(entry, dict):
                rows.append({"sample_id": f"P{p}-{entry['kind'].upper()}{entry['n']}",
                             "kind": entry["kind"], "plate": p, "well": well})
            else:
                row = samples.iloc[int(entry)].to_dict()
                row.update(plate=p, well=well)
                rows.append(row)
    plan = pd.DataFrame(rows).reindex(columns=PLAN_COLUMNS)
    for col in ("slide", "patient", "condition", "class", "region"):
        plan[col] = plan[col].fillna("").astype(str)
    for col in ("replicate", "n_cells"):
        plan[col] = plan[col].fillna(0).astype(int)
    plan["area_um2"] = plan["area_um2"].fillna(0.0).astype(float)
    plan["cell_ids"] = plan["cell_ids"].apply(lambda v: v if isinstance(v, tuple) else ())
    plan["plate"] = plan["plate"].astype(int)
    return plan


def plan_study(study: Study, params: StudyPlanParams | None = None):
    """Plan every slide and lay the study out on plates: a generator yielding
    ``(done, total, message)`` and returning the plan (``attrs["warnings"]``).
    """
    from .slides import slide_data

    params = params or StudyPlanParams()
    if not study.slides:
        raise DvpInputError("the study has no slide; add slides first")
    parts, warnings = [], []
    total = len(study.slides) + 1
    for i, rec in enumerate(study.slides):
        yield i, total, f"planning {rec.slide}…"
        _labels, cells = slide_data(study, rec.slide)
        part = slide_samples(study, rec.slide, cells, params)
        warnings += part.attrs.get("warnings", [])
        if part.empty:
            warnings.append(f"{rec.slide}: no sample (no eligible cells in the groups)")
        parts.append(part)
    yield total - 1, total, "placing samples on plates…"
    samples = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else pd.DataFrame(columns=PLAN_COLUMNS)
    plan = layout_plates(samples, params)
    meta = study.table().set_index("slide")
    for col in meta.columns:
        if col not in ("patient", "condition"):
            plan[col] = plan["slide"].map(meta[col])
    plan.attrs["warnings"] = warnings
    plan.attrs["params"] = {k: getattr(params, k) for k in params.__dataclass_fields__}
    return plan


def balance_table(plan: pd.DataFrame, by: str = "row") -> pd.DataFrame:
    """Samples per condition x plate / row / column (``by``) — to check the layout."""
    s = plan[plan["kind"] == "sample"]
    key = {"plate": s["plate"].astype(str), "row": s["well"].str[0],
           "column": s["well"].str[1:].astype(int)}[by]
    return pd.crosstab(key.rename(by), s["condition"])


def confounding_p(plan: pd.DataFrame, by: str = "row") -> float:
    """Chi-square p-value of condition vs plate/row/column (high = no confounding)."""
    from scipy.stats import chi2_contingency

    t = balance_table(plan, by)
    t = t.loc[t.sum(axis=1) > 0, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(t.to_numpy())[1])
