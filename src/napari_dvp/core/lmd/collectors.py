"""Collectors: where the cut pieces fall (plates, tube strips, custom lists).

Well names are row letter + column number (``A1`` … ``P24``), as the Leica LMD
software's ``CapID`` expects. One sample goes into one well.
"""

from __future__ import annotations

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
