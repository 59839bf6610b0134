"""``napari-dvp score FILE --manifest manifest.csv --out scores.csv``: pathway scores per sample."""

from __future__ import annotations

import argparse

from ._proteomics_args import (
    add_min_members,
    add_processing,
    add_reading,
    processing_params,
    read_kwargs,
    reading_lines,
)
from ._safety import add_overwrite, float_range

NAME = "score"
HELP = ("match MS runs to LMD samples and score every sample (interferon / JAK-STAT gene "
        "sets, or your own GMT; optional single proteins)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``napari-dvp score``."""
    parser.add_argument("file", help="protein table (any format `napari-dvp proteins` reads)")
    parser.add_argument("--manifest", required=True, help="LMD manifest.csv of the samples")
    parser.add_argument("--out", required=True,
                        help="scores table (.csv), one row per sample; beside it "
                             "<name>.coverage.csv, .members.csv, .matches.csv, .meta.json")
    parser.add_argument("--gene-sets", default=None,
                        help="GMT file of gene sets (default: the bundled interferon / JAK-STAT "
                             "sets)")
    parser.add_argument("--method", choices=("mean_z", "ulm", "zscore"), default="mean_z",
                        help="mean_z (default), or decoupler's ulm / zscore")
    parser.add_argument("--min-coverage", type=float_range(0, 1), default=0.1,
                        help="minimum fraction of a set's genes found (default 0.1)")
    add_min_members(parser)
    parser.add_argument("--proteins", default="",
                        help="comma-separated genes/protein ids to add as z-score columns")
    parser.add_argument("--h5ad", default=None, help="also write the processed AnnData here")
    add_reading(parser)
    add_overwrite(parser)
    add_processing(parser)


def run(args: argparse.Namespace) -> int:
    """Read, match, process, score; write every output together (or none)."""
    from pathlib import Path

    import pandas as pd

    from ..core.csv_safe import write_csv
    from ..core.errors import DvpInputError
    from ..core.proteomics.genesets import bundled_gene_sets, read_gmt
    from ..core.proteomics.matching import apply_matches, match_runs, read_manifest
    from ..core.proteomics.outputs import check_outputs, json_writer, write_together
    from ..core.proteomics.processing import process
    from ..core.proteomics.readers import metadata, read_proteomics
    from ..core.proteomics.scores import gene_set_scores, protein_values

    out_path = Path(args.out)
    if out_path.suffix.lower() != ".csv":
        raise DvpInputError(f"--out {out_path.name} must end in .csv")
    if args.h5ad and Path(args.h5ad).suffix.lower() != ".h5ad":
        raise DvpInputError(f"--h5ad {Path(args.h5ad).name} must end in .h5ad")
    stem = out_path.with_suffix("")
    paths = {k: Path(f"{stem}.{k}.csv") for k in ("coverage", "members", "matches")}
    meta_path = Path(f"{stem}.meta.json")
    check_outputs([out_path, *paths.values(), meta_path, args.h5ad],
                  inputs=[args.file, args.manifest, args.gene_sets], overwrite=args.overwrite)
    manifest = read_manifest(args.manifest)
    sets = read_gmt(args.gene_sets) if args.gene_sets else bundled_gene_sets()
    adata = read_proteomics(args.file, **read_kwargs(args))
    table = match_runs(adata.obs_names, manifest)
    matched, report = apply_matches(adata, table, manifest)
    proc = process(matched, processing_params(args))
    res = gene_set_scores(proc, sets, min_coverage=args.min_coverage,
                          min_members=args.min_members, method=args.method)
    out = proc.obs[[c for c in ("run", "well", "class", "region", "replicate", "n_cells")
                    if c in proc.obs.columns]].copy()
    out = pd.concat([out, res.scores], axis=1)
    for q in filter(None, (s.strip() for s in args.proteins.split(","))):
        v = protein_values(proc, q)
        out[f"{v.name} (z)"] = v
    out.insert(len(out.columns), "imputed_values", proc.layers["imputed"].sum(axis=1))
    members = (res.members.stack().rename("members_measured").to_frame()
               .join(res.reasons.stack().rename("blank_because"))
               .rename_axis(["sample_id", "set"]).reset_index())
    members.insert(3, "scored", members["blank_because"] == "")
    meta = metadata(proc)
    meta["scoring"] = {"method": args.method, "min_coverage": args.min_coverage,
                       "min_members": args.min_members,
                       "gene_sets": args.gene_sets or "bundled"}
    writers = {out_path: lambda t: write_csv(out.reset_index(), t),
               paths["coverage"]: lambda t: write_csv(res.coverage, t),
               paths["members"]: lambda t: write_csv(members, t),
               paths["matches"]: lambda t: write_csv(table, t),
               meta_path: json_writer(meta)}
    if args.h5ad:
        writers[Path(args.h5ad)] = proc.write_h5ad
    write_together(writers, [args.file, args.manifest, args.gene_sets], command=NAME,
                   overwrite=args.overwrite)
    for line in reading_lines(adata):
        print(line)
    for line in report.lines():
        print(line)
    pr = proc.uns["processing"]
    print(f"{proc.n_vars} proteins kept (measured in {pr['valid_rule']}; the global rule would "
          f"keep {pr['proteins_kept_global_rule']}, the per-group rule "
          f"{pr['proteins_kept_per_group_rule']})"
          + (f", {pr['imputed_values']} values imputed ({pr['impute']})"
             if pr["impute"] != "none" else ""))
    for row in res.coverage.itertuples():
        state = (f"scored in {row.samples_scored}/{proc.n_obs} samples" if row.scored
                 else "not scored")
        extra = f": {row.note}" if row.note else ""
        print(f"  {row.set}: {row.n_found}/{row.n_in_set} genes found, {row.n_groups} protein "
              f"groups, {row.members_min}-{row.members_max} measured per sample; "
              f"{state}{extra}")
    print(f"wrote {out_path} ({len(out)} samples), {stem.name}.coverage.csv, "
          f"{stem.name}.members.csv, {stem.name}.matches.csv, {meta_path.name}"
          + (f", {args.h5ad}" if args.h5ad else ""))
    return 0
