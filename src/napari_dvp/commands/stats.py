"""``napari-dvp stats FILE --manifest manifest.csv --group-by class --out stats.csv``:
differential abundance (moderated t, Welch, Student, paired t, ANOVA + Tukey), PCA and
figures."""

from __future__ import annotations

import argparse

from ._proteomics_args import (
    add_processing,
    add_reading,
    processing_params,
    read_kwargs,
    reading_lines,
)
from ._safety import add_overwrite, int_range

NAME = "stats"
HELP = ("compare groups of samples per protein (limma-style moderated t, Welch, Student, "
        "paired t, ANOVA + Tukey HSD; BH q-values), PCA, volcano / PCA / heatmap figures")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``napari-dvp stats``."""
    parser.add_argument("file", help="protein table (any format `napari-dvp proteins` reads), "
                                     "or an .h5ad written by `score --h5ad` (used as processed)")
    parser.add_argument("--manifest", default=None,
                        help="LMD manifest.csv (sample annotations: class, region …); not "
                             "needed when the table carries the groups (.h5ad, Perseus "
                             "#!{C:…} rows)")
    parser.add_argument("--out", required=True,
                        help="results (.csv), one row per protein; beside it <name>.meta.json, "
                             "<name>.pca.csv and, for ANOVA, <name>.tukey.csv")
    parser.add_argument("--group-by", default="class",
                        help="sample annotation that defines the groups (class)")
    parser.add_argument("--a", default=None, help="group A of a two-group comparison")
    parser.add_argument("--b", default=None,
                        help="group B (default: all samples not in A)")
    parser.add_argument("--test", choices=("limma", "welch", "student", "paired", "anova"),
                        default=None,
                        help="limma (moderated t, default with --a), welch, student, paired "
                             "(needs --pair-by) or anova (default without --a)")
    parser.add_argument("--pair-by", default=None,
                        help="sample annotation pairing A and B samples (paired test)")
    parser.add_argument("--posthoc-top", type=int_range(0, 100000), default=50,
                        help="Tukey HSD for at most this many ANOVA-significant proteins (50)")
    parser.add_argument("--color-by", default=None,
                        help="sample annotation colouring the PCA plot (default --group-by)")
    parser.add_argument("--figures", default=None,
                        help="existing folder for volcano.png, pca.png and heatmap.png")
    add_reading(parser)
    add_overwrite(parser)
    add_processing(parser)


def run(args: argparse.Namespace) -> int:
    """Read, (match), process, test, PCA; write every output together (or none)."""
    from pathlib import Path

    import numpy as np

    from ..core.csv_safe import write_csv
    from ..core.errors import DvpInputError
    from ..core.proteomics import differential, plots
    from ..core.proteomics.outputs import check_outputs, json_writer, write_together
    from ..core.proteomics.pca import pca
    from ..core.proteomics.processing import process, values_frame
    from ..core.proteomics.readers import metadata, read_proteomics

    out = Path(args.out)
    if out.suffix.lower() != ".csv":
        raise DvpInputError(f"--out {out.name} must end in .csv")
    test = args.test or ("limma" if args.a else "anova")
    if test != "anova" and not args.a:
        raise DvpInputError(f"--test {test} compares two groups: give --a (and --b, default "
                            "all other samples)")
    stem = out.with_suffix("")
    side = {k: Path(f"{stem}.{k}.csv") for k in ("pca", "tukey")}
    meta_path = Path(f"{stem}.meta.json")
    figs = {}
    if args.figures:
        fdir = Path(args.figures)
        if not fdir.is_dir():
            raise DvpInputError(f"--figures {fdir} is not an existing folder; create it first")
        figs = {k: fdir / f"{k}.png" for k in ("volcano", "pca", "heatmap")}
    check_outputs([out, *side.values(), meta_path, *figs.values()],
                  inputs=[args.file, args.manifest], overwrite=args.overwrite)

    adata = read_proteomics(args.file, **read_kwargs(args))
    lines = reading_lines(adata) if "source" in adata.uns else []
    if args.manifest:
        from ..core.proteomics.matching import apply_matches, match_runs, read_manifest

        manifest = read_manifest(args.manifest)
        matched, report = apply_matches(adata, match_runs(adata.obs_names, manifest), manifest)
        lines += report.lines()
    else:
        matched = adata
    if args.group_by not in matched.obs.columns:
        raise DvpInputError(f"no sample annotation {args.group_by!r} (have "
                            f"{', '.join(map(str, matched.obs.columns))}); give --manifest or "
                            "another --group-by")
    if "processing" in matched.uns and str(args.file).lower().endswith(".h5ad"):
        proc = matched
        lines.append("input is processed (.h5ad from score --h5ad): used as it is")
    else:
        params = processing_params(args)
        if params.valid_mode == "group" and params.valid_groups == "class" \
                and "class" not in matched.obs.columns:
            from dataclasses import replace

            params = replace(params, valid_groups=args.group_by)
        proc = process(matched, params)
    labels = proc.obs[args.group_by].astype(str)
    for g in (args.a, args.b):
        if g is not None and g not in set(labels):
            raise DvpInputError(f"group {g!r} is not a {args.group_by} of the samples; choose "
                                f"from {', '.join(sorted(set(labels)))}")
    tukey = None
    if test == "anova":
        table, tukey = differential.anova(proc, args.group_by, posthoc_top=args.posthoc_top)
    else:
        table = differential.compare(proc, args.group_by, args.a, args.b, test=test,
                                     pair_by=args.pair_by)
    try:
        pc = pca(proc, n_components=3)
    except DvpInputError as exc:
        pc = None
        lines.append(f"PCA skipped: {exc}")
    color_by = args.color_by or args.group_by
    if pc is not None and color_by not in proc.obs.columns:
        raise DvpInputError(f"--color-by {color_by!r} is not a sample annotation")
    meta = metadata(proc)
    meta["statistics"] = {"test": test, "label": differential.TEST_LABELS[test],
                          "group_by": args.group_by, "a": args.a, "b": args.b or (
                              "all other samples" if args.a else None),
                          "pair_by": args.pair_by, "proteins_tested": int(
                              np.isfinite(table["p"]).sum()),
                          "q_below_0.05": int((table["q"] <= 0.05).sum())}
    if test == "limma":
        meta["statistics"]["prior_df"] = float(table["prior_df"].iloc[0])
        meta["statistics"]["prior_s2"] = float(table["prior_s2"].iloc[0])
    if pc is not None:
        meta["pca"] = {"explained": [float(x) for x in pc.explained],
                       "proteins_used": len(pc.loadings)}
    writers = {out: lambda t: write_csv(table.reset_index(names="protein_id"), t),
               meta_path: json_writer(meta)}
    if tukey is not None:
        writers[side["tukey"]] = lambda t: write_csv(tukey, t)
    if pc is not None:
        pca_table = proc.obs[[c for c in dict.fromkeys([args.group_by, color_by, "class",
                                                        "region", "run"])
                              if c in proc.obs.columns]].join(pc.scores)
        writers[side["pca"]] = lambda t: write_csv(pca_table.reset_index(), t)
    if figs:
        top = table.sort_values("p").index[:40]
        z = values_frame(proc, "z")[top]
        genes = proc.var.loc[top, "gene"].astype(str).to_numpy()
        z.columns = np.where(genes != "", genes, top.to_numpy(dtype=object))
        title = (f"{args.a} vs {args.b or 'all other samples'} ({differential.TEST_LABELS[test]})"
                 if test != "anova" else f"one-way ANOVA by {args.group_by}")
        heat = plots.heatmap(z, proc.obs, f"40 most significant proteins\n{title}",
                             sort_by=(args.group_by,), order_proteins=False)
        writers[figs["heatmap"]] = lambda t: heat.savefig(t, format="png")
        if test != "anova":
            vol = plots.volcano(table, title)
            writers[figs["volcano"]] = lambda t: vol.savefig(t, format="png")
        if pc is not None:
            pfig = plots.pca_plot(pc, proc.obs, color_by)
            writers[figs["pca"]] = lambda t: pfig.savefig(t, format="png")
    written = write_together(writers, [args.file, args.manifest], command=NAME,
                             overwrite=args.overwrite)
    for line in lines:
        print(line)
    pr = proc.uns.get("processing", {})
    if pr:
        print(f"{proc.n_vars} proteins kept ({pr.get('valid_rule', '')}; global rule: "
              f"{pr.get('proteins_kept_global_rule')}, per-group rule: "
              f"{pr.get('proteins_kept_per_group_rule')}), normalisation "
              f"{pr.get('normalise')}, imputation {pr.get('impute')}")
    st = meta["statistics"]
    print(f"{st['label']}: {st['proteins_tested']} proteins tested, {st['q_below_0.05']} with "
          "BH q <= 0.05" + (f"; Tukey HSD for {tukey['protein_id'].nunique()} proteins"
                            if tukey is not None else ""))
    print("wrote " + ", ".join(p.name for p in written))
    return 0
