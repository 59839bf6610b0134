"""Builders of the hostile corpus (issue 16): files an attacker or a careless user gives.

Every builder writes into the case folder and returns nothing; the test module
(:mod:`tests.unit.test_hostile`) runs one command on it and checks the exit
code, the one-line message and that nothing outside the declared outputs
changed. Builders are small and deterministic (fixed seeds).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile

PAYLOAD = "PAYLOAD_RAN"  #: the file a malicious pickle would create


class Payload:
    """Unpickling this creates ``<folder>/PAYLOAD_RAN`` (it must never happen)."""

    def __init__(self, folder: Path) -> None:
        self.target = str(folder / PAYLOAD)

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


# ----------------------------------------------------------------------------- folders

def snapshot(folder: Path) -> dict[str, str]:
    """Every file (hidden ones too) and folder under ``folder`` -> content hash / 'dir'."""
    out: dict[str, str] = {}
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for d in dirs:
            out[(rel / d).as_posix() + "/"] = "dir"
        for f in files:
            p = Path(root) / f
            if p.is_symlink() or not p.is_file():
                out[(rel / f).as_posix()] = "special"
                continue
            out[(rel / f).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """Paths added, removed or modified."""
    keys = set(before) | set(after)
    return {k for k in keys if before.get(k) != after.get(k)}


# ----------------------------------------------------------------------------- inputs

def sample(folder: Path, src: Path) -> None:
    """Copy the small synthetic sample (slide, labels, cells, regions) into ``folder``."""
    for name in ("s.ome.tif", "s_labels.tif", "s_cells.csv", "s_regions.geojson"):
        (folder / name).write_bytes((src / name).read_bytes())


def cells_table(folder: Path, src: Path, **columns) -> Path:
    """A measured-looking cell table (ids of the sample, mean_DAPI/mean_CD8, area)."""
    truth = pd.read_csv(src / "s_cells.csv")
    rng = np.random.default_rng(1)
    n = len(truth)
    t = pd.DataFrame({"cell_id": truth["cell_id"], "centroid_row": truth["centroid_row"],
                      "centroid_col": truth["centroid_col"],
                      "area_um2": rng.random(n) * 60 + 20, "mean_DAPI": rng.random(n) * 900,
                      "mean_CD8": rng.random(n) * 900 - 100})
    for k, v in columns.items():
        t[k] = v if not callable(v) else v(n)
    path = folder / "cells.csv"
    t.to_csv(path, index=False)
    return path


def selection(folder: Path, src: Path, sample_ids=("A", "B"), name="selection.csv") -> Path:
    truth = pd.read_csv(src / "s_cells.csv")
    ids = truth["cell_id"].to_numpy()[:6]
    sel = pd.DataFrame({"cell_id": ids, "sample": np.repeat(list(sample_ids), 3)})
    path = folder / name
    sel.to_csv(path, index=False)
    return path


def rules(folder: Path, text: str = "T cell: CD8+\n", name: str = "rules.txt") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def classifier(folder: Path, src: Path, name: str = "clf.npz") -> Path:
    """A genuine data-only classifier trained on the sample's cell table."""
    from napari_dvp.core.classes.classifier import CellClassifier, save_classifier

    table = pd.read_csv(cells_table(folder, src))
    ex = {int(c): ("hi" if v > 400 else "lo") for c, v in
          zip(table["cell_id"][:30], table["mean_CD8"][:30], strict=True)}
    clf = CellClassifier(n_estimators=10).train(table, ex)
    save_classifier(folder / name, clf)
    return folder / name


