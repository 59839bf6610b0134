"""Tissue geometry of the synthetic TEN biopsy: smooth curves along the columns.

Rows grow downwards. From top to bottom, at column ``x``:

* glass (no tissue) above ``sc_top(x)``;
* stratum corneum (anucleate keratin, no cells) from ``sc_top`` to ``surface``;
* epidermis (keratinocytes) from ``surface(x)`` to the dermal-epidermal
  junction ``junction(x)``, whose rete ridges hang down into the dermis;
* in the lesional part only, a subepidermal blister (cell-free, fluid) from
  ``junction(x)`` to its floor ``floor(x)``;
* dermis from ``floor(x)`` (= ``junction(x)`` outside the lesion) to the bottom.

``lesion(x)`` rises smoothly from 0 (non-lesional, left) to 1 (lesional,
right part) around ``lesion_start``.

Two layouts (``SampleSpec.layout``):

``"scaled"`` (default)
    The big structures scale with the image height: tissue surface at ~5 %
    of the height, epidermis ~22 % thick (junction at about the top third),
    blister ~9 % high. Every size shows the same picture and the same class
    mix; rete ridges and cells keep their physical size.
``"physical"``
    Fixed physical thicknesses (epidermis ~115 µm, blister ~45 µm, surface at
    ~26 µm): a bigger image is a bigger piece of tissue, mostly dermis.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

PIXEL_SIZE_UM = 0.5
_UM = 1.0 / PIXEL_SIZE_UM  # pixels per micrometre


@dataclass(frozen=True)
class SampleSpec:
    """What defines a synthetic sample: its size, seed and layout.

    Parameters
    ----------
    height, width
        Image size in pixels at 0.5 µm/px.
    seed
        Random seed; the same spec always gives the same pixels.
    layout
        ``"scaled"`` or ``"physical"`` (see module docstring).
    """

    height: int
    width: int
    seed: int = 0
    layout: str = "scaled"

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` in pixels."""
        return (self.height, self.width)


@dataclass(frozen=True)
class Layout:
    """Curve parameters of one spec (pixels)."""

    surface0: float
    thickness: float
    sc_thick: float
    big_amp: float
    big_waves: tuple[tuple[float, float], ...]  # (period, phase)
    surf_amp: float
    surf_waves: tuple[tuple[float, float], ...]
    ridge_amp: float
    ridge_period: float
    ridge_phase: tuple[float, float, float, float]
    blister: float
    blister_phase: tuple[float, float]
    lesion_start: float
    ramp: float

    def curves(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """All boundary rows at columns ``x`` (float64 arrays, same shape as ``x``)."""
        x = np.asarray(x, dtype=np.float64)
        two_pi = 2.0 * np.pi
        big = sum(np.sin(two_pi * x / p + ph) for p, ph in self.big_waves) / len(self.big_waves)
        surf = sum(np.sin(two_pi * x / p + ph) for p, ph in self.surf_waves) / len(
            self.surf_waves)
        surface = self.surface0 + self.surf_amp * surf + 0.5 * self.big_amp * big
        base = self.surface0 + self.thickness + self.big_amp * big
        p0, p1, p2, p3 = self.ridge_phase
        wobble = 1.3 * np.sin(two_pi * x / (3.7 * self.ridge_period) + p1) + 0.8 * np.sin(
            two_pi * x / (6.1 * self.ridge_period) + p2)
        phase = two_pi * x / self.ridge_period + p0 + wobble
        peg = (0.5 + 0.5 * np.cos(phase)) ** 1.5
        height = 0.75 + 0.25 * np.sin(two_pi * x / (2.3 * self.ridge_period) + p3)
        junction = base + self.ridge_amp * height * peg
        lesion = _smoothstep((x - self.lesion_start) / self.ramp + 0.5)
        b0, b1 = self.blister_phase
        gap = self.blister * (1.0 + 0.25 * np.sin(two_pi * x / (5.3 * self.ridge_period) + b0)
                              + 0.1 * np.sin(two_pi * x / (1.7 * self.ridge_period) + b1))
        # dermal papillae bulge into the blister cavity ("festooning")
        festoon = 0.45 * self.ridge_amp * (0.5 - 0.5 * np.cos(phase)) ** 2
        floor = junction + lesion * (base + self.ridge_amp + gap - festoon - junction)
        return {
            "sc_top": surface - self.sc_thick,
            "surface": surface,
            "junction": junction,
            "floor": floor,
            "lesion": lesion,
        }


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@functools.lru_cache(maxsize=32)
def layout_of(spec: SampleSpec) -> Layout:
    """The tissue geometry of ``spec`` (deterministic from its seed)."""
    rng = np.random.default_rng([int(spec.seed), 0x1A7])
    h, w = float(spec.height), float(spec.width)
    if spec.layout == "scaled":
        surface0, thickness, blister = 0.05 * h, 0.225 * h, 0.09 * h
        big_amp = 0.02 * h
    elif spec.layout == "physical":
        surface0, thickness, blister = 26 * _UM, 115 * _UM, 45 * _UM
        big_amp = 10 * _UM
    else:
        raise ValueError(f"unknown layout {spec.layout!r}")
    sc_thick = min(12 * _UM, 0.7 * surface0)
    ridge_amp = min(28 * _UM, 0.35 * thickness)
    ridge_period = 110 * _UM * (0.9 + 0.2 * rng.random())
    big_waves = tuple((float(w * p), float(ph)) for p, ph in
                      zip((0.9, 0.55), rng.uniform(0, 2 * np.pi, 2), strict=True))
    surf_waves = tuple((float(p * _UM), float(ph)) for p, ph in
                       zip((70.0, 180.0, 41.0), rng.uniform(0, 2 * np.pi, 3), strict=True))
    lesion_start = w * (0.42 + 0.06 * rng.random())
    ramp = max(40 * _UM, 0.04 * w)
    return Layout(
        surface0=surface0,
        thickness=thickness,
        sc_thick=sc_thick,
        big_amp=big_amp,
        big_waves=big_waves,
        surf_amp=min(5 * _UM, 0.1 * thickness),
        surf_waves=surf_waves,
        ridge_amp=ridge_amp,
        ridge_period=ridge_period,
        ridge_phase=tuple(float(v) for v in rng.uniform(0, 2 * np.pi, 4)),
        blister=blister,
        blister_phase=tuple(float(v) for v in rng.uniform(0, 2 * np.pi, 2)),
        lesion_start=lesion_start,
        ramp=ramp,
    )
