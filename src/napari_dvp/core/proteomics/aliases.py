"""Gene symbols made comparable: previous HGNC symbols -> today's approved symbol.

FASTA files and gene sets of different years name some genes differently (``DDX58`` is
``RIGI`` since 2022, ``SEPT2`` is ``SEPTIN2``). Before a gene set is matched to the
protein groups, both sides are mapped to the approved symbol with the bundled table
``data/hgnc_previous_symbols.tsv.gz`` (HGNC, CC0; source and derivation in
``data/HGNC_SOURCES.md``). Only unambiguous previous symbols are mapped; aliases are not.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd


@lru_cache(maxsize=1)
def previous_symbols() -> dict[str, str]:
    """``{previous symbol: approved symbol}`` (upper-case) from the bundled HGNC table."""
    raw = resources.files(__package__).joinpath("data/hgnc_previous_symbols.tsv.gz") \
        .read_bytes()
    out = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line and not line.startswith("#"):
            old, new = line.split("\t")
            out[old] = new
    return out


def canonical(symbols) -> np.ndarray:
    """Upper-case approved symbol for each symbol (unchanged when it is not a previous one)."""
    table = previous_symbols()
    s = pd.Series(np.asarray(symbols, dtype=object), dtype="string").fillna("").str.strip() \
        .str.upper()
    return s.map(lambda g: table.get(g, g)).to_numpy(dtype=object)
