"""Options shared by ``proteins``, ``score`` and ``stats`` (argparse only: no heavy imports)."""

from __future__ import annotations

import argparse

from ._safety import float_range

LAYOUTS = ("diann_pg_matrix", "diann_report", "diann_pr_matrix", "alphadia",
           "alphadia_precursors", "spectronaut_pivot", "spectronaut_long", "maxquant",
           "fragpipe", "perseus", "generic")


def add_reading(parser: argparse.ArgumentParser) -> None:
    """How to read the protein table."""
    g = parser.add_argument_group("reading the protein table")
    g.add_argument("--format", choices=LAYOUTS, default=None,
                   help="force the layout (recognised from the content by default)")
    g.add_argument("--q-value", type=float_range(0, 1), default=0.01,
                   help="precursor / protein-group q-value limit of long reports (0.01)")
    g.add_argument("--log2", choices=("auto", "yes", "no"), default="auto",
                   help="are the values already log2? auto (default) decides from the values "
                        "and says so; the choice is written into the outputs' metadata")
    g.add_argument("--aggregate", choices=("top3",), default=None,
                   help="precursor-level report without a protein-group quantity: aggregate "
                        "precursors per protein group (mean of the 3 most intense)")
    g.add_argument("--keep-contaminants", action="store_true",
                   help="keep contaminant groups (CON__, Cont_, contam_, MaxQuant flags) and "
                        "MaxQuant 'only identified by site' groups")
    g.add_argument("--keep-decoys", action="store_true",
                   help="keep decoy groups (REV__, rev_, DECOY_, Reverse = +)")


def add_processing(parser: argparse.ArgumentParser) -> None:
    """Normalisation, valid-value filter and imputation."""
    g = parser.add_argument_group("processing")
    g.add_argument("--normalise", choices=("median", "quantile", "none"), default="median",
                   help="per-sample normalisation of log2 values (median)")
    g.add_argument("--no-normalise", action="store_true", help="same as --normalise none")
    g.add_argument("--min-valid", type=float_range(0, 1), default=0.7,
                   help="keep proteins measured in this fraction of the samples of at least "
                        "one group (default 0.7; see --valid-filter)")
    g.add_argument("--valid-filter", choices=("group", "global"), default="group",
                   help="group (default): in at least one group of --valid-groups; global: "
                        "of all samples")
    g.add_argument("--valid-groups", default="class",
                   help="sample annotation(s) defining the groups, comma-separated (class)")
    g.add_argument("--impute", nargs="?", const="downshift", default="none",
                   choices=("none", "downshift", "knn"),
                   help="fill missing values (marked in the output): downshift (Perseus; "
                        "also --impute alone) or knn; none by default")


def read_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of ``read_proteomics`` from the parsed options."""
    return {"fmt": args.format, "q_value": args.q_value, "log2": args.log2,
            "aggregate": args.aggregate, "remove_contaminants": not args.keep_contaminants,
            "remove_decoys": not args.keep_decoys}


def processing_params(args: argparse.Namespace):
    """``ProcessingParams`` from the parsed options."""
    from ..core.proteomics.processing import ProcessingParams

    return ProcessingParams(log2="auto", normalise="none" if args.no_normalise else
                            args.normalise, min_valid=args.min_valid,
                            valid_mode=args.valid_filter, valid_groups=args.valid_groups,
                            impute=args.impute)


def reading_lines(adata) -> list[str]:
    """What the reader decided, for the terminal."""
    src, lg, flt = adata.uns["source"], adata.uns["log2"], adata.uns.get("filtering", {})
    lines = [f"{src['description']}: {adata.n_vars} protein groups x {adata.n_obs} runs"
             + (f" ({src['quantity']})" if src.get("quantity") else "")]
    state = "already log2" if lg["input_is_log2"] else "linear intensities"
    lines.append(f"values: {state} (decided by {lg['decided_by']}; {lg['detail']})")
    if flt:
        kept = []
        if not flt.get("remove_contaminants", True) and flt.get("contaminants"):
            kept.append(f"{flt['contaminants']} contaminant group(s) kept")
        if not flt.get("remove_decoys", True) and flt.get("decoys"):
            kept.append(f"{flt['decoys']} decoy group(s) kept")
        lines.append(f"removed {flt.get('contaminants_removed', 0)} contaminant, "
                     f"{flt.get('decoys_removed', 0)} decoy and "
                     f"{flt.get('site_only_removed', 0)} site-only protein group(s)"
                     + (f", {flt['decoy_rows_removed']} decoy precursor row(s)"
                        if flt.get("decoy_rows_removed") else "")
                     + ("; " + ", ".join(kept) if kept else ""))
    lines += [f"note: {n}" for n in adata.uns.get("notes", [])]
    return lines
