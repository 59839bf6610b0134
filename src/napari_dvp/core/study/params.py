"""Parameters of the study-wide plan (light: no numpy/pandas import, for ``--help``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DvpInputError
from ..params import check_params, param

LAYOUTS = ("blocked", "randomised")
DEFAULT_GROUPS = ("keratinocyte:epidermis:20", "CD8 T cell:dermis:6", "macrophage:dermis:6",
                  "fibroblast:dermis:5")


def parse_group(text: str) -> tuple[str, str, int | None]:
    """``"class:region[:target]"`` -> ``(class, region, target or None)``."""
    parts = [p.strip() for p in str(text).split(":")]
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise DvpInputError(f"group {text!r} must read class:region or class:region:target "
                            "(e.g. keratinocyte:epidermis:20)")
    target = None
    if len(parts) == 3 and parts[2]:
        if not parts[2].isdigit() or int(parts[2]) < 1:
            raise DvpInputError(f"target of group {text!r} must be a whole number >= 1")
        target = int(parts[2])
    return parts[0], parts[1], target


@dataclass(frozen=True)
class StudyPlanParams:
    """How the study's samples are made and placed on plates."""

    groups: tuple[str, ...] = param(
        DEFAULT_GROUPS, label="Groups",
        help="class:region[:target] per sample group, e.g. keratinocyte:epidermis:20")
    balance: str = param("cells", label="Balance by", choices=("cells", "area"),
                         help="make samples of equal cell count or equal total cell area")
    target_area_um2: float = param(5000.0, label="Target area", unit="µm²", min=1.0, max=1e8,
                                   help="total cell area per sample (balance by area; a "
                                        "group's own target counts as µm² then)")
    replicates: int = param(2, label="Replicates", min=1, max=24,
                            help="samples per slide, class and region")
    mode: str = param("contiguous", label="Cells drawn", choices=("spread", "contiguous"),
                      help="spread: cells at random across the tissue; contiguous: a compact "
                           "patch per sample")
    plate: str = param("384", label="Plate", choices=("384", "96"),
                       help="plate format; more plates are used when the samples need them")
    layout: str = param("blocked", label="Plate layout", choices=LAYOUTS,
                        help="blocked: conditions interleaved in fill order; randomised: "
                             "random wells, each plate holding every condition in proportion")
    blanks: int = param(2, label="Blank wells", min=0, max=96,
                        help="empty wells per plate (carry-over / background control)")
    qc: int = param(2, label="QC wells", min=0, max=96,
                    help="QC wells per plate (e.g. a pooled digest or HeLa standard)")
    skip_outer: bool = param(True, label="Skip edge wells",
                             help="leave the outer rows and columns empty (evaporation)")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1,
                      help="random seed (cells drawn, plate positions)")

    def __post_init__(self) -> None:
        check_params(self)
        for g in self.groups:
            parse_group(g)
        if not self.groups:
            raise DvpInputError("no sample group; give at least one class:region")
