"""Collectors: where the cut pieces fall (plates, tube strips, custom lists).

Well names are row letter + column number (``A1`` … ``P24``), as the Leica LMD
software's ``CapID`` expects. One sample goes into one well.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DvpInputError

PLATES = {"384": (16, 24), "96": (8, 12)}
ORDERS = ("row", "column", "serpentine")


@dataclass(frozen=True)
class Collector:
    """An ordered list of usable wells.

    Attributes
    ----------
    name
        Human-readable name, e.g. ``"384-well plate"``.
    wells
        Usable well names in fill order.
    all_wells
        Every well name the collector has (for validating explicit wells).
    """

    name: str
    wells: tuple[str, ...]
    all_wells: frozenset[str]

    def __len__(self) -> int:
        return len(self.wells)


def plate_wells(
    plate: str = "384",
    skip_outer: bool = False,
    every_other: bool = False,
    order: str = "row",
) -> tuple[tuple[str, ...], frozenset[str]]:
    """Usable wells of a plate in fill order, and all its wells.

    Parameters
    ----------
    plate
        ``"384"`` (A1…P24) or ``"96"`` (A1…H12).
    skip_outer
        Leave the outer rows and columns empty (edge wells evaporate faster).
    every_other
        Use every other row and column (A1, A3, C1 …), leaving a free well
        between samples against carry-over.
    order
        ``"row"`` (A1, A2, …), ``"column"`` (A1, B1, …) or ``"serpentine"``
        (row-wise, every other row right to left: shortest collector travel).
    """
    if plate not in PLATES:
        raise DvpInputError(f"unknown plate {plate!r}; use 384 or 96")
    if order not in ORDERS:
        raise DvpInputError(f"unknown fill order {order!r}; use one of {', '.join(ORDERS)}")
    nr, nc = PLATES[plate]
    rows = np.arange(nr)
    cols = np.arange(nc)
    if skip_outer:
        rows, cols = rows[1:-1], cols[1:-1]
    if every_other:
        rows, cols = rows[::2], cols[::2]
    letters = np.array(list(string.ascii_uppercase[:nr]))
    if order == "column":
        rr, cc = np.meshgrid(rows, cols, indexing="xy")
    else:
        rr, cc = np.meshgrid(rows, cols, indexing="ij")
        if order == "serpentine":
            cc = cc.copy()
            cc[1::2] = cc[1::2, ::-1]
    names = tuple(f"{letters[r]}{c + 1}" for r, c in zip(rr.ravel(), cc.ravel(), strict=False))
    every = frozenset(f"{letters[r]}{c + 1}" for r in range(nr) for c in range(nc))
    return names, every


def make_collector(
    kind: str = "384",
    *,
    skip_outer: bool = False,
    every_other: bool = False,
    order: str = "row",
    custom: Sequence[str] | None = None,
) -> Collector:
    """Build a collector.

    Parameters
    ----------
    kind
        ``"384"``, ``"96"``, ``"strip8"`` (one strip of 8 tubes, caps A…H) or
        ``"custom"`` (the wells listed in ``custom``, in that order).
    """
    kind = str(kind).lower().replace("-well", "").replace("plate", "").strip()
    if kind in PLATES:
        wells, every = plate_wells(kind, skip_outer, every_other, order)
        return Collector(f"{kind}-well plate", wells, every)
    if kind in ("strip8", "strip", "8"):
        wells = tuple(string.ascii_uppercase[:8])
        return Collector("8-tube strip", wells, frozenset(wells))
    if kind == "custom":
        names = [str(w).strip() for w in (custom or []) if str(w).strip()]
        if not names:
            raise DvpInputError("custom collector has no wells; list the well names to use")
        if len(set(names)) != len(names):
            raise DvpInputError("custom collector lists a well twice; each well takes one sample")
        return Collector("custom", tuple(names), frozenset(names))
    raise DvpInputError(f"unknown collector {kind!r}; use 384, 96, strip8 or custom")


def assign_wells(
    sample_ids: Sequence[str],
    collector: Collector,
    preset: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Give every sample one well: preset wells first, the rest in fill order.

    Raises
    ------
    DvpInputError
        A preset well the collector does not have, two samples in one well, or
        more samples than wells.
    """
    preset = {str(k): str(v).strip().upper() for k, v in (preset or {}).items()
              if v is not None and str(v).strip() and str(v).lower() != "nan"}
    upper = {w.upper(): w for w in collector.all_wells}
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    for sid in sample_ids:
        if sid in preset:
            w = upper.get(preset[sid])
            if w is None:
                raise DvpInputError(
                    f"sample {sid!r} asks for well {preset[sid]!r}, which the {collector.name} "
                    "does not have; fix the well name or choose another collector"
                )
            if w in used:
                raise DvpInputError(
                    f"samples {used[w]!r} and {sid!r} both go to well {w}; one sample per well"
                )
            out[sid] = w
            used[w] = sid
    free = [w for w in collector.wells if w not in used]
    rest = [s for s in sample_ids if s not in out]
    if len(rest) > len(free):
        raise DvpInputError(
            f"{len(sample_ids)} samples but only {len(used) + len(free)} usable wells on the "
            f"{collector.name}; use a bigger plate, fewer replicates, or fewer samples"
        )
    out.update(zip(rest, free, strict=False))
    return {sid: out[sid] for sid in sample_ids}


