"""Is a protein table already log2? Decided from the values, or stated by the user.

Rule (:func:`decide_log2`, on the finite non-zero values):

* any negative value -> **log2** (intensities cannot be negative);
* 99th percentile <= 50 and median <= 40 -> **log2** (2^50 ~ 10^15 is beyond any MS
  intensity), except when the median is below 12 and the maximum below 14, which looks
  like log10 -> refused (napari-dvp works in log2);
* median >= 256 and 99th percentile > 1000 -> **linear** intensities;
* anything else is ambiguous -> refused: pass ``log2="yes"`` or ``"no"``.

Search engines write linear intensities, so for their own layouts (everything but Perseus
and generic matrices) ``"auto"`` reads log2 only on proof (negative values, or median
12-40 with the 99th percentile <= 50) and linear otherwise.

A stated ``"yes"`` is refused for values above 100 (2^100), a stated ``"no"`` for
negative values. The decision is kept in ``adata.uns["log2"]`` (``input_is_log2``,
``decided_by``, ``detail``) and written into every output's metadata.
"""

from __future__ import annotations

import numpy as np

from ..errors import DvpInputError

CHOICES = ("auto", "yes", "no")


def _norm(choice) -> str:
    if choice is True:
        return "yes"
    if choice is False:
        return "no"
    c = str(choice).strip().lower()
    if c not in CHOICES:
        raise DvpInputError(f"log2 must be one of {', '.join(CHOICES)} (is the input already "
                            f"log2?), not {choice!r}")
    return c


def summary(values: np.ndarray) -> dict[str, float]:
    """Median, 1st/99th percentile, min and max of the finite non-zero values."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v) & (v != 0)]
    if not v.size:
        return {"n": 0}
    q = np.percentile(v, [1, 50, 99])
    return {"n": int(v.size), "min": float(v.min()), "p01": float(q[0]), "median": float(q[1]),
            "p99": float(q[2]), "max": float(v.max())}


def decide_log2(values: np.ndarray, choice="auto", name: str = "the table",
                engine_linear: bool = False) -> dict:
    """Decide whether ``values`` are log2 (see the module's rule).

    ``engine_linear``: the layout is a search engine's own output, which is written as
    linear intensities; then ``"auto"`` reads log2 only on proof (negative values, or a
    median between 12 and 40 with the 99th percentile <= 50) and linear otherwise.

    Returns
    -------
    dict
        ``{"input_is_log2": bool, "decided_by": "values"|"user", "detail": str}``.

    Raises
    ------
    DvpInputError
        Ambiguous or log10-looking values with ``"auto"``; a statement the values
        contradict.
    """
    choice = _norm(choice)
    s = summary(values)
    if s["n"] == 0:
        return {"input_is_log2": choice == "yes", "decided_by": "user" if choice != "auto"
                else "values", "detail": "no values"}
    detail = (f"median {s['median']:.4g}, 99th percentile {s['p99']:.4g}, "
              f"min {s['min']:.4g}, max {s['max']:.4g}")
    if choice == "yes":
        if s["max"] > 100:
            raise DvpInputError(f"{name} is said to be log2 but has values up to {s['max']:.3g} "
                                "(2^100 is not an intensity); pass --log2 no or auto")
        return {"input_is_log2": True, "decided_by": "user", "detail": detail}
    if choice == "no":
        if s["min"] < 0:
            raise DvpInputError(f"{name} is said to be linear but has negative values "
                                f"({s['min']:.3g}); intensities cannot be negative: pass "
                                "--log2 yes or auto")
        return {"input_is_log2": False, "decided_by": "user", "detail": detail}
    if s["min"] < 0:
        return {"input_is_log2": True, "decided_by": "values",
                "detail": f"negative values ({detail})"}
    if engine_linear:
        if s["p99"] <= 50 and 12 <= s["median"] <= 40:
            return {"input_is_log2": True, "decided_by": "values", "detail": detail}
        return {"input_is_log2": False, "decided_by": "engine layout (linear intensities)",
                "detail": detail}
    if s["p99"] <= 50 and s["median"] <= 40:
        if s["median"] < 12 and s["max"] < 14:
            raise DvpInputError(f"{name} looks log10-scaled ({detail}); convert it to log2 or "
                                "linear intensities, or pass --log2 yes if it is log2")
        return {"input_is_log2": True, "decided_by": "values", "detail": detail}
    if s["median"] >= 256 and s["p99"] > 1000:
        return {"input_is_log2": False, "decided_by": "values", "detail": detail}
    raise DvpInputError(f"cannot tell whether {name} holds log2 values or linear intensities "
                        f"({detail}); pass --log2 yes or --log2 no")
