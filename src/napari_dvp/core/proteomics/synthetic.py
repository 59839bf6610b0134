"""A synthetic DIA-NN protein matrix for the synthetic TEN sample's LMD samples.

Ground truth planted on purpose (every number below is synthetic):

* every member of the bundled interferon / JAK-STAT gene sets is higher by
  +1.5 to +3 log2 (one effect per protein) in **lesional keratinocyte** samples
  and in **immune** samples (``CD8 T cell``, ``macrophage``);
* cell-type markers are +3 log2 in their class (KRT5/KRT14/KRT10/KRT1 in
  keratinocytes, CD8A/CD3E/GZMB in CD8 T cells, CD163/CD68/CSF1R in macrophages,
  COL1A1/COL1A2/DCN in fibroblasts);
* missing values depend on intensity (low abundance -> often missing), as in DIA.

Run columns are named like raw files holding the well (``D:\\DVP\\TEN_run_A3.d``),
plus blank runs that match no sample, so the matching has to do real work.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_path
from ..csv_safe import write_csv
from .genesets import interferon_genes
from .matching import check_manifest

IMMUNE_CLASSES = ("CD8 T cell", "macrophage")
MARKERS: dict[str, tuple[str, ...]] = {
    "keratinocyte": ("KRT5", "KRT14", "KRT10", "KRT1"),
    "CD8 T cell": ("CD8A", "CD3E", "GZMB"),
    "macrophage": ("CD163", "CD68", "CSF1R"),
    "fibroblast": ("COL1A1", "COL1A2", "DCN"),
}


def lesional_samples(manifest: pd.DataFrame, lesional_cell_ids: Iterable[int] | None = None
                     ) -> pd.Series:
    """Which samples are lesional (bool per ``sample_id``).

    With ``lesional_cell_ids`` (ground truth of the synthetic sample) a sample is lesional
    when at least half its cells are; else a ``lesional`` manifest column is used; else
    samples in a region named like ``blister``/``lesion`` are lesional.
    """
    manifest = check_manifest(manifest)
    idx = pd.Index(manifest["sample_id"])
    if lesional_cell_ids is not None:
        les = set(int(c) for c in lesional_cell_ids)
        cells = manifest["cell_ids"].str.split(";").explode()
        cells = cells[cells.str.strip() != ""].astype(int)
        frac = cells.isin(les).groupby(level=0).mean().reindex(manifest.index, fill_value=0.0)
        return pd.Series(frac.to_numpy() >= 0.5, index=idx, name="lesional")
    if "lesional" in manifest.columns:
        vals = manifest["lesional"].astype(str).str.lower().isin(["true", "1", "yes"])
        return pd.Series(vals.to_numpy(), index=idx, name="lesional")
    reg = manifest["region"].str.lower()
    return pd.Series(reg.str.contains("blister|lesion").to_numpy(), index=idx, name="lesional")


def planted_up(manifest: pd.DataFrame, lesional: Mapping[str, bool] | pd.Series) -> pd.Series:
    """Samples where interferon proteins are planted higher (bool per ``sample_id``)."""
    manifest = check_manifest(manifest)
    les = pd.Series(lesional).reindex(manifest["sample_id"]).fillna(False).astype(bool).to_numpy()
    cls = manifest["class"].to_numpy()
    up = ((cls == "keratinocyte") & les) | np.isin(cls, IMMUNE_CLASSES)
    return pd.Series(up, index=pd.Index(manifest["sample_id"]), name="interferon_up")


def synthetic_pg_matrix(manifest: pd.DataFrame, seed: int = 0, n_proteins: int = 2000,
                        lesional: Mapping[str, bool] | pd.Series | None = None,
                        n_blanks: int = 1,
                        up: Mapping[str, bool] | pd.Series | None = None) -> pd.DataFrame:
    """A DIA-NN ``report.pg_matrix.tsv`` table for the manifest's samples.

    Parameters
    ----------
    manifest
        LMD manifest (``sample_id, well, class, region, cell_ids``…).
    seed
        Random seed (same seed, same table).
    n_proteins
        Number of protein groups (at least the interferon members + markers).
    lesional
        Lesional flag per sample id; default :func:`lesional_samples` of the manifest.
    n_blanks
        Extra blank runs that belong to no sample.
    up
        Samples (by ``sample_id``) where the interferon proteins are planted higher;
        default :func:`planted_up` of ``lesional`` (a study plants them per condition).

    Returns
    -------
    pandas.DataFrame
        ``Protein.Group, Protein.Ids, Protein.Names, Genes, First.Protein.Description``
        and one intensity column per run (NaN = missing, written as an empty cell).
    """
    manifest = check_manifest(manifest)
    rng = np.random.default_rng(seed)
    if up is None:
        if lesional is None:
            lesional = lesional_samples(manifest)
        up = planted_up(manifest, lesional).to_numpy()
    else:
        up = pd.Series(up).reindex(manifest["sample_id"]).fillna(False).to_numpy(dtype=bool)
    ifn = sorted(interferon_genes())
    markers = [g for gs in MARKERS.values() for g in gs if g not in ifn]
    n_fill = max(n_proteins - len(ifn) - len(markers), 0)
    genes = np.array(ifn + markers + [f"SYN{i:04d}" for i in range(1, n_fill + 1)])
    n_p, n_s = len(genes), len(manifest)
    base = rng.normal(21.0, 2.2, n_p)
    L = base[None, :] + rng.normal(0, 0.35, (n_s, n_p)) + rng.normal(0, 0.25, (n_s, 1))
    effect = rng.uniform(1.5, 3.0, len(ifn))
    L[np.ix_(up, np.arange(len(ifn)))] += effect
    cls = manifest["class"].to_numpy()
    for c, gs in MARKERS.items():
        cols = np.flatnonzero(np.isin(genes, gs))
        L[np.ix_(cls == c, cols)] += 3.0
    p_missing = 1.0 / (1.0 + np.exp((L - 18.5) / 0.7)) + 0.02
    L[rng.random(L.shape) < p_missing] = np.nan
    wells = manifest["well"].where(~manifest["well"].duplicated(keep=False) &
                                   (manifest["well"] != ""), manifest["sample_id"])
    runs = [f"D:\\DVP\\TEN_run_{w}.d" for w in wells]
    blanks = np.full((n_blanks, n_p), np.nan)
    if n_blanks:
        blanks = base[None, :] - 6 + rng.normal(0, 0.5, (n_blanks, n_p))
        blanks[rng.random(blanks.shape) < 0.85] = np.nan
        runs += [f"D:\\DVP\\TEN_blank_{i + 1:02d}.d" for i in range(n_blanks)]
    values = np.exp2(np.vstack([L, blanks]))
    acc = [f"SYN{i:05d}" for i in range(n_p)]
    table = pd.DataFrame({"Protein.Group": acc, "Protein.Ids": acc,
                          "Protein.Names": [f"{g}_HUMAN" for g in genes], "Genes": genes,
                          "First.Protein.Description": [f"synthetic protein {g}" for g in genes]})
    order = rng.permutation(len(runs))
    quant = pd.DataFrame(values.T[:, order], columns=[runs[i] for i in order])
    return pd.concat([table, quant], axis=1)


def write_pg_matrix(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a pg_matrix table as DIA-NN does (tab-separated, empty = missing), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        write_csv(table, tmp, sep="\t", na_rep="", float_format="%.6g")
    return path
