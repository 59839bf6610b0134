"""A synthetic DIA-NN matrix for a study's samples, with a known truth.

Built on :func:`napari_dvp.core.proteomics.synthetic.synthetic_pg_matrix` (intensity-
dependent missing values, sample noise, cell-type markers, blank runs) with the study's
design planted:

* every interferon / JAK-STAT member is higher by +1.5 to +3 log2 in **TEN**
  keratinocytes and **TEN** immune cells (CD8 T cells, macrophages) — and nowhere else
  (not in TEN fibroblasts, not in MDE, not in healthy skin);
* each patient shifts every protein by its own amount (N(0, ``patient_sd``) log2 per
  patient and protein), so samples of one patient are correlated, as in real cohorts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PLANTED_CONDITION = "TEN"
PLANTED_CLASSES = ("keratinocyte", "CD8 T cell", "macrophage")


def planted_samples(manifest: pd.DataFrame, condition: str = PLANTED_CONDITION,
                    classes: Sequence[str] = PLANTED_CLASSES) -> pd.Series:
    """Bool per ``sample_id``: interferon proteins planted up."""
    m = (manifest["condition"].astype(str) == condition) & manifest["class"].isin(classes)
    return pd.Series(m.to_numpy(), index=pd.Index(manifest["sample_id"].astype(str)),
                     name="interferon_up")


def _run_names(manifest: pd.DataFrame) -> list[str]:
    # the names synthetic_pg_matrix gives: the well when unique, else the sample id
    wells = manifest["well"].where(~manifest["well"].duplicated(keep=False)
                                   & (manifest["well"] != ""), manifest["sample_id"])
    return [f"D:\\DVP\\TEN_run_{w}.d" for w in wells]


def study_pg_matrix(manifest: pd.DataFrame, seed: int = 0, n_proteins: int = 2000,
                    patient_sd: float = 0.3, n_blanks: int = 2) -> pd.DataFrame:
    """A DIA-NN ``pg_matrix`` table for the study manifest (see module docstring)."""
    from ..proteomics.matching import check_manifest
    from ..proteomics.synthetic import synthetic_pg_matrix

    manifest = check_manifest(manifest)
    table = synthetic_pg_matrix(manifest, seed=seed, n_proteins=n_proteins,
                                n_blanks=n_blanks, up=planted_samples(manifest))
    rng = np.random.default_rng(seed + 7919)
    patients = manifest["patient"].astype(str).to_numpy()
    uniq = pd.unique(patients)
    shift = rng.normal(0.0, patient_sd, (len(uniq), len(table)))
    by_run = dict(zip(_run_names(manifest), pd.Index(uniq).get_indexer(patients), strict=True))
    for run, k in by_run.items():
        table[run] = table[run] * np.exp2(shift[k])
    return table


def truth_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """Planted truth per gene: ``gene, planted`` (interferon / JAK-STAT members)."""
    from ..proteomics.genesets import interferon_genes

    return pd.DataFrame({"gene": sorted(interferon_genes()), "planted": True})
