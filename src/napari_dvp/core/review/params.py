"""The QC thresholds of the review step, declared once (light module: no numpy/pandas).

The Review dock builds its form from :class:`QcThresholds` and ``napari-dvp
measure`` its ``--min-area-um2 …`` options, so each default lives here only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import DvpInputError
from ..params import check_params, param

__all__ = ["QcThresholds"]


@dataclass
class QcThresholds:
    """Limits for the QC flags (defaults suit skin at 0.5 µm per pixel).

    Attributes
    ----------
    min_area_um2, max_area_um2
        Cells smaller / larger than this (µm²) are flagged.
    min_nuclear_fraction
        A cell whose mean nuclear intensity is below this fraction of the median
        over all cells is flagged (0 disables the flag).
    min_solidity
        Cells with solidity (area / convex area) below this are flagged.
    flag_border
        Flag cells touching the image border.
    """

    min_area_um2: float = param(
        20.0, label="Smallest cell", unit="µm²", min=0, max=1e5, step=5, decimals=1,
        help="cells smaller than this are flagged (debris, a cut nucleus)")
    max_area_um2: float = param(
        600.0, label="Largest cell", unit="µm²", min=1, max=1e6, step=10, decimals=1,
        help="cells larger than this are flagged (often two or more cells merged)")
    min_nuclear_fraction: float = param(
        0.3, label="Min. nuclear signal", min=0, max=1, step=0.05, decimals=2,
        help="flag cells whose nuclear signal is below this fraction of the typical cell's "
             "(a cell without a nucleus is often background); 0 switches the flag off")
    min_solidity: float = param(
        0.8, label="Min. shape solidity", min=0, max=1, step=0.05, decimals=2,
        help="flag ragged or merged shapes: area / area of the convex hull below this")
    flag_border: bool = param(
        True, label="Flag cells cut by the image border",
        help="flag cells touching the image border (their measurements are partial)")

    def __post_init__(self) -> None:
        check_params(self)
        if self.min_area_um2 >= self.max_area_um2:
            raise DvpInputError(
                f"minimum area {self.min_area_um2} µm² is not below the maximum "
                f"{self.max_area_um2} µm²; lower the minimum or raise the maximum"
            )

    def as_dict(self) -> dict:
        """Plain dict (for provenance files)."""
        return asdict(self)
