"""Which search-engine layout a protein table has, decided from its content.

:func:`detect_layout` looks at the whole column set (and, for Perseus, the annotation
rows under the header), never at a single column name. Each layout has a *level*:

``protein``
    one row per protein group, one quantity column per run (or a long table with the
    engine's own protein-group quantity per run): read as is.
``precursor``
    one row per precursor (or peptide) and run without a protein-group quantity:
    refused unless the caller asks to aggregate (``--aggregate top3``).
``refused``
    tables that are not per-run protein quantities at all (Spectronaut candidates,
    an LMD manifest, MaxQuant/FragPipe peptide tables): a one-line error says what to
    export instead.

A table that matches no layout is an error, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DvpInputError


@dataclass(frozen=True)
class Layout:
    """A supported table layout.

    Attributes
    ----------
    key
        Short name (``"diann_pg_matrix"`` …), also accepted by ``--format``.
    description
        What the file is, in the engine's words.
    level
        ``"protein"`` or ``"precursor"`` (see the module docstring).
    """

    key: str
    description: str
    level: str


LAYOUTS: dict[str, Layout] = {lay.key: lay for lay in (
    Layout("diann_pg_matrix", "DIA-NN protein-group matrix (report.pg_matrix.tsv, 1.8-2.x)",
           "protein"),
    Layout("diann_report", "DIA-NN long report (report.tsv / report.parquet, 1.8-2.x)",
           "protein"),
    Layout("diann_pr_matrix", "DIA-NN precursor matrix (report.pr_matrix.tsv)", "precursor"),
    Layout("alphadia", "AlphaDIA protein-group matrix (pg.matrix.tsv / .parquet)", "protein"),
    Layout("alphadia_precursors", "AlphaDIA precursor report (precursors.tsv / .parquet)",
           "precursor"),
    Layout("spectronaut_pivot", "Spectronaut pivot report (PG.Quantity per run)", "protein"),
    Layout("spectronaut_long", "Spectronaut long report (R.FileName, PG.Quantity)", "protein"),
    Layout("spectronaut_candidates", "Spectronaut candidates table (group comparisons)",
           "refused"),
    Layout("maxquant", "MaxQuant proteinGroups.txt", "protein"),
    Layout("maxquant_peptides", "MaxQuant peptides.txt / evidence.txt", "refused"),
    Layout("fragpipe", "FragPipe combined_protein.tsv", "protein"),
    Layout("fragpipe_peptides", "FragPipe combined_peptide.tsv / combined_ion.tsv", "refused"),
    Layout("perseus", "Perseus matrix (#!{Type} annotation rows)", "protein"),
    Layout("generic", "generic matrix (protein column + one numeric column per run)",
           "protein"),
    Layout("lmd_manifest", "LMD manifest.csv written by napari-dvp", "refused"),
)}

GENERIC_GENE = ("gene", "genes", "gene names", "gene_names", "gene name", "gene_name",
                "gene symbol", "gene_symbol", "symbol", "pg.genes")
GENERIC_ID = ("protein_id", "protein id", "protein", "protein ids", "protein.group",
              "protein group", "protein_group", "uniprot", "accession", "pg",
              "majority protein ids", "protein_ids", "proteins", "protein accession",
              "protein accessions", "proteinid", "uniprot_id", "uniprot id", "accessions",
              "protein.ids", "pg.proteingroups")
GENERIC_ANNOT = frozenset(GENERIC_GENE) | frozenset(GENERIC_ID) | {
    "protein_names", "protein names", "description", "protein.names", "protein.ids",
    "first.protein.description", "fasta headers", "protein description", "entry name",
    "organism", "protein name"}

_DIANN_PRECURSOR = {"Precursor.Id", "Stripped.Sequence", "Modified.Sequence",
                    "Precursor.Charge"}
_ALPHADIA_PRECURSOR = {"rt_observed", "mz_observed", "precursor_idx", "sequence", "charge",
                       "mods", "qval", "decoy", "elution_group_idx", "proba", "pg_qval"}
_REFUSE = {
    "spectronaut_candidates": "is a Spectronaut candidates table (group comparisons, no "
                              "quantity per run); export the PG pivot report "
                              "(PG.ProteinGroups, PG.Quantity per run) instead",
    "lmd_manifest": "is an LMD manifest (sample_id, well, cell_ids), not a protein table; give "
                    "the search engine's protein-group output (the manifest goes to --manifest)",
    "maxquant_peptides": "is a MaxQuant peptide/evidence table; give proteinGroups.txt instead",
    "fragpipe_peptides": "is a FragPipe peptide/ion table; give combined_protein.tsv instead",
}


def detect_layout(columns: list[str], annotation_rows: list[str] | None = None,
                  name: str = "table") -> str:
    """Name the layout (a key of :data:`LAYOUTS`) of a table from its columns.

    Parameters
    ----------
    columns
        The header's column names.
    annotation_rows
        First cells of the lines under the header (Perseus writes ``#!{Type}…`` there).
    name
        File name for messages.

    Raises
    ------
    DvpInputError
        For tables that are not protein quantities per run (an LMD manifest, Spectronaut
        candidates, peptide tables) and for tables that match no layout.
    """
    cols = set(columns)
    lower = {c.strip().lower() for c in columns}
    key = _match(columns, cols, lower, annotation_rows or [])
    if key is None:
        raise DvpInputError(
            f"{name} matches no known protein table layout (DIA-NN, AlphaDIA, Spectronaut, "
            "MaxQuant, FragPipe, Perseus) and has no protein id column (protein, protein_id, "
            "gene …); export the engine's protein-group table or name the id column")
    if key in _REFUSE:
        raise DvpInputError(f"{name} {_REFUSE[key]}")
    return key


def _match(columns, cols: set[str], lower: set[str], annotation_rows: list[str]) -> str | None:
    if any(r.startswith("#!{") for r in annotation_rows):
        return "perseus"
    if {"sample_id", "well", "cell_ids"} <= cols:
        return "lmd_manifest"
    if "Protein.Group" in cols:
        if cols & {"Run", "File.Name", "Run.Index"}:
            return "diann_report"
        if cols & _DIANN_PRECURSOR:
            return "diann_pr_matrix"
        if cols & {"Protein.Ids", "Genes", "Protein.Names", "First.Protein.Description"}:
            return "diann_pg_matrix"
    if ("raw.name" in cols and "pg.name" in cols) or (
            "run" in cols and "pg" in cols and cols & _ALPHADIA_PRECURSOR):
        return "alphadia_precursors"
    if "Comparison (group1/group2)" in cols or ("AVG Log2 Ratio" in cols
                                                and cols & {"Qvalue", "Pvalue"}):
        return "spectronaut_candidates"
    pg_col = cols & {"PG.ProteinGroups", "PG.ProteinAccessions"}
    if pg_col and cols & {"R.FileName", "R.Label", "R.Raw File Name"}:
        return "spectronaut_long"
    if pg_col and any(c.endswith(".PG.Quantity") for c in columns):
        return "spectronaut_pivot"
    if ("Protein IDs" in cols or "Majority protein IDs" in cols) and any(
            c.startswith(("LFQ intensity ", "Intensity ")) for c in columns):
        return "maxquant"
    if "Leading razor protein" in cols and "Sequence" in cols:
        return "maxquant_peptides"
    if "Protein ID" in cols and cols & {"Peptide Sequence", "Modified Sequence"}:
        return "fragpipe_peptides"
    if "Protein ID" in cols and any(c.endswith(" Intensity") for c in columns):
        return "fragpipe"
    if cols & {"pg", "pg.name"}:
        return "alphadia"
    if lower & (set(GENERIC_ID) | set(GENERIC_GENE)):
        return "generic"
    return None
