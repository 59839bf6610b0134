"""``napari-dvp study``: a cohort of slides -> one plate plan -> one MS matrix -> statistics."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._safety import add_overwrite, float_range, int_range, outputs

NAME = "study"
HELP = ("a study of many slides (patients, conditions): create it, add slides, plan one plate "
        "layout, export one LMD file per slide, load the MS matrix, paint, compare conditions")


def _study_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", type=Path, help="the study folder (holding study.json)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..core.study.params import StudyPlanParams
    from ._params import add_params

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("new", help="create an empty study folder")
    _study_arg(p)
    p.add_argument("--name", default=None, help="study name (default: the folder name)")
    p = sub.add_parser("add", help="add a slide (its project folder) with patient and condition")
    _study_arg(p)
    p.add_argument("--slide", required=True, help="slide name (letters, digits, _ . -)")
    p.add_argument("--patient", required=True, help="patient id")
    p.add_argument("--condition", required=True, help="condition, e.g. TEN, MDE, healthy")
    p.add_argument("--project", type=Path, default=None,
                   help="the slide's napari-dvp project folder (default: slides/<slide>)")
    p.add_argument("--pixel-size", type=float_range(0, None, lo_open=True), default=None,
                   help="pixel size in µm (needed for the LMD export)")
    p.add_argument("--marks", default=None,
                   help="three LMD calibration marks in image pixels: 'r1,c1;r2,c2;r3,c3'")
    p.add_argument("--meta", nargs="*", default=[], metavar="KEY=VALUE",
                   help="free metadata columns, e.g. age=54 drug=allopurinol")
    p = sub.add_parser("remove", help="remove a slide from the study (its project stays)")
    _study_arg(p)
    p.add_argument("--slide", required=True)
    p = sub.add_parser("status", help="slides and their progress")
    _study_arg(p)
    p = sub.add_parser("plan", help="plan the whole study on plates (writes <study>/plan)")
    _study_arg(p)
    add_params(p, StudyPlanParams)
    add_overwrite(p)
    p = sub.add_parser("export-lmd", help="one LMD file per slide + one manifest "
                                          "(writes <study>/lmd)")
    _study_arg(p)
    p.add_argument("--accept-loss", action="store_true",
                   help="export even when a sample loses more than 5 %% of its cells")
    add_overwrite(p)
    p = sub.add_parser("simulate-ms", help="a synthetic DIA-NN matrix for the study's samples "
                                           "(interferon planted in TEN keratinocytes/immune)")
    _study_arg(p)
    p.add_argument("--out", type=Path, required=True, help="pg_matrix .tsv to write")
    p.add_argument("--seed", type=int_range(0, 2**31 - 1), default=0)
    p.add_argument("--proteins", type=int_range(400, 20000), default=5000)
    add_overwrite(p)
    p = sub.add_parser("load", help="match an MS matrix to the study's samples, process, score "
                                    "(writes <study>/ms)")
    _study_arg(p)
    p.add_argument("--matrix", type=Path, required=True, help="protein table (DIA-NN, …)")
    p.add_argument("--normalise", default="ratio", choices=("ratio", "median", "quantile",
                                                            "none"),
                   help="ratio (default): median of log ratios to the median run, robust to "
                        "a pathway rising in some samples; median: each run's median")
    add_overwrite(p)
    p = sub.add_parser("compare", help="condition A vs B per cell type (patient as unit), "
                                       "volcano + table; ANOVA across conditions")
    _study_arg(p)
    p.add_argument("--a", required=True, help="condition A (e.g. TEN)")
    p.add_argument("--b", required=True, help="condition B (e.g. MDE)")
    p.add_argument("--cell-type", nargs="*", default=None,
                   help="cell types (classes) to compare within (default: each one)")
    p.add_argument("--design", default="auto",
                   choices=("auto", "paired", "patient-mean", "ols", "samples"),
                   help="auto: paired t when patients have both conditions, else moderated t "
                        "on patient means; ols: value ~ condition + patient; samples: every "
                        "sample independent")
    p.add_argument("--out", type=Path, default=None,
                   help="results folder (default <study>/results/<A>_vs_<B>)")
    add_overwrite(p)
    p = sub.add_parser("figures", help="a score or protein painted on every slide with one "
                                       "colour scale; pathway heatmap; PCA")
    _study_arg(p)
    p.add_argument("--set", default=None, help="gene set to paint (default: interferon)")
    p.add_argument("--protein", default=None, help="paint this protein's z-score instead")
    p.add_argument("--out", type=Path, default=None,
                   help="figures folder (default <study>/results/figures)")
    add_overwrite(p)
    _add_interop(sub)


def _add_interop(sub) -> None:
    p = sub.add_parser("export-anndata", help="the cell table of every slide and the sample x "
                                              "protein matrix as .h5ad, with study metadata")
    _study_arg(p)
    p.add_argument("--out", type=Path, required=True, help="new folder for the .h5ad files")
    add_overwrite(p)
    p = sub.add_parser("export-spatialdata", help="slides (images, labels, regions, LMD shapes, "
                                                  "cell table with scores) as SpatialData zarr "
                                                  "(needs napari-dvp[spatialdata])")
    _study_arg(p)
    p.add_argument("--out", type=Path, required=True, help="new .zarr store")
    p.add_argument("--slide", nargs="*", default=None, help="only these slides (default all)")
    p = sub.add_parser("import-spatialdata", help="a SpatialData zarr's labels + table as a "
                                                  "new slide of the study")
    _study_arg(p)
    p.add_argument("--zarr", type=Path, required=True, help="the SpatialData .zarr store")
    p.add_argument("--labels", default=None, help="labels element (default: the first)")
    p.add_argument("--slide", required=True)
    p.add_argument("--patient", required=True)
    p.add_argument("--condition", required=True)


def _meta(items) -> dict:
    from ..core.errors import DvpInputError

    out = {}
    for it in items:
        if "=" not in it:
            raise DvpInputError(f"--meta {it!r} must read KEY=VALUE")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def run(args: argparse.Namespace) -> int:
    return {"new": _new, "add": _add, "remove": _remove, "status": _status, "plan": _plan,
            "export-lmd": _export, "simulate-ms": _simulate, "load": _load,
            "compare": _compare, "figures": _figures, "export-anndata": _anndata,
            "export-spatialdata": _spatialdata, "import-spatialdata": _import_sd}[args.action](
        args)


def _ms_if_loaded(s):
    from ..core.study.analysis import open_study_ms

    return open_study_ms(s) if (s.ms_dir / "processed.h5ad").is_file() else None


def _anndata(args) -> int:
    from ..core.study import open_study
    from ..core.study.export import read_study_manifest
    from ..core.study.interop import cells_anndata, samples_anndata

    s = open_study(args.study)
    ps = _ms_if_loaded(s)
    manifest = read_study_manifest(s) if (s.lmd_dir / "manifest.csv").is_file() else None
    scores = None if ps is None else ps.scores.scores
    with outputs(args, "study export-anndata") as out:
        folder = out.folder(args.out)
        folder.mkdir()
        for slide in s.names():
            cells_anndata(s, slide, manifest, scores).write_h5ad(folder / f"cells_{slide}.h5ad")
        if ps is not None:
            samples_anndata(ps, s).write_h5ad(folder / "samples.h5ad")
    print(f"{len(s.slides)} cell tables{' + samples.h5ad' if ps is not None else ''} -> "
          f"{args.out}")
    return 0


def _spatialdata(args) -> int:
    from ..core.study import open_study
    from ..core.study.interop import require_spatialdata, write_spatialdata

    require_spatialdata()
    s = open_study(args.study)
    with outputs(args, "study export-spatialdata") as out:
        write_spatialdata(s, out.folder(args.out), args.slide, _ms_if_loaded(s))
    print(f"SpatialData -> {args.out}")
    return 0


def _import_sd(args) -> int:
    from ..core.study import open_study
    from ..core.study.interop import import_spatialdata

    s = open_study(args.study)
    s.add(args.slide, args.patient, args.condition)  # checks the name first
    s.remove(args.slide)
    target = s.folder / "slides" / args.slide
    project = import_spatialdata(args.zarr, target, args.labels)
    s.add(args.slide, args.patient, args.condition,
          pixel_size_um=project.meta.get("pixel_size_um"))
    s.save()
    print(f"slide {args.slide}: {len(project.cells)} cells imported from {args.zarr}")
    return 0


def _new(args) -> int:
    from ..core.study import new_study

    s = new_study(args.study, args.name)
    print(f"study {s.name!r} created in {s.folder}")
    return 0


def _add(args) -> int:
    from ..core.lmd.calibration import parse_marks
    from ..core.study import open_study

    s = open_study(args.study)
    marks = parse_marks(args.marks).tolist() if args.marks else None
    rec = s.add(args.slide, args.patient, args.condition, project=args.project,
                pixel_size_um=args.pixel_size, calibration=marks, **_meta(args.meta))
    s.save()
    print(f"slide {rec.slide} added (patient {rec.patient}, {rec.condition}); project "
          f"{s.project_dir(rec.slide)}")
    return 0


def _remove(args) -> int:
    from ..core.study import open_study

    s = open_study(args.study)
    s.remove(args.slide)
    s.save()
    print(f"slide {args.slide} removed from the study (its project folder is kept)")
    return 0


def _status(args) -> int:
    from ..core.study import open_study
    from ..core.study.slides import progress

    s = open_study(args.study)
    print(f"study {s.name!r}: {len(s.slides)} slides")
    print(progress(s).to_string(index=False))
    return 0


def _plan(args) -> int:
    from ..core.progress import run_to_end
    from ..core.study import open_study
    from ..core.study.params import StudyPlanParams
    from ..core.study.plan import confounding_p, plan_study
    from ..core.study.plate import write_plan_files
    from ._params import params_from_args

    s = open_study(args.study)
    params = params_from_args(StudyPlanParams, args)
    plan = run_to_end(plan_study(s, params))
    with outputs(args, "study plan") as out:
        write_plan_files(plan, out.folder(s.plan_dir, "plan folder"), params.plate)
    for w in plan.attrs.get("warnings", []):
        print(f"warning: {w}")
    n = int((plan["kind"] == "sample").sum())
    print(f"{n} samples + {len(plan) - n} blank/QC wells on {plan['plate'].nunique()} plate(s) "
          f"-> {s.plan_dir}")
    print("condition vs plate/row/column (chi-square p): " + ", ".join(
        f"{by} {confounding_p(plan, by):.2f}" for by in ("plate", "row", "column")))
    return 0


def _export(args) -> int:
    from ..core.lmd import ExportOptions
    from ..core.progress import run_to_end
    from ..core.study import open_study
    from ..core.study.export import export_study
    from ..core.study.plate import read_plan

    s = open_study(args.study)
    plan = read_plan(s.plan_dir)
    fmt = _plate_of(s)
    with outputs(args, "study export-lmd") as out:
        folder = out.folder(s.lmd_dir, "LMD folder")
        folder.mkdir()
        man = run_to_end(export_study(s, plan, folder, fmt,
                                      ExportOptions(accept_loss=args.accept_loss)))
    n_files = man.groupby(["slide", "plate"]).ngroups
    print(f"{len(man)} samples from {man['slide'].nunique()} slides, {n_files} LMD file(s) "
          f"-> {s.lmd_dir}")
    return 0


def _plate_of(s) -> str:
    import pandas as pd

    wells = pd.read_csv(s.plan_dir / "plate_map.csv", dtype=str)
    rows = wells["row"].map(lambda r: ord(r) - 64).max()
    cols = wells["column"].astype(int).max()
    return "96" if rows <= 8 and cols <= 12 else "384"


def _simulate(args) -> int:
    from ..core.proteomics.synthetic import write_pg_matrix
    from ..core.study import open_study
    from ..core.study.export import read_study_manifest
    from ..core.study.synthetic_ms import study_pg_matrix

    s = open_study(args.study)
    table = study_pg_matrix(read_study_manifest(s), seed=args.seed, n_proteins=args.proteins)
    with outputs(args, "study simulate-ms") as out:
        write_pg_matrix(table, out.file(args.out))
    print(f"synthetic matrix: {len(table)} proteins x {table.shape[1] - 5} runs -> {args.out}")
    return 0


def _load(args) -> int:
    from ..core.progress import run_to_end
    from ..core.study import open_study
    from ..core.study.analysis import load_study_ms, write_study_ms
    from ..core.study.export import read_study_manifest

    s = open_study(args.study)
    ps = run_to_end(load_study_ms(args.matrix, read_study_manifest(s),
                                  normalise=args.normalise))
    with outputs(args, "study load", args.matrix) as out:
        folder = out.folder(s.ms_dir, "MS folder")
        folder.mkdir()
        write_study_ms(ps, folder)
    print(ps.summary())
    print(f"-> {s.ms_dir}")
    return 0


def _compare(args) -> int:
    from ..core.csv_safe import write_csv
    from ..core.study import open_study
    from ..core.study.analysis import open_study_ms
    from ..core.study.compare import anova_conditions, compare_conditions
    from ..core.study.views import write_comparison

    s = open_study(args.study)
    ps = open_study_ms(s)
    types = args.cell_type or sorted(set(ps.processed.obs["class"].astype(str)))
    target = args.out or s.results_dir / f"{args.a}_vs_{args.b}"
    results = [(ct, compare_conditions(ps.processed, args.a, args.b, ct, args.design))
               for ct in types]
    with outputs(args, "study compare") as out:
        if not target.parent.exists() and target.parent == s.results_dir:
            target.parent.mkdir()
        folder = out.folder(target, "--out")
        folder.mkdir()
        for ct, cmp in results:
            write_comparison(cmp, folder, ct.replace(" ", "_"))
        for ct in types:
            table, _tukey = anova_conditions(ps.processed, ct)
            write_csv(table.reset_index(), folder / f"anova_{ct.replace(' ', '_')}.csv",
                      index=False)
    for ct, cmp in results:
        n = int((cmp["q"] <= 0.05).sum())
        print(f"{args.a} vs {args.b} · {ct}: {n} proteins at q <= 5 % "
              f"({cmp.attrs['label']}, {cmp.attrs['n_patients_a']} vs "
              f"{cmp.attrs['n_patients_b']} patients)")
    print(f"-> {target}")
    return 0


def _figures(args) -> int:
    from ..core.progress import run_to_end
    from ..core.study import open_study
    from ..core.study.analysis import open_study_ms
    from ..core.study.export import read_study_manifest
    from ..core.study.paint import paint_slides, slides_figure, study_limits
    from ..core.study.views import pathway_heatmap, pca_figure

    s = open_study(args.study)
    ps = open_study_ms(s)
    if args.protein:
        values, title = ps.protein(args.protein), f"{args.protein} z-score"
    else:
        name = args.set or next(n for n, ok in zip(ps.scores.coverage["set"],
                                                   ps.scores.coverage["scored"], strict=True)
                                if ok and "interferon" in n.lower())
        values, title = ps.set_values(name), f"{name} score"
    images = run_to_end(paint_slides(s, read_study_manifest(s), values))
    target = args.out or s.results_dir / "figures"
    with outputs(args, "study figures") as out:
        if not target.parent.exists() and target.parent == s.results_dir:
            target.parent.mkdir()
        folder = out.folder(target, "--out")
        folder.mkdir()
        lim = study_limits(values)
        slides_figure(images, lim, title, s).savefig(folder / "slides.png")
        _sz, _pz, f1, f2 = pathway_heatmap(ps)
        f1.savefig(folder / "pathway_heatmap.png")
        f2.savefig(folder / "interferon_proteins_heatmap.png")
        pca_figure(ps)[1].savefig(folder / "pca.png")
    print(f"{title} on {len(images)} slides, one scale [{lim[0]:.2f}, {lim[1]:.2f}]; heatmaps, "
          f"PCA -> {target}")
    return 0
