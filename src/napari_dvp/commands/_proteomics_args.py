"""Options shared by ``proteins``, ``score`` and ``stats`` (argparse only: no heavy imports).

Options the Proteins dock shows too are built from its parameter dataclasses
(:mod:`..core.proteomics.options`), so each default, range and help text is written
once; where the command line spells an option differently (``--min-valid`` as a
fraction, ``--impute`` alone meaning downshift, ``--aggregate top3``) its default is
read from the same dataclass.
"""

from __future__ import annotations

import argparse

from ..core.proteomics.options import ProcessOptions, ReadOptions
from ._params import add_params
from ._safety import float_range

LAYOUTS = ("diann_pg_matrix", "diann_report", "diann_pr_matrix", "alphadia",
           "alphadia_precursors", "spectronaut_pivot", "spectronaut_long", "maxquant",
           "fragpipe", "perseus", "generic")


def add_reading(parser: argparse.ArgumentParser) -> None:
    """How to read the protein table."""
    g = parser.add_argument_group("reading the protein table")
    g.add_argument("--format", choices=LAYOUTS, default=None,
                   help="force the layout (recognised from the content by default)")
    add_params(g, ReadOptions, exclude=("aggregate",))
    g.add_argument("--aggregate", choices=("top3",), default=None,
                   help="precursor-level report without a protein-group quantity: aggregate "
                        "precursors per protein group (mean of the 3 most intense)")


def add_processing(parser: argparse.ArgumentParser) -> None:
    """Normalisation, valid-value filter and imputation."""
    g = parser.add_argument_group("processing")
    add_params(g, ProcessOptions, exclude=("min_valid_pct", "impute", "min_members"))
    g.add_argument("--no-normalise", action="store_true", help="same as --normalise none")
    min_valid = ProcessOptions.min_valid_pct / 100
    g.add_argument("--min-valid", type=float_range(0, 1), default=min_valid,
                   help="keep proteins measured in this fraction of the samples of at least "
                        f"one group (default {min_valid:g}; see --valid-filter)")
    impute = _info(ProcessOptions, "impute")
    g.add_argument("--impute", nargs="?", const="downshift", default=ProcessOptions.impute,
                   choices=impute.choices,
                   help=f"{impute.help} (--impute alone: downshift); default "
                        f"{ProcessOptions.impute}")


def add_min_members(parser: argparse.ArgumentParser) -> None:
    """``--min-members``: the Proteins dock's 'Min. members per score'."""
    add_params(parser, ProcessOptions, only=("min_members",))


def _info(cls: type, name: str):
    from ..core.params import param_fields

    return next(info for f, info in param_fields(cls) if f.name == name)


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
                            valid_mode=args.valid_mode, valid_groups=args.valid_groups,
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
