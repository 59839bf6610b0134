"""``napari-dvp proteins FILE --out matrix.csv``: any search engine's table -> tidy matrix."""

from __future__ import annotations

import argparse

from ..core.proteomics.readers import FORMATS, read_proteomics, write_tidy
from ._safety import add_overwrite, float_range, outputs

NAME = "proteins"
HELP = ("convert a protein table (DIA-NN, AlphaDIA, Spectronaut, MaxQuant, FragPipe, generic) "
        "into one tidy matrix (.csv/.tsv) or AnnData (.h5ad)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``napari-dvp proteins``."""
    parser.add_argument("file", help="protein table written by the search engine")
    parser.add_argument("--out", required=True,
                        help="output: .csv / .tsv (proteins x runs) or .h5ad (AnnData)")
    parser.add_argument("--format", choices=[k for k in FORMATS if k != "h5ad"], default=None,
                        help="force the input format (detected from the columns by default)")
    parser.add_argument("--q-value", type=float_range(0, 1), default=0.01,
                        help="q-value limit for long reports (default 0.01)")
    add_overwrite(parser)


def run(args: argparse.Namespace) -> int:
    """Read, convert, write; print what was read."""
    with outputs(args, NAME, args.file) as staging:
        target = staging.file(args.out)
        adata = read_proteomics(args.file, fmt=args.format, q_value=args.q_value)
        write_tidy(adata, target)
    out = args.out
    src = adata.uns["source"]
    print(f"{src['description']}: {adata.n_vars} proteins x {adata.n_obs} runs, "
          f"{int((adata.X == adata.X).sum())} values -> {out}")
    return 0
