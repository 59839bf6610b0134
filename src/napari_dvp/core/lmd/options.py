"""The LMD dock's parameters, declared once with :func:`~napari_dvp.core.params.param`.

Small dataclasses give the dock its forms (``_qt/_forms.ParamsForm``) and
``napari-dvp export-lmd`` its options (``commands/_params.add_params``), and
turn into the core's own options: :class:`PlanParams` ->
:class:`~.plan.PlanOptions`, :class:`WellParams` -> a
:class:`~.collectors.Collector`, :class:`CutParams` (+ wells) ->
:class:`~.export.ExportOptions`. Their defaults are those of the core options
(a unit test keeps them equal). Nothing heavy is imported at module top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..params import check_params, param

if TYPE_CHECKING:  # pragma: no cover
    from .collectors import Collector
    from .export import ExportOptions
    from .plan import PlanOptions

__all__ = ["CutParams", "PlanParams", "RegionParams", "WellParams"]


@dataclass
class PlanParams:
    """How the cells of each chosen class x region group are pooled into samples."""

    target_area_um2: float = param(
        50_000.0, label="Cell area per sample", unit="µm²", min=1, max=1e9, step=1000,
        help="Pool cells until each sample holds this much cell area (used when 'Cells per "
             "sample' is 0)")
    target_cells: int = param(
        0, label="Cells per sample", min=0, max=10_000_000,
        help="Pool this many cells per sample instead of an area (0: pool by area)")
    replicates: int = param(
        1, label="Replicates", min=1, max=384,
        help="Samples (wells) per class x region group; they get equal shares (by area or "
             "count), and a warning says when there are too few cells")
    mode: str = param(
        "spread", label="Take cells", choices=("spread", "contiguous"),
        help="spread: cells drawn at random across the tissue; contiguous: each sample a "
             "compact patch of neighbouring cells")
    skip_touching: bool = param(
        False, label="Skip cells touching another selected cell",
        help="Leave out cells that touch another candidate cell, so every cut holds one cell")

    def __post_init__(self) -> None:
        check_params(self)

    def options(self) -> PlanOptions:
        """The core :class:`~.plan.PlanOptions`."""
        from .plan import PlanOptions

        by_cells = self.target_cells > 0
        return PlanOptions(target_area_um2=None if by_cells else float(self.target_area_um2),
                           target_cells=int(self.target_cells) if by_cells else None,
                           replicates=int(self.replicates), mode=self.mode,
                           skip_touching=bool(self.skip_touching))


@dataclass
class RegionParams:
    """How drawn regions are cut when they are samples of their own."""

    max_piece_um2: float = param(
        0.0, label="Max. piece", unit="µm²", min=0, max=1e12, step=500,
        help="Cut big regions into pieces of at most this area (the laser drops large pieces "
             "badly); 0: each region in one piece")

    def __post_init__(self) -> None:
        check_params(self)


@dataclass
class WellParams:
    """Which wells of the collector receive the samples, in which order."""

    plate: str = param("384", label="Collector", choices=("384", "96", "strip8"),
                       help="384- or 96-well plate, or one strip of 8 tubes")
    skip_outer: bool = param(False, label="Skip edge wells",
                             help="Leave the outer rows and columns of the plate empty")
    every_other: bool = param(False, label="Every other well",
                              help="Use every other row and column (a free well between samples)")
    fill_order: str = param("row", label="Fill order", choices=("row", "column", "serpentine"),
                            help="Order in which the wells are filled")
    custom_wells: tuple[str, ...] = param(
        (), label="Only these wells", flag="wells",
        help="Use exactly these wells in this order, e.g. 'A1, A3, B5' (empty: the plate)")

    def __post_init__(self) -> None:
        check_params(self)

    def collector(self) -> Collector:
        """The core :class:`~.collectors.Collector` these settings describe."""
        from .collectors import make_collector, parse_well_list

        custom = parse_well_list(",".join(self.custom_wells)) if self.custom_wells else ()
        return make_collector("custom" if custom else self.plate, skip_outer=self.skip_outer,
                              every_other=self.every_other, order=self.fill_order,
                              custom=custom)


@dataclass
class CutParams:
    """The file format and how the cut shapes are made from the cells."""

    fmt: str = param("leica", label="Format", choices=("leica", "palm"), flag="format",
                     help="Leica LMD XML, or Zeiss PALM elements (needs the stage positions "
                          "of the three marks)")
    dilate_um: float = param(1.0, label="Margin around cells", unit="µm", min=0, max=100,
                             step=0.25, help="Margin cut around each cell")
    max_intrusion_um: float = param(
        0.5, label="Max. into unselected cells", unit="µm", min=0, max=100, step=0.1,
        help="The margin enters an unselected neighbouring cell by at most this much")
    simplify_um: float = param(0.3, label="Simplify outlines", unit="µm", min=0, max=100,
                               step=0.1, help="Outline simplification tolerance")
    max_loss_percent: float = param(
        5.0, label="Max. cells lost per sample", unit="%", min=0, max=100, step=1,
        flag="max-loss",
        help="Stop when a sample would lose more than this share of its planned cells (the "
             "dock then asks; the command line needs --accept-loss)")

    def __post_init__(self) -> None:
        check_params(self)

    def options(self, wells: WellParams, accept_loss: bool = False) -> ExportOptions:
        """The core :class:`~.export.ExportOptions` for these settings and ``wells``."""
        from .collectors import parse_well_list
        from .export import ExportOptions

        custom = parse_well_list(",".join(wells.custom_wells)) if wells.custom_wells else ()
        return ExportOptions(fmt=self.fmt, plate="custom" if custom else wells.plate,
                             custom_wells=custom, skip_outer=wells.skip_outer,
                             every_other=wells.every_other, fill_order=wells.fill_order,
                             dilate_um=self.dilate_um, simplify_um=self.simplify_um,
                             max_intrusion_um=self.max_intrusion_um,
                             max_loss=self.max_loss_percent / 100, accept_loss=accept_loss)
