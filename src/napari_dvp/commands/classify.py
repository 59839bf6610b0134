"""``napari-dvp classify``: give every cell a class, by gating rules or a saved classifier."""

from __future__ import annotations

import argparse

from ._safety import add_overwrite, outputs

NAME = "classify"
HELP = "classify cells in a cell table with gating rules or a saved random-forest classifier"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``napari-dvp classify``."""
    from ..core.classes.gating_scheme import GatingScheme
    from ..core.params import param_fields

    statistic, info = next((f, i) for f, i in param_fields(GatingScheme) if f.name == "statistic")
    parser.add_argument("cells", help="cell table (.csv, .tsv or .parquet) with mean_<marker>")
    parser.add_argument("-o", "--output", required=True,
                        help="where to write the table with 'class' added (.csv/.parquet)")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--rules", help="gating rules: a .json saved by the Gating dock, or a "
                     "text file with lines 'Class: marker+ and marker-'")
    how.add_argument("--classifier", help="a classifier (.npz) saved by the Classifier dock")
    parser.add_argument("--threshold", action="append", default=[], metavar="MARKER=VALUE",
                        help="set a marker's threshold (repeatable; overrides the rules file)")
    parser.add_argument("--statistic", choices=info.choices, default=None,
                        help=f"{info.help}; default: the rules file's, else {statistic.default}")
    parser.add_argument("--replace-classes", action="store_true",
                        help="replace classes another step wrote (a .parquet table remembers "
                             "which step wrote its classes; without this option they are kept "
                             "and the command stops)")
    parser.add_argument("--summary", help="also write cells and area per class x region (.csv)")
    parser.add_argument("--trust", action="store_true",
                        help="load an old pickle (.joblib) classifier: it can run code, so only "
                             "for a file you made yourself")
    add_overwrite(parser)


def _scheme(args):

    from ..core.classes.gating import load_rules
    from ..core.classes.gating_scheme import check_threshold
    from ..core.errors import DvpInputError
    from ..core.names import check_names

    scheme = load_rules(args.rules)
    for item in args.threshold:
        marker, sep, value = item.partition("=")
        if not sep or not marker.strip():
            raise DvpInputError(f"--threshold '{item}' is not MARKER=VALUE, e.g. CD8=350")
        try:
            float(value)
        except ValueError:
            raise DvpInputError(f"--threshold '{item}' is not MARKER=VALUE, e.g. CD8=350"
                                ) from None
        try:
            scheme.thresholds[marker.strip()] = check_threshold(marker.strip(), value)
        except DvpInputError:
            raise DvpInputError(f"--threshold '{item}': the threshold must be a finite number, "
                                "e.g. CD8=350") from None
    if args.statistic:
        scheme.statistic = args.statistic
    check_names(scheme.class_names, "class name", args.rules)
    return scheme


def run(args: argparse.Namespace) -> int:
    """Classify, merge the classes into the table (asking before replacing), print the counts."""
    with outputs(args, NAME, args.cells, args.rules, args.classifier) as out:
        return _run(args, out.file(args.output, "-o"),
                    out.file(args.summary, "--summary") if args.summary else None)


def _run(args: argparse.Namespace, output, summary) -> int:
    import sys
    import warnings

    import pandas as pd

    from ..core.cells.columns import CELL_ID, CLASS, REGION
    from ..core.cells.table import merge_columns
    from ..core.cells.table_io import read_cell_table as read_table
    from ..core.cells.table_io import write_table
    from ..core.classes.classifier import UntrustedCodeWarning, load_classifier
    from ..core.classes.gating import apply_gating, default_thresholds
    from ..core.classes.overlay import class_region_matrix, class_region_table
    from ..core.classes.training import apply_columns, predict_steps
    from ..core.progress import run_to_end

    table = read_table(args.cells)
    if args.rules:
        scheme = _scheme(args)
        missing = [m for m in scheme.markers() if m not in scheme.thresholds]
        if missing:
            scheme.thresholds.update(default_thresholds(table, missing, scheme.statistic))
            print("thresholds (Otsu) for " + ", ".join(
                f"{m}={scheme.thresholds[m]:.4g}" for m in missing))
        step = "gating"
        new = pd.DataFrame({CELL_ID: table[CELL_ID].to_numpy(),
                            CLASS: apply_gating(table, scheme).to_numpy()})
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UntrustedCodeWarning)
            clf = load_classifier(args.classifier, table, trust=args.trust)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        step = "classifier"
        new = apply_columns(table, run_to_end(predict_steps(clf, table)))
    table = merge_columns(table, new, step, replace_classes=True if args.replace_classes else None)
    write_table(output, table)
    counts = table[CLASS].replace("", "(unclassified)").value_counts()
    print(f"{len(table)} cells -> {args.output}")
    for name, n in counts.items():
        print(f"  {name}: {n}")
    if summary:
        write_table(summary, class_region_table(table))
        if REGION in table.columns:
            print(class_region_matrix(table).to_string())
    return 0