def edit_npz(path: Path, **changes) -> None:
    """Rewrite arrays/metadata of a saved classifier (for damaged-file cases)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    for k, v in changes.items():
        if k in arrays:
            arrays[k] = v
        else:
            meta[k] = v
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def evil_joblib(folder: Path, name: str = "evil.joblib") -> Path:
    import joblib

    joblib.dump({"format": "napari-dvp cell classifier", "model": Payload(folder)},
                folder / name, compress=3)
    return folder / name


def evil_pickle(folder: Path, name: str, protocol: int = 0, gz: bool = False) -> Path:
    data = pickle.dumps(Payload(folder), protocol=protocol)
    (folder / name).write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return folder / name


def evil_npz(folder: Path, name: str = "evil.npz") -> Path:
    with open(folder / name, "wb") as fh:
        np.savez(fh, meta=np.array([Payload(folder)], dtype=object))
    return folder / name


def labels_tif(folder: Path, values: dict[int, tuple[slice, slice]], dtype=np.int64,
               name: str = "labels.tif") -> Path:
    lab = np.zeros((64, 64), dtype=dtype)
    for v, (r, c) in values.items():
        lab[r, c] = v
    tifffile.imwrite(folder / name, lab)
    return folder / name


def five_planes_ome(folder: Path, name: str = "five.ome.tif") -> Path:
    """Five pages, OME-XML saying SizeC=3 (the channels cannot be told apart)."""
    path = folder / name
    tifffile.imwrite(path, np.ones((5, 32, 32), np.uint16), ome=True, metadata={"axes": "CYX"})
    xml = tifffile.tiffcomment(path).replace('SizeC="5"', 'SizeC="3"')
    tifffile.tiffcomment(path, xml.encode())
    return path


def huge_claim_ome(folder: Path, name: str = "claim.ome.tif") -> Path:
    """A 9 kB OME-TIFF whose XML claims 10^6 x 10^6 pixels (tifffile alone: 4 GB RSS)."""
    path = folder / name
    tifffile.imwrite(path, np.ones((1, 64, 64), np.uint16), ome=True, metadata={"axes": "CYX"})
    xml = tifffile.tiffcomment(path)
    tifffile.tiffcomment(path, xml.replace('SizeX="64"', 'SizeX="1000000"')
                         .replace('SizeY="64"', 'SizeY="1000000"').encode())
    return path


def many_pages(folder: Path, n: int = 20000, name: str = "pages.tif") -> Path:
    """``n`` 1x1 pages (a page series that must never become one image)."""
    path = folder / name
    with tifffile.TiffWriter(path) as tw:
        for i in range(n):
            tw.write(np.array([[i % 251]], np.uint8), contiguous=True)
    return path


def compressed_labels_bomb(folder: Path, side: int = 40960, name: str = "bomb.tif") -> Path:
    """A few hundred kB of zstd tiles declaring ``side``² uint8 labels, all tiles present."""
    path = folder / name
    tile = np.zeros((4096, 4096), np.uint8)
    n = (side // 4096) ** 2
    tifffile.imwrite(path, (tile for _ in range(n)), shape=(side, side), dtype=np.uint8,
                     tile=(4096, 4096), compression="zstd")
    return path


def gzip_bomb(folder: Path, megabytes: int = 200, name: str = "bomb.pg_matrix.tsv.gz") -> Path:
    """A valid header, then ``megabytes`` MB of spaces: ~1000x compression."""
    path = folder / name
    block = b" " * (1 << 20)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9,
                                                mtime=0) as fh:
        fh.write(b"Protein.Group\tGenes\tTEN_A1\tTEN_A2\n")
        for _ in range(megabytes):
            fh.write(block)
    return path


def deep_json(path: Path, depth: int = 100_000, wrap: str = "geojson") -> Path:
    inner = "[" * depth + "]" * depth
    text = ('{"type":"FeatureCollection","features":' + inner + "}" if wrap == "geojson"
            else '{"rules":' + inner + "}")
    path.write_text(text, encoding="utf-8")
    return path


def geojson_named(path: Path, cls: str) -> Path:
    feat = {"type": "Feature", "properties": {"classification": {"name": cls}},
            "geometry": {"type": "Polygon",
                         "coordinates": [[[0, 0], [200, 0], [200, 200], [0, 200], [0, 0]]]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}),
                    encoding="utf-8")
    return path


def manifest(folder: Path, src: Path, sample_ids, name: str = "manifest.csv") -> Path:
    truth = pd.read_csv(src / "s_cells.csv")
    ids = truth["cell_id"].to_numpy()
    rows = [{"sample_id": s, "well": f"A{k + 1}", "class": ["ker", "mac"][k % 2],
             "region": "epidermis", "replicate": 1, "n_cells": 2, "area_um2": 50.0,
             "n_shapes": 2, "cell_ids": f"{ids[2 * k]};{ids[2 * k + 1]}"}
            for k, s in enumerate(sample_ids)]
    path = folder / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def pg_matrix(folder: Path, manifest_path: Path, name: str = "ms.pg_matrix.tsv",
              genes=None) -> Path:
    from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix

    m = pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    table = synthetic_pg_matrix(m, seed=1, n_proteins=120)
    if genes is not None:
        table.loc[: len(genes) - 1, "Genes"] = genes
    write_pg_matrix(table, folder / name)
    return folder / name
