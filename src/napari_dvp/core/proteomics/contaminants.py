"""Contaminant and decoy protein groups, flagged the same way for every engine.

A protein group is a **contaminant** when

* the engine flags it: MaxQuant/Perseus ``Potential contaminant`` (or ``Contaminant``)
  = ``+``; or
* any accession of the protein group itself (DIA-NN ``Protein.Group``, MaxQuant
  ``Majority protein IDs``, Spectronaut ``PG.ProteinGroups``, AlphaDIA ``pg``, FragPipe
  ``Protein``; ids split on ``;``) starts with a contaminant prefix: ``CON__``
  (MaxQuant, Perseus), ``Cont_`` (DIA-NN's contaminant library, AlphaDIA and
  Spectronaut searches with that FASTA),
  ``contam_`` (FragPipe / Philosopher). Accessions that only appear among all matched
  proteins (MaxQuant ``Protein IDs``, DIA-NN ``Protein.Ids``) do not count: MaxQuant
  lists bovine serum homologues there for many human plasma proteins without flagging
  the group.

It is a **decoy** when the engine flags it (MaxQuant ``Reverse`` = ``+``; decoy rows of
long reports: DIA-NN ``Decoy``, AlphaDIA ``decoy``/``precursor.decoy``, Spectronaut
``EG.IsDecoy``, which are dropped before pivoting) or when its leading accession starts
with ``REV__`` / ``rev_`` / ``DECOY_``. MaxQuant's ``Only identified by site`` = ``+``
rows are removed with the contaminants (counted apart).

Removal is on by default and switchable; every reader reports the counts in
``adata.uns["filtering"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTAMINANT_PREFIX = r"(?:con__|cont_|contam_)"
DECOY_PREFIX = r"(?:rev_|decoy_)"


def prefix_flags(*id_columns) -> tuple[np.ndarray, np.ndarray]:
    """Contaminant (any accession) and decoy (leading accession) flags from id text.

    Parameters
    ----------
    id_columns
        Arrays of id strings (protein group, protein ids, FragPipe ``Protein`` …), one
        entry per protein group.

    Returns
    -------
    (contaminant, decoy)
        Boolean arrays.
    """
    n = len(id_columns[0]) if id_columns else 0
    cont = np.zeros(n, dtype=bool)
    decoy = np.zeros(n, dtype=bool)
    for col in id_columns:
        if col is None:
            continue
        s = pd.Series(np.asarray(col, dtype=object), dtype="string").fillna("")
        cont |= s.str.contains(rf"(?:^|[;|\s]){CONTAMINANT_PREFIX}", case=False,
                               regex=True).fillna(False).to_numpy(dtype=bool)
        decoy |= s.str.match(rf"\s*{DECOY_PREFIX}", case=False).fillna(False) \
            .to_numpy(dtype=bool)
    return cont, decoy


def plus_flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    """``True`` where a MaxQuant/Perseus flag column holds ``+``."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    col = frame.col(column) if hasattr(frame, "col") else frame[column]
    return pd.Series(col, dtype="string").str.strip().eq("+").fillna(False).to_numpy(bool)


def decoy_rows(frame: pd.DataFrame) -> np.ndarray:
    """Decoy rows of a long (precursor-level) report, from its decoy column if any."""
    out = np.zeros(len(frame), dtype=bool)
    for col in ("Decoy", "decoy", "precursor.decoy", "EG.IsDecoy"):
        if col in frame.columns:
            s = frame[col].astype("string").str.strip().str.lower()
            out |= s.isin(["1", "1.0", "true", "+", "yes"]).fillna(False).to_numpy(bool)
    return out
