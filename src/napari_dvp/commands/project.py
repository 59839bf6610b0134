"""``napari-dvp project``: what a project folder holds, and whether it is intact."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "project"
HELP = ("show what a napari-dvp project folder holds (info) or verify every file and refuse "
        "executable content (check)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="print what the project holds (reads only its index)")
    info.add_argument("folder", type=Path, help="project folder (holds project.json)")
    info.add_argument("--json", action="store_true", help="print the information as JSON")
    check = sub.add_parser("check", help="load every file, verify every checksum and refuse "
                           "executable content (a pickled classifier)")
    check.add_argument("folder", type=Path, help="project folder (holds project.json)")


def _tables(kind: str, entries: dict) -> list[str]:
    return [f"  {kind} '{name}': {e.get('rows', '?')} rows x {len(e.get('columns', []))} "
            f"columns ({e['file']})" for name, e in entries.items()]


def format_info(info: dict) -> str:
    """Plain-text summary of :func:`~napari_dvp.core.project.project_info`."""
    lines = [f"format version {info['format_version']} (napari-dvp {info['app_version']}), "
             f"generation {info['generation']}",
             f"created {info['created']}, last saved {info['saved']}"]
    img = info.get("image")
    if img is None:
        lines.append("image: none referenced")
    elif img.get("embedded"):
        shape = "x".join(map(str, img.get("shape", []))) or "?"
        chans = ", ".join(img.get("channels", []))
        lines.append(f"image: kept in the project ({Path(img['path']).name}) [{shape} "
                     f"{img.get('dtype', '')}]" + (f" channels {chans}" if chans else "")
                     + ("" if img["status"] == "ok" else " MISSING"))
    else:
        status = {"ok": "found, matches", "missing": "MISSING (moved? open the project and "
                  "point to its new location)", "changed": "CHANGED (a different image is "
                  "now at that path)"}.get(img["status"], img["status"])
        shape = "x".join(map(str, img.get("shape", []))) or "?"
        lines.append(f"image: {img['path']} [{shape} {img.get('dtype', '')}] {status}")
    f = info["files"]
    if "labels" in f:
        e = f["labels"]
        lines.append(f"labels: {'x'.join(map(str, e['shape']))} {e['dtype']}, "
                     f"{e.get('n_cells', '?')} cells ({e['file']})")
    if "cells" in f:
        e = f["cells"]
        cols = e.get("columns", [])
        shown = ", ".join(cols[:8]) + (" …" if len(cols) > 8 else "")
        lines.append(f"cell table: {e['rows']} rows x {len(cols)} columns ({shown})")
    if "regions" in f:
        e = f["regions"]
        lines.append(f"regions: {e.get('n', '?')} ({', '.join(e.get('classes', []))})")
    if "classes" in f:
        lines.append(f"class definitions: {f['classes']['file']}")
    if "classifier" in f:
        e = f["classifier"]
        feats = (e.get("info") or {}).get("features", [])
        lines.append(f"classifier: {e.get('bytes', '?')} bytes, {len(feats)} features")
    for kind in ("plans", "manifests", "scores"):
        if f.get(kind):
            lines.append(f"{kind}: {len(f[kind])}")
            lines.extend(_tables(kind[:-1], f[kind]))
    if "proteomics" in f:
        n_obs, n_vars = f["proteomics"]["shape"]
        lines.append(f"proteomics: {n_obs} samples x {n_vars} proteins")
    if info.get("layers"):
        lines.append(f"layers: {', '.join(info['layers'])}")
    if info.get("missing"):
        lines.append(f"MISSING FILES: {', '.join(info['missing'])}")
    for found in info.get("executable", []):
        lines.append(f"EXECUTABLE CONTENT: {found} — runs code when opened; napari-dvp refuses "
                     "to open this project")
    lock = info.get("lock")
    if lock:
        state = f"stale: {lock['stale']}" if lock.get("stale") else "in use"
        lines.append(f"locked by napari-dvp pid {lock['pid']} on {lock['host']} since "
                     f"{lock['since']} ({lock['purpose']}; {state})")
    if info.get("recovery"):
        lines.append(f"unsaved edits autosaved at {info['recovery']} (open the project to "
                     "recover them)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..core.project import check_project, project_info

    if args.action == "check":
        check_project(args.folder)
        print(f"{args.folder}: every file loads and matches its checksum; no executable "
              "content")
        return 0
    info = project_info(args.folder)
    print(json.dumps(info, indent=1) if args.json else format_info(info))
    return 1 if info.get("missing") or info.get("executable") else 0