def plan_wells(plan, collector: Collector) -> dict[str, str]:
    """Wells of a plan's samples (its ``well`` column where set, the rest in fill order)."""
    sids = [str(s) for s in plan["sample_id"]]
    preset = dict(zip(sids, plan["well"], strict=True)) if "well" in plan else {}
    return assign_wells(sids, collector, preset)


_WELL = re.compile(r"^([A-Za-z])(\d{1,2})$")


def parse_well_list(text: str) -> tuple[str, ...]:
    """``"A1, A3;B5"`` -> ``("A1", "A3", "B5")`` (commas, semicolons or spaces between)."""
    return tuple(w.upper() for w in re.split(r"[,;\s]+", str(text)) if w)


def apply_sample_wells(plan, wells: Mapping[str, str]):
    """Give chosen samples chosen wells (cells and regions alike).

    Parameters
    ----------
    plan
        Sample plan (its ``well`` column is filled for the listed samples).
    wells
        Sample id -> well; a region sample may also be named by its region
        (e.g. ``{"epidermis": "C3"}``).

    Raises
    ------
    DvpInputError
        A name that is neither a sample id nor the region of a region sample,
        or a region name shared by several samples.
    """
    plan = plan.copy()
    sids = plan["sample_id"].astype(str).tolist()
    regions = plan["region"].astype(str).tolist() if "region" in plan else [""] * len(sids)
    kinds = plan["kind"].astype(str).tolist() if "kind" in plan else ["cells"] * len(sids)
    if "well" not in plan:
        plan["well"] = ""
    for key, well in wells.items():
        key, well = str(key).strip(), str(well).strip().upper()
        rows = [i for i, s in enumerate(sids) if s == key]
        if not rows:
            rows = [i for i, (r, k) in enumerate(zip(regions, kinds, strict=True))
                    if k == "region" and r == key]
            if len(rows) > 1:
                raise DvpInputError(f"region {key!r} is cut as {len(rows)} samples; give a "
                                    "well per sample id instead")
        if not rows:
            raise DvpInputError(f"no sample {key!r} to put into well {well}; known samples: "
                                f"{', '.join(sids[:8])}{' …' if len(sids) > 8 else ''}")
        plan.iloc[rows[0], plan.columns.get_loc("well")] = well
    return plan


def plate_map(wells: Mapping[str, str], collector: Collector):
    """The plate as a grid of sample names (rows A…, columns 1…), for printing beside the plate.

    Parameters
    ----------
    wells
        Sample id -> well.
    collector
        The collector used. Plates (and custom wells named like plate wells)
        give a 96- or 384-well grid; a tube strip one row; other names a
        two-column list ``well, sample_id``.

    Returns
    -------
    pandas.DataFrame
        Index = row letters (``row``), columns = ``"1"`` … (empty string = empty well).
    """
    import pandas as pd

    by_well = {str(w): str(s) for s, w in wells.items()}
    if collector.name == "8-tube strip":
        return pd.DataFrame([[by_well.get(w, "") for w in collector.wells]],
                            index=pd.Index(["strip"], name="row"), columns=list(collector.wells))
    parsed = [_WELL.match(w) for w in collector.all_wells | set(by_well)]
    if not all(parsed):
        return pd.DataFrame({"well": list(by_well), "sample_id": list(by_well.values())})
    n_rows = max(ord(m.group(1).upper()) - 64 for m in parsed)
    n_cols = max(int(m.group(2)) for m in parsed)
    nr, nc = PLATES["96"] if (n_rows <= 8 and n_cols <= 12) else PLATES["384"]
    nr, nc = max(nr, n_rows), max(nc, n_cols)
    letters = [chr(65 + k) for k in range(nr)]
    grid = pd.DataFrame("", index=pd.Index(letters, name="row"),
                        columns=[str(c) for c in range(1, nc + 1)])
    for w, s in by_well.items():
        m = _WELL.match(w)
        grid.at[m.group(1).upper(), str(int(m.group(2)))] = s
    return grid
