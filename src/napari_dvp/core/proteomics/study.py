"""One protein study: table + manifest -> match -> process -> scores; what the dock and the
demo hold. Qt-free so the widget stays a thin shell around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import DvpInputError
from .genesets import GeneSet, bundled_gene_sets
from .matching import MatchReport, apply_matches, match_runs, set_match
from .processing import ProcessingParams, process, values_frame
from .readers import read_proteomics, run_label
from .scores import SetScores, compare_groups, gene_set_scores, protein_values, set_members

OTHERS = "all other samples"
MATCH_HEADERS = ("MS run", "sample", "well", "rule", "status")


@dataclass
class ProteinStudy:
    """The state of a protein-to-tissue analysis.

    Attributes
    ----------
    data
        The protein table as read (obs = runs).
    manifest
        LMD manifest.
    params
        Processing parameters.
    gene_sets
        Gene sets to score (bundled by default).
    min_coverage
        Minimum coverage for a set to be scored.
    min_members
        Minimum measured member proteins for a sample to get a set score.
    """

    data: ad.AnnData
    manifest: pd.DataFrame
    params: ProcessingParams = field(default_factory=ProcessingParams)
    gene_sets: dict[str, GeneSet] = field(default_factory=bundled_gene_sets)
    min_coverage: float = 0.1
    min_members: int = 5
    table: pd.DataFrame | None = None
    processed: ad.AnnData | None = None
    scores: SetScores | None = None
    report: MatchReport | None = None

    def __post_init__(self) -> None:
        if self.table is None:
            self.table = match_runs(self.data.obs_names, self.manifest)

    def assign(self, run: str, sample_id: str) -> None:
        """Correct one run's sample by hand (``""`` unassigns)."""
        self.table = set_match(self.table, run, sample_id, self.manifest)

    def update(self) -> ProteinStudy:
        """Apply the matches, process, score; returns self."""
        matched, self.report = apply_matches(self.data, self.table, self.manifest)
        self.processed = process(matched, self.params)
        self.scores = gene_set_scores(self.processed, self.gene_sets,
                                      min_coverage=self.min_coverage,
                                      min_members=self.min_members)
        return self

    def summary(self) -> str:
        """One line: matches, unmatched runs/samples, proteins kept, values imputed."""
        p = self._need()
        text = " · ".join(self.report.lines()) + f" · {p.n_vars} proteins kept"
        if self.params.impute != "none":
            text += f", {int(p.layers['imputed'].sum())} values imputed ({self.params.impute})"
        return text

    def match_rows(self) -> tuple[pd.DataFrame, list[str]]:
        """The match table as shown to the user (:data:`MATCH_HEADERS`) and a tooltip per
        row (the reason, else the full run name).
        """
        t = self.table
        rows = pd.DataFrame({
            "MS run": [run_label(r) for r in t["run"]],
            "sample": t["sample_id"].astype(str).to_numpy(),
            "well": t["well"].astype(str).to_numpy(),
            "rule": t["rule"].astype(str).to_numpy(),
            "status": t["status"].astype(str).to_numpy()})
        reason = t["reason"].fillna("").astype(str)
        tips = reason.where(reason != "", t["run"].astype(str)).tolist()
        return rows, tips

    def set_choices(self) -> list[tuple[str, str]]:
        """``(text, set name)`` per gene set: label, genes found / in set, scored or not."""
        return [(f"{r.label} ({r.n_found}/{r.n_in_set} genes)"
                 + ("" if r.scored else " – not scored"), r.set)
                for r in self.scores.coverage.itertuples()]

    def gene_names(self) -> list[str]:
        """Sorted gene names of the kept proteins (for search)."""
        return sorted(set(self._need().var["gene"]) - {""})

    def _need(self) -> ad.AnnData:
        if self.processed is None:
            raise DvpInputError("load the protein table and the manifest first")
        return self.processed

    def set_values(self, name: str) -> pd.Series:
        """Gene-set score per sample (z-score scale)."""
        self._need()
        if name not in self.scores.scores.columns:
            raise DvpInputError(f"gene set {name!r} is not loaded; choose one of the list")
        cov = self.scores.coverage.set_index("set").loc[name]
        if not cov["scored"]:
            raise DvpInputError(f"{name} is not scored: {cov['note']}")
        return self.scores.scores[name]

    def protein(self, query: str) -> pd.Series:
        """Z-score per sample of one protein (gene or protein id)."""
        return protein_values(self._need(), query, layer="z")

    def set_z(self, name: str) -> pd.DataFrame:
        """Samples x member proteins (gene names) z-scores of a set."""
        p = self._need()
        pos, _ = set_members(p, self.gene_sets[name])
        z = values_frame(p, "z").iloc[:, pos]
        genes = p.var["gene"].iloc[pos].to_numpy(dtype=object)
        z.columns = np.where(genes != "", genes, z.columns.to_numpy(dtype=object))
        return z

    def groups(self) -> dict[str, np.ndarray]:
        """Candidate comparison groups: each class, region and class · region (>= 2 samples)."""
        obs = self._need().obs
        out: dict[str, np.ndarray] = {}
        cr = obs["class"].astype(str) + " · " + obs["region"].astype(str)
        for prefix, col in (("", cr), ("class: ", obs["class"].astype(str)),
                            ("region: ", obs["region"].astype(str))):
            for v in sorted(col.unique()):
                m = (col == v).to_numpy()
                if m.sum() >= 2:
                    out[f"{prefix}{v}"] = m
        return out

    def compare(self, a: str, b: str = OTHERS) -> pd.DataFrame:
        """Welch t-test + BH between two named groups (``b`` may be :data:`OTHERS`)."""
        g = self.groups()
        if a not in g or (b != OTHERS and b not in g):
            raise DvpInputError(f"unknown group {a if a not in g else b!r}; pick from the list")
        mb = ~g[a] if b == OTHERS else g[b]
        return compare_groups(self._need(), g[a], mb)


def load_study(path, manifest: pd.DataFrame, params: ProcessingParams | None = None):
    """Read a protein table, match it to the manifest, process and score: a generator
    yielding ``(done, total, what)`` and returning the :class:`ProteinStudy`.
    """
    yield 0, 3, "reading the protein table…"
    data = read_proteomics(path)
    yield 1, 3, "matching runs to samples…"
    study = ProteinStudy(data, manifest, params or ProcessingParams())
    yield 2, 3, "processing and scoring…"
    return study.update()
