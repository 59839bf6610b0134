"""``napari-dvp score FILE --manifest manifest.csv --out scores.csv``: pathway scores per sample."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..core.cells.table_io import write_table
from ..core.errors import DvpInputError
from ..core.proteomics.genesets import bundled_gene_sets, read_gmt
from ..core.proteomics.matching import apply_matches, match_runs, read_manifest
from ..core.proteomics.processing import ProcessingParams, process
from ..core.proteomics.readers import read_proteomics
from ..core.proteomics.scores import METHODS, gene_set_scores, protein_values
from ._safety import add_overwrite, float_range, outputs

NAME = "score"
HELP = ("match MS runs to LMD samples and score every sample (interferon / JAK-STAT gene "
        "sets, or your own GMT; optional single proteins)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``napari-dvp score``."""
    parser.add_argument("file", help="protein table (any format `napari-dvp proteins` reads)")
    parser.add_argument("--manifest", required=True, help="LMD manifest.csv of the samples")
    parser.add_argument("--out", required=True, help="scores table (.csv), one row per sample")
    parser.add_argument("--gene-sets", default=None,
                        help="GMT file of gene sets (default: the bundled interferon / JAK-STAT "
                             "sets)")
    parser.add_argument("--method", choices=METHODS, default="mean_z",
                        help="mean_z (default), or decoupler's ulm / zscore")
    parser.add_argument("--min-coverage", type=float_range(0, 1), default=0.1,
                        help="minimum fraction of a set's genes found (default 0.1)")
    parser.add_argument("--min-valid", type=float_range(0, 1), default=0.5,
                        help="keep proteins measured in this fraction of samples (default 0.5)")
    parser.add_argument("--no-normalise", action="store_true", help="skip median normalisation")
    parser.add_argument("--impute", action="store_true",
                        help="fill missing values (down-shifted normal; marked in the output)")
    parser.add_argument("--proteins", default="",
                        help="comma-separated genes/protein ids to add as z-score columns")
    parser.add_argument("--h5ad", default=None, help="also write the processed AnnData here")
    add_overwrite(parser)


def run(args: argparse.Namespace) -> int:
    """Read, match, process, score; write scores + coverage + match table."""
    out_path = Path(args.out)
    if out_path.suffix.lower() != ".csv":
        raise DvpInputError(f"--out {out_path.name} must end in .csv")
    stem = out_path.with_suffix("")
    with outputs(args, NAME, args.file, args.manifest, args.gene_sets) as out:
        staged = {"scores": out.file(out_path),
                  "coverage": out.file(f"{stem}.coverage.csv"),
                  "matches": out.file(f"{stem}.matches.csv")}
        if args.h5ad:
            staged["h5ad"] = out.file(args.h5ad, "--h5ad")
        return _run(args, out_path, staged)


def _run(args: argparse.Namespace, out_path: Path, staged: dict) -> int:
    from ..core.names import check_table_names

    manifest = read_manifest(args.manifest)
    check_table_names(manifest, Path(args.manifest).name)
    adata = read_proteomics(args.file)
    table = match_runs(adata.obs_names, manifest)
    matched, report = apply_matches(adata, table, manifest)
    params = ProcessingParams(normalise="none" if args.no_normalise else "median",
                              min_valid=args.min_valid, impute=args.impute)
    proc = process(matched, params)
    sets = read_gmt(args.gene_sets) if args.gene_sets else bundled_gene_sets()
    res = gene_set_scores(proc, sets, min_coverage=args.min_coverage, method=args.method)
    out = proc.obs[[c for c in ("run", "well", "class", "region", "replicate", "n_cells")
                    if c in proc.obs.columns]].copy()
    out = pd.concat([out, res.scores], axis=1)
    for q in filter(None, (s.strip() for s in args.proteins.split(","))):
        v = protein_values(proc, q)
        out[f"{v.name} (z)"] = v
    out.insert(len(out.columns), "imputed_values", proc.layers["imputed"].sum(axis=1))
    stem = out_path.with_suffix("")
    write_table(staged["scores"], out.reset_index())
    write_table(staged["coverage"], res.coverage)
    write_table(staged["matches"], table)
    if args.h5ad:
        from ..core.proteomics.readers import write_h5ad

        write_h5ad(proc, staged["h5ad"])
    for line in report.lines():
        print(line)
    print(f"{proc.n_vars} proteins kept (measured in >= {args.min_valid:.0%} of samples)"
          + (f", {int(proc.layers['imputed'].sum())} values imputed" if args.impute else ""))
    for _, row in res.coverage.iterrows():
        state = "scored" if row["scored"] else f"not scored: {row['note']}"
        print(f"  {row['set']}: {row['n_found']}/{row['n_in_set']} genes found, {state}")
    print(f"wrote {out_path} ({len(out)} samples), {stem.name}.coverage.csv, "
          f"{stem.name}.matches.csv")
    return 0
