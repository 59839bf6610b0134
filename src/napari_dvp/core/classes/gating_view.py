"""What the Gating dock shows, without Qt: markers, histogram values and range, class counts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .gating_scheme import GateRule

UNCLASSIFIED = "unclassified"

DEFAULT_RULES = (("keratinocyte", "panCK+"), ("CD8 T cell", "CD8+ and panCK-"),
                 ("macrophage", "CD163+ and CD8- and panCK-"))
"""Rules the Gating dock starts from (those whose markers are measured)."""


def markers_of(table: pd.DataFrame, statistic: str = "mean") -> list[str]:
    """Markers with a per-cell ``<statistic>_<marker>`` column, in table order."""
    prefix = f"{statistic}_"
    return [c[len(prefix):] for c in table.columns if str(c).startswith(prefix)]


def usable_rules(rules: Sequence[tuple[str, str]], markers: Sequence[str]) -> list[tuple[str, str]]:
    """The ``(class, rule)`` pairs whose markers are all measured."""
    return [(name, rule) for name, rule in rules
            if all(m in markers for m in GateRule(name, rule).markers())]


def histogram_input(table: pd.DataFrame, marker: str, statistic: str = "mean"
                    ) -> tuple[np.ndarray, tuple[float, float]]:
    """Finite per-cell values of ``marker`` and the histogram range (0 or less .. 99.5th pct)."""
    v = table[f"{statistic}_{marker}"].to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    hi = np.percentile(v, 99.5) if v.size else 1.0
    return v, (float(min(v.min(initial=0), 0)), float(hi) or 1.0)


def histogram_bins(n_cells: int) -> int:
    """Bars of a marker histogram: about two per square root of the cells, 16 to 128."""
    return int(np.clip(round(2 * np.sqrt(max(n_cells, 0))), 16, 128))


def positive_text(values: np.ndarray, marker: str, threshold: float) -> str:
    """``"412 of 1,250 cells CD8+ (33 %)"`` for the histogram's title."""
    n = int(values.size)
    pos = int((values > threshold).sum())
    share = f" ({100 * pos / n:.0f} %)" if n else ""
    return f"{pos:,} of {n:,} cells {marker}+{share}"


def class_counts(codes: np.ndarray, class_names: Sequence[str]) -> dict[str, int]:
    """Cells per class (code i = class i - 1) and ``unclassified`` (code 0), in legend order."""
    counts = np.bincount(codes, minlength=len(class_names) + 1)
    return dict(zip([*class_names, UNCLASSIFIED], [*counts[1:], counts[0]], strict=True))
