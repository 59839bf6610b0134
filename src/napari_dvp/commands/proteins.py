"""``napari-dvp proteins FILE --out matrix.csv``: any search engine's table -> tidy matrix."""

from __future__ import annotations

import argparse

from ._proteomics_args import add_reading, read_kwargs, reading_lines
from ._safety import add_overwrite

NAME = "proteins"
HELP = ("convert a protein table (DIA-NN, AlphaDIA, Spectronaut, MaxQuant, FragPipe, Perseus, "
        "generic) into one tidy matrix (.csv/.tsv) or AnnData (.h5ad)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``napari-dvp proteins``."""
    parser.add_argument("file", help="protein table written by the search engine")
    parser.add_argument("--out", required=True,
                        help="output: .csv / .tsv (proteins x runs, plus <name>.meta.json with "
                             "the log2 state and filters) or .h5ad (AnnData, metadata in uns)")
    add_reading(parser)
    add_overwrite(parser)


def run(args: argparse.Namespace) -> int:
    """Read, convert, write; print what was read and decided."""
    from pathlib import Path

    from ..core.proteomics.outputs import check_outputs, json_writer, write_together
    from ..core.proteomics.readers import metadata, read_proteomics, write_tidy_to

    out = Path(args.out)
    meta = out.with_suffix(".meta.json") if out.suffix.lower() != ".h5ad" else None
    check_outputs([out, meta], inputs=[args.file],
                  overwrite=args.overwrite)
    adata = read_proteomics(args.file, **read_kwargs(args))
    writers = {out: lambda tmp: write_tidy_to(adata, tmp, out.suffix)}
    if meta is not None:
        writers[meta] = json_writer(metadata(adata))
    write_together(writers, [args.file], command=NAME, overwrite=args.overwrite)
    for line in reading_lines(adata):
        print(line)
    n = int((adata.X == adata.X).sum())
    print(f"{adata.n_vars} proteins x {adata.n_obs} runs, {n} values -> {out}"
          + (f" (+ {meta.name})" if meta else ""))
    return 0
