"""Parameters of the proteomics steps as declared once (label, help, range, default).

The Proteins dock builds its forms from these dataclasses (``_qt/_forms.ParamsForm``).
Light module: no numpy / pandas / anndata import at the top, so ``--help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..params import check_params, param

__all__ = ["ProcessOptions", "ReadOptions", "StatsOptions"]


@dataclass(frozen=True)
class ReadOptions:
    """How to read a search engine's protein table (see ``read_proteomics``)."""

    log2: str = param("auto", label="Values are log2", choices=("auto", "yes", "no"),
                      help="Are the values already log2? auto decides from the values and "
                           "says so; yes/no state it (never logged twice)")
    keep_contaminants: bool = param(False, label="keep contaminants",
                                    help="Keep contaminant groups (CON__, Cont_, contam_, "
                                         "MaxQuant flags) and MaxQuant 'only identified by "
                                         "site' groups instead of removing them")
    keep_decoys: bool = param(False, label="keep decoys",
                              help="Keep decoy groups (REV__, rev_, DECOY_) instead of "
                                   "removing them")
    aggregate: bool = param(False, label="aggregate precursors (top 3)",
                            help="A precursor report without a protein-group quantity: "
                                 "each group's value in a run is the mean of its 3 most "
                                 "intense precursors (--aggregate top3); off: refused")
    q_value: float = param(0.01, label="q-value limit", min=0.0, max=1.0, step=0.005,
                           decimals=3,
                           help="Precursor / protein-group q-value limit of long reports "
                                "(DIA-NN report.tsv, Spectronaut, AlphaDIA precursors)")

    def __post_init__(self) -> None:
        check_params(self)

    def read_kwargs(self) -> dict:
        """Keyword arguments of :func:`~.readers.read_proteomics`."""
        return {"log2": self.log2, "q_value": self.q_value,
                "aggregate": "top3" if self.aggregate else None,
                "remove_contaminants": not self.keep_contaminants,
                "remove_decoys": not self.keep_decoys}


@dataclass(frozen=True)
class ProcessOptions:
    """Valid-value filter, normalisation, imputation and pathway-score coverage."""

    valid_mode: str = param("group", label="Valid values", choices=("group", "global"),
                            flag="valid-filter",
                            help="group: a protein is kept when measured in N % of the "
                                 "samples of at least one class (keeps markers of minority "
                                 "cell types); global: N % of all samples")
    valid_groups: str = param("class", label="Groups",
                              help="Sample annotation(s) defining the groups of the "
                                   "per-group rule, comma-separated (class, or class,region)")
    min_valid_pct: int = param(70, label="N", unit="%", min=0, max=100, step=5,
                               help="Share of samples a protein must be measured in (per "
                                    "group or overall)")
    normalise: str = param("median", label="Normalisation",
                           choices=("median", "quantile", "none"),
                           help="median: shift each sample to the common median; quantile: "
                                "same distribution for every sample; none")
    impute: str = param("none", label="Imputation", choices=("none", "downshift", "knn"),
                        help="Fill missing values (marked as imputed): downshift (Perseus) or "
                             "kNN; none keeps them missing")
    min_members: int = param(5, label="Min. members per score", min=1, max=10000,
                             help="A pathway is scored in a sample only when this many of its "
                                  "member proteins have a value there; otherwise blank, with "
                                  "why")

    def __post_init__(self) -> None:
        check_params(self)

    def processing_params(self):
        """The :class:`~.processing.ProcessingParams` of these options."""
        from .processing import ProcessingParams

        return ProcessingParams(log2="auto", normalise=self.normalise,
                                min_valid=self.min_valid_pct / 100, valid_mode=self.valid_mode,
                                valid_groups=self.valid_groups, impute=self.impute)


@dataclass(frozen=True)
class StatsOptions:
    """Which test compares the groups (BH q-values always)."""

    test: str = param("limma", label="Test",
                      choices=("limma", "welch", "student", "paired", "anova"),
                      help="limma: moderated t (empirical-Bayes variances); welch / student "
                           "t-test; paired t (needs a pairing annotation, e.g. patient); "
                           "anova: one-way ANOVA over every group, Tukey HSD")

    def __post_init__(self) -> None:
        check_params(self)
