"""Match MS runs to LMD samples of the manifest; never drop a run or sample silently.

Rule (applied per run, first rule that gives exactly one sample wins):

1. **exact** – the run name, or its file name without folders and raw-file
   extension (``D:\\DVP\\TEN_A3.d`` -> ``TEN_A3``), equals a ``sample_id``
   (case-insensitive).
2. **sample id in name** – the run's file name is split into tokens on every
   non-alphanumeric character; a sample matches when its own token sequence
   (``sample_id`` split the same way) occurs contiguously in the run's tokens.
3. **well in name** – a run token that reads as a well (letter A–P + number
   1–24, zero padding allowed: ``A1``, ``A01``, ``P24``) equals a sample's well.

If a rule finds two or more samples the run is **ambiguous** (reason names them)
and stays unmatched. If two runs match the same sample both are marked
**conflict** and stay unmatched. The match table can be corrected by hand
(:func:`set_match`) before :func:`apply_matches`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..csv_safe import restore_text
from ..errors import DvpInputError
from ..limits import check_input_file
from .readers import run_label

MANIFEST_REQUIRED = ("sample_id", "well", "class", "region", "cell_ids")
MATCH_COLUMNS = ("run", "sample_id", "well", "rule", "status", "reason")
_WELL = re.compile(r"^([A-Pa-p])0*([1-9]|1[0-9]|2[0-4])$")


def normalise_well(token: str) -> str | None:
    """``"a01"`` -> ``"A1"``; ``None`` if the token is not a 384-well plate position."""
    m = _WELL.match(str(token).strip())
    return f"{m.group(1).upper()}{int(m.group(2))}" if m else None


def tokens(name: str) -> list[str]:
    """Upper-case alphanumeric tokens of a run or sample name."""
    return [t for t in re.split(r"[^0-9A-Za-z]+", str(name).upper()) if t]


def read_manifest(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the LMD ``manifest.csv`` and check it.

    Raises
    ------
    DvpInputError
        Missing file or columns, duplicate sample ids, empty manifest.
    """
    path = Path(path)
    if not path.exists():
        raise DvpInputError(f"manifest {path} does not exist; export the LMD plan first")
    check_input_file(path, "manifest")
    try:
        manifest = pd.read_csv(path, dtype={"sample_id": str, "well": str, "cell_ids": str},
                               keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DvpInputError(f"manifest {path.name} is not a CSV table ({exc})") from None
    return check_manifest(restore_text(manifest), path.name)


def check_manifest(manifest: pd.DataFrame, name: str = "manifest") -> pd.DataFrame:
    """Validate a manifest DataFrame (columns, unique non-empty sample ids)."""
    missing = [c for c in MANIFEST_REQUIRED if c not in manifest.columns]
    if missing:
        raise DvpInputError(f"{name} lacks column(s) {', '.join(missing)}; it needs "
                            f"{', '.join(MANIFEST_REQUIRED)} (the LMD export writes them)")
    if manifest.empty:
        raise DvpInputError(f"{name} lists no sample; export the LMD plan with samples")
    manifest = manifest.copy()
    for col in ("sample_id", "well", "class", "region", "cell_ids"):
        manifest[col] = manifest[col].astype(str).str.strip()
    if (manifest["sample_id"] == "").any():
        raise DvpInputError(f"{name} has a row without sample_id; give every sample an id")
    dup = manifest["sample_id"][manifest["sample_id"].duplicated()]
    if len(dup):
        raise DvpInputError(f"{name} lists sample {dup.iloc[0]!r} twice; sample ids must be "
                            "unique")
    return manifest.reset_index(drop=True)


def _candidates(run: str, manifest: pd.DataFrame, sample_tokens: list[list[str]],
                wells: np.ndarray) -> tuple[list[int], str]:
    label = run_label(run)
    exact = [i for i, s in enumerate(manifest["sample_id"])
             if s.upper() in (run.strip().upper(), label.upper())]
    if exact:
        return exact, "exact"
    rt = tokens(label)
    joined = " " + " ".join(rt) + " "
    by_id = [i for i, st in enumerate(sample_tokens) if st and f" {' '.join(st)} " in joined]
    if by_id:
        return by_id, "sample id in name"
    run_wells = {w for w in (normalise_well(t) for t in rt) if w}
    by_well = [i for i, w in enumerate(wells) if w and w in run_wells]
    return by_well, "well in name"


def match_runs(runs, manifest: pd.DataFrame) -> pd.DataFrame:
    """Match run names to manifest samples by the module's documented rule.

    Parameters
    ----------
    runs
        Run names as in the protein table (``adata.obs_names``).
    manifest
        The LMD manifest (see :func:`read_manifest`).

    Returns
    -------
    pandas.DataFrame
        One row per run: ``run, sample_id, well, rule, status, reason``; ``status``
        is ``matched``, ``unmatched``, ``ambiguous`` or ``conflict``.
    """
    manifest = check_manifest(manifest)
    sample_tokens = [tokens(s) for s in manifest["sample_id"]]
    wells = np.array([normalise_well(w) or "" for w in manifest["well"]], dtype=object)
    rows = []
    for run in map(str, runs):
        cand, rule = _candidates(run, manifest, sample_tokens, wells)
        if len(cand) == 1:
            i = cand[0]
            rows.append((run, manifest.at[i, "sample_id"], manifest.at[i, "well"], rule,
                         "matched", ""))
        elif len(cand) > 1:
            names = ", ".join(manifest["sample_id"].iloc[cand[:4]])
            rows.append((run, "", "", rule, "ambiguous",
                         f"{rule} fits {len(cand)} samples ({names}); choose one"))
        else:
            rows.append((run, "", "", "", "unmatched", "no sample id or well of the manifest "
                         "in the run name"))
    table = pd.DataFrame(rows, columns=list(MATCH_COLUMNS))
    return _mark_conflicts(table)


def _mark_conflicts(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    matched = table["status"].isin(["matched", "conflict"]) & (table["sample_id"] != "")
    dup = matched & table["sample_id"].where(matched).duplicated(keep=False)
    for sid in table.loc[dup, "sample_id"].unique():
        rows = dup & (table["sample_id"] == sid)
        others = ", ".join(table.loc[rows, "run"].map(run_label))
        table.loc[rows, "status"] = "conflict"
        table.loc[rows, "reason"] = f"runs {others} all match sample {sid}; keep one"
    fixed = matched & ~dup & (table["status"] == "conflict")
    table.loc[fixed, "status"] = "matched"
    table.loc[fixed, "reason"] = ""
    return table


def set_match(table: pd.DataFrame, run: str, sample_id: str, manifest: pd.DataFrame
              ) -> pd.DataFrame:
    """Return ``table`` with ``run`` assigned to ``sample_id`` by hand (``""`` unassigns)."""
    if run not in set(table["run"]):
        raise DvpInputError(f"run {run!r} is not in the match table")
    table = table.copy()
    i = table.index[table["run"] == run][0]
    if not sample_id:
        table.loc[i, ["sample_id", "well", "rule", "status", "reason"]] = [
            "", "", "manual", "unmatched", "unassigned by hand"]
        return _mark_conflicts(table)
    hit = manifest.index[manifest["sample_id"] == sample_id]
    if not len(hit):
        raise DvpInputError(f"sample {sample_id!r} is not in the manifest; pick one it lists")
    table.loc[i, ["sample_id", "well", "rule", "status", "reason"]] = [
        sample_id, manifest.at[hit[0], "well"], "manual", "matched", ""]
    return _mark_conflicts(table)


@dataclass
class MatchReport:
    """What matched and what did not (for the widget and the CLI)."""

    n_matched: int
    unmatched_runs: list[str] = field(default_factory=list)
    unmatched_samples: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Plain-language summary lines."""
        out = [f"{self.n_matched} MS run(s) matched to LMD samples"]
        if self.unmatched_runs:
            out.append(f"{len(self.unmatched_runs)} run(s) not matched: "
                       + ", ".join(map(run_label, self.unmatched_runs[:10]))
                       + (" …" if len(self.unmatched_runs) > 10 else ""))
        if self.unmatched_samples:
            out.append(f"{len(self.unmatched_samples)} sample(s) without a run: "
                       + ", ".join(self.unmatched_samples[:10])
                       + (" …" if len(self.unmatched_samples) > 10 else ""))
        return out


def apply_matches(adata: ad.AnnData, table: pd.DataFrame, manifest: pd.DataFrame
                  ) -> tuple[ad.AnnData, MatchReport]:
    """Keep the matched runs, indexed by ``sample_id``, with the manifest's annotations.

    Returns
    -------
    (AnnData, MatchReport)
        ``obs`` index = ``sample_id``; columns ``run, run_label`` and every manifest column
        but ``sample_id``, ``cell_ids`` and ``n_shapes`` (``well, class, region,
        replicate, n_cells, area_um2``, and any annotation such as ``patient``). The
        unmatched runs and samples are in the report and in ``uns["matching"]``.

    Raises
    ------
    DvpInputError
        If no run matched a sample.
    """
    manifest = check_manifest(manifest)
    ok = table[table["status"] == "matched"]
    report = MatchReport(
        n_matched=len(ok),
        unmatched_runs=table.loc[table["status"] != "matched", "run"].tolist(),
        unmatched_samples=sorted(set(manifest["sample_id"]) - set(ok["sample_id"])))
    if ok.empty:
        raise DvpInputError("no MS run matched a sample of the manifest; rename the runs to "
                            "contain the sample id or well, or assign them in the match table")
    sub = adata[ok["run"].to_numpy()].copy()
    info = manifest.set_index("sample_id").loc[ok["sample_id"].to_numpy()]
    obs = sub.obs.copy()
    obs.index = pd.Index(ok["sample_id"].to_numpy(dtype=str), name="sample_id")
    for col in info.columns:  # well, class, region, replicate, n_cells, patient …
        if col in ("cell_ids", "n_shapes") or col in obs.columns:
            continue
        vals = info[col]
        obs[col] = vals.to_numpy() if pd.api.types.is_numeric_dtype(vals) or \
            pd.api.types.is_bool_dtype(vals) else vals.astype(str).to_numpy()
    sub.obs = obs
    sub.uns["matching"] = {"unmatched_runs": report.unmatched_runs,
                           "unmatched_samples": report.unmatched_samples}
    return sub, report
