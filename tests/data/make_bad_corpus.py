"""Write the binary half of the bad-input corpus, deterministically.

The text half (broken CSV/TSV/JSON/XML/GMT files a person could type) is
committed under ``tests/data/bad/<kind>/``. Files that are binary or whose
point is their byte encoding (damaged TIFFs, PNG behind ``.ome.tif``, UTF-16
tables, corrupted parquet/h5ad/joblib, damaged project folders) are written
by this script, so the repository stays small and every byte is explained
here. The tests call :func:`write_generated` once per session into a
temporary folder; run it by hand to look at the files::

    .venv/bin/python tests/data/make_bad_corpus.py /tmp/bad

Every writer is deterministic (fixed seeds, no time stamps in the content
that matters).
"""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: kind -> {file name: writer(path)}; the test module parametrises over these names.
GENERATED: dict[str, dict[str, Callable[[Path], None]]] = {}

_GOOD_MATRIX = ("Protein.Group\tGenes\tTEN_A1\tTEN_A2\n"
                "P42224\tSTAT1\t1000\t1200\nP52630\tSTAT2\t800\t900\n")


def _gen(kind: str, name: str):
    def deco(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        GENERATED.setdefault(kind, {})[name] = fn
        return fn
    return deco


def _garbage(n: int = 4096, seed: int = 7) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def _png_bytes() -> bytes:
    import imageio.v3 as iio

    img = np.arange(32 * 32, dtype=np.uint8).reshape(32, 32)
    return iio.imwrite("<bytes>", img, extension=".png")


def _small_tiff(path: Path, **kw) -> None:
    import tifffile

    data = kw.pop("data", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    tifffile.imwrite(path, data, **kw)


def _patch_dims(path: Path, width: int, height: int) -> None:
    """Overwrite ImageWidth/ImageLength of every page (LONG tags) in place."""
    import tifffile

    buf = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tf:
        for page in tf.pages:
            for name, value in (("ImageWidth", width), ("ImageLength", height)):
                tag = page.tags[name]
                fmt = "<I" if tag.dtype == 4 else "<H"
                struct.pack_into(fmt, buf, tag.valueoffset, value if tag.dtype == 4
                                 else min(value, 65535))
    path.write_bytes(bytes(buf))


# ----------------------------------------------------------------------------- images
@_gen("image", "empty.ome.tif")
def _(p: Path) -> None:
    p.write_bytes(b"")


@_gen("image", "garbage.tif")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


@_gen("image", "png_named.ome.tif")
def _(p: Path) -> None:
    p.write_bytes(_png_bytes())


@_gen("image", "truncated.ome.tif")
def _(p: Path) -> None:
    from napari_dvp.core.slide import write_ome_tiff

    write_ome_tiff(p, np.ones((2, 256, 256), np.uint16), ["DAPI", "CD8"], 0.5, tile=64)
    with open(p, "r+b") as fh:
        fh.truncate(p.stat().st_size // 2)


@_gen("image", "huge_dims_strips.tif")
def _(p: Path) -> None:
    _small_tiff(p)
    _patch_dims(p, 1_000_000, 1_000_000)


@_gen("image", "huge_dims_tiles.tif")
def _(p: Path) -> None:
    _small_tiff(p, tile=(32, 32), compression="zlib")
    _patch_dims(p, 1_000_000, 1_000_000)


@_gen("image", "zstack.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.zeros((5, 32, 32), np.uint8), imagej=True, metadata={"axes": "ZYX"})


@_gen("image", "complex_pixels.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.zeros((32, 32), np.complex64))


@_gen("image", "corrupt_tiles.tif")
def _(p: Path) -> None:
    import tifffile

    _small_tiff(p, tile=(32, 32), compression="zlib")
    buf = bytearray(p.read_bytes())
    with tifffile.TiffFile(p) as tf:
        page = tf.pages[0]
        for off, n in zip(page.dataoffsets, page.databytecounts, strict=True):
            buf[off:off + n] = _garbage(n, seed=off)
    p.write_bytes(bytes(buf))


@_gen("image", "truncated.png")
def _(p: Path) -> None:
    data = _png_bytes()
    p.write_bytes(data[: len(data) // 2])


@_gen("image", "garbage.jpg")
def _(p: Path) -> None:
    p.write_bytes(b"\xff\xd8\xff\xe0" + _garbage(2000))


@_gen("image", "broken.zarr")
def _(p: Path) -> None:
    p.mkdir()
    (p / "zarr.json").write_bytes(_garbage(300))


@_gen("image", "empty.zarr")
def _(p: Path) -> None:
    p.mkdir()


# ----------------------------------------------------------------------------- labels
@_gen("labels", "float_values.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.random.default_rng(0).random((32, 32)).astype(np.float32))


@_gen("labels", "rgb.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.zeros((32, 32, 3), np.uint8), photometric="rgb")


@_gen("labels", "two_channels.ome.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.zeros((2, 32, 32), np.uint16), ome=True)


@_gen("labels", "empty.tif")
def _(p: Path) -> None:
    p.write_bytes(b"")


@_gen("labels", "huge_dims.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.ones((64, 64), np.uint32))
    _patch_dims(p, 1_000_000, 1_000_000)


@_gen("labels", "truncated.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.arange(256 * 256, dtype=np.uint32).reshape(256, 256))
    with open(p, "r+b") as fh:
        fh.truncate(p.stat().st_size // 3)


# ----------------------------------------------------------------------------- geojson
@_gen("geojson", "utf16_bom.geojson")
def _(p: Path) -> None:
    text = json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"classification": {"name": "Epidermis"}},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [9, 0], [9, 9], [0, 0]]]}}]})
    p.write_bytes(text.encode("utf-16"))


@_gen("geojson", "latin1_classes.geojson")
def _(p: Path) -> None:
    text = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
            '{"classification": {"name": "Hautläsion"}}, "geometry": {"type": "Polygon", '
            '"coordinates": [[[0, 0], [9, 0], [9, 9], [0, 0]]]}}]}')
    p.write_bytes(text.encode("latin-1"))


@_gen("geojson", "garbage.geojson")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


# ----------------------------------------------------------------------------- LMD XML
@_gen("lmd_xml", "utf16_truncated.xml")
def _(p: Path) -> None:
    text = ("<?xml version='1.0' encoding='UTF-16'?>\n<ImageData>\n"
            "<X_CalibrationPoint_1>0</X_CalibrationPoint_1>\n<ShapeCount>1</ShapeCount>\n"
            "<Shape_1><PointCount>3</PointCount>")
    p.write_bytes(text.encode("utf-16"))


@_gen("lmd_xml", "garbage.xml")
def _(p: Path) -> None:
    p.write_bytes(b"<ImageData><X_CalibrationPoint_1>" + _garbage(2000))


# ----------------------------------------------------------------------------- proteomics
@_gen("proteomics", "utf16_bom.pg_matrix.tsv")
def _(p: Path) -> None:
    p.write_bytes(_GOOD_MATRIX.encode("utf-16"))


@_gen("proteomics", "latin1_genes.tsv")
def _(p: Path) -> None:
    text = "protein\tgene\tS1\tS2\nP1\tGRÜN1\t10\t12\nP2\tBLÄU2\t8\t9\n"
    p.write_bytes(text.encode("latin-1"))


@_gen("proteomics", "garbage.tsv")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


@_gen("proteomics", "corrupt.parquet")
def _(p: Path) -> None:
    p.write_bytes(b"PAR1" + _garbage(1000) + b"PAR1")


@_gen("proteomics", "truncated.parquet")
def _(p: Path) -> None:
    import pandas as pd

    pd.DataFrame({"pg": ["P1", "P2"] * 500, "run1": np.arange(1000.0),
                  "run2": np.arange(1000.0)}).to_parquet(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


@_gen("proteomics", "corrupt.h5ad")
def _(p: Path) -> None:
    p.write_bytes(b"\x89HDF\r\n\x1a\n" + _garbage(2000))


@_gen("proteomics", "empty.h5ad")
def _(p: Path) -> None:
    p.write_bytes(b"")


@_gen("proteomics", "truncated.pg_matrix.tsv.gz")
def _(p: Path) -> None:
    data = gzip.compress((_GOOD_MATRIX * 200).encode(), mtime=0)
    p.write_bytes(data[: len(data) // 2])


@_gen("proteomics", "wrong_anndata.h5ad")
def _(p: Path) -> None:
    import anndata as ad

    ad.AnnData(X=np.ones((2, 3))).write_h5ad(p)


# ----------------------------------------------------------------------------- manifests
@_gen("manifest", "utf16_bom.csv")
def _(p: Path) -> None:
    text = ("sample_id,well,class,region,replicate,n_cells,area_um2,n_shapes,cell_ids\n"
            "TEN_A1,A1,keratinocyte,epidermis,1,2,50,2,1;2\n")
    p.write_bytes(text.encode("utf-16"))


@_gen("manifest", "garbage.csv")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


# ----------------------------------------------------------------------------- gene sets
@_gen("gmt", "utf16_bom.gmt")
def _(p: Path) -> None:
    p.write_bytes("MINE\tmine\tSTAT1\tSTAT2\n".encode("utf-16"))


@_gen("gmt", "garbage.gmt")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


# ----------------------------------------------------------------------------- LMD selections
@_gen("selection", "utf16_bom.csv")
def _(p: Path) -> None:
    p.write_bytes("cell_id,sample\n1,a\n2,a\n".encode("utf-16"))


@_gen("selection", "garbage.csv")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


# ----------------------------------------------------------------------------- gating rules
@_gen("gating", "utf16_rules.txt")
def _(p: Path) -> None:
    p.write_bytes("CD8 T cell: CD8+\n".encode("utf-16"))


@_gen("gating", "garbage.json")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


@_gen("gating", "garbage_rules.txt")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


# ----------------------------------------------------------------------------- classifiers
@_gen("classifier", "empty.joblib")
def _(p: Path) -> None:
    p.write_bytes(b"")


@_gen("classifier", "garbage.joblib")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


@_gen("classifier", "other_payload.joblib")
def _(p: Path) -> None:
    import joblib

    joblib.dump({"format": "something-else", "model": [1, 2, 3]}, p)


@_gen("classifier", "truncated.joblib")
def _(p: Path) -> None:
    import joblib
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        rng.random((40, 2)), np.repeat(["a", "b"], 20))
    joblib.dump({"format": "napari-dvp cell classifier", "model": model}, p, compress=3)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


# ----------------------------------------------------------------------------- projects
def _good_project(folder: Path) -> None:
    import pandas as pd

    from napari_dvp.core.project import Project, save_project

    labels = np.zeros((32, 32), np.uint32)
    labels[2:8, 2:8] = 1
    labels[10:20, 10:20] = 2
    cells = pd.DataFrame({"cell_id": [1, 2], "class": ["a", "b"]})
    save_project(folder, Project(labels=labels, cells=cells, classes={"a": [255, 0, 0]}))


@_gen("project", "garbage_index")
def _(p: Path) -> None:
    p.mkdir()
    (p / "project.json").write_bytes(_garbage())


@_gen("project", "damaged_cell_table")
def _(p: Path) -> None:
    _good_project(p)
    table = next(f for f in p.iterdir() if f.suffix == ".parquet")
    data = bytearray(table.read_bytes())
    data[len(data) // 3: len(data) // 3 + 64] = _garbage(64)
    table.write_bytes(bytes(data))


@_gen("project", "missing_labels")
def _(p: Path) -> None:
    _good_project(p)
    for f in p.iterdir():
        if f.suffix == ".zarr":
            shutil.rmtree(f)


@_gen("project", "truncated_labels_chunk")
def _(p: Path) -> None:
    _good_project(p)
    chunks = sorted(f for z in p.iterdir() if z.suffix == ".zarr" for f in z.rglob("*")
                    if f.is_file() and f.name != "zarr.json")
    for f in chunks:
        f.write_bytes(f.read_bytes()[:5])


# ----------------------------------------------------------------------------- cell tables
@_gen("cells", "utf16_bom.csv")
def _(p: Path) -> None:
    p.write_bytes("cell_id,mean_CD8\n1,10\n2,20\n".encode("utf-16"))


@_gen("cells", "latin1_classes.csv")
def _(p: Path) -> None:
    p.write_bytes("cell_id,mean_CD8,class\n1,10,Keratinozyt\n2,20,Makrophage ä\n"
                  .encode("latin-1"))


@_gen("cells", "garbage.parquet")
def _(p: Path) -> None:
    p.write_bytes(_garbage())


@_gen("cells", "csv_named.parquet")
def _(p: Path) -> None:
    p.write_text("cell_id,mean_CD8\n1,10\n")


# ----------------------------------------------------------------------------- issue 16
# Hostile files (attacks, bombs, lying metadata) for each reader; the command-level
# cases (outputs, signals, options) are in tests/unit/test_hostile*.py.
class _Payload:
    """Unpickling this creates ``<file>.PAYLOAD_RAN`` beside the file: it must never happen."""

    def __init__(self, target: Path) -> None:
        self.target = str(target) + ".PAYLOAD_RAN"

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


@_gen("image", "ome_sizec3_five_pages.ome.tif")
def _(p: Path) -> None:
    import tifffile

    tifffile.imwrite(p, np.ones((5, 32, 32), np.uint16), ome=True, metadata={"axes": "CYX"})
    tifffile.tiffcomment(p, tifffile.tiffcomment(p).replace('SizeC="5"', 'SizeC="3"').encode())


@_gen("image", "ome_claims_1e6_squared.ome.tif")
def _(p: Path) -> None:
    import tifffile

    tifffile.imwrite(p, np.ones((1, 64, 64), np.uint16), ome=True, metadata={"axes": "CYX"})
    xml = tifffile.tiffcomment(p)
    tifffile.tiffcomment(p, xml.replace('SizeX="64"', 'SizeX="1000000"')
                         .replace('SizeY="64"', 'SizeY="1000000"').encode())


@_gen("image", "pages_3000_1x1.tif")
def _(p: Path) -> None:
    import tifffile

    with tifffile.TiffWriter(p) as tw:
        for i in range(3000):
            tw.write(np.array([[i % 251]], np.uint8), contiguous=True)


@_gen("image", "one_pixel.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.ones((1, 1), np.uint16))


@_gen("image", "planes_600.tif")
def _(p: Path) -> None:
    _small_tiff(p, data=np.zeros((600, 32, 32), np.uint8))


@_gen("geojson", "nested_100000.geojson")
def _(p: Path) -> None:
    p.write_text('{"type":"FeatureCollection","features":' + "[" * 100_000 + "]" * 100_000
                 + "}")


@_gen("gating", "nested_100000.json")
def _(p: Path) -> None:
    p.write_text('{"rules":' + "[" * 100_000 + "]" * 100_000 + "}")


@_gen("gating", "parentheses_5000_rules.txt")
def _(p: Path) -> None:
    p.write_text("T: " + "(" * 5000 + "CD8+" + ")" * 5000 + "\n")


@_gen("gating", "terms_5000_rules.txt")
def _(p: Path) -> None:
    p.write_text("T: " + " and ".join(["CD8+"] * 5000) + "\n")


@_gen("proteomics", "gzip_bomb.pg_matrix.tsv.gz")
def _(p: Path) -> None:
    with open(p, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9,
                                             mtime=0) as fh:
        fh.write(b"Protein.Group\tGenes\tTEN_A1\tTEN_A2\n")
        block = b" " * (1 << 20)
        for _ in range(80):
            fh.write(block)


def _forest_npz(p: Path, **changes) -> None:
    """A genuine data-only classifier (mean_DAPI, mean_CD8), then ``changes`` applied."""
    import pandas as pd

    from napari_dvp.core.classes.classifier import CellClassifier, classifier_to_bytes

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"cell_id": np.arange(1, 41), "mean_DAPI": rng.random(40) * 100,
                          "mean_CD8": rng.random(40) * 100})
    clf = CellClassifier(n_estimators=3, features=["mean_DAPI", "mean_CD8"]).train(
        table, {i: "ab"[i % 2] for i in range(1, 41)})
    p.write_bytes(classifier_to_bytes(clf))
    if not changes:
        return
    with np.load(p, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes().decode())
    for k, v in changes.items():
        if k in arrays:
            arrays[k] = v(arrays[k]) if callable(v) else v
        else:
            meta[k] = v
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(p, "wb") as fh:
        np.savez(fh, **arrays)


@_gen("classifier", "pickle_payload.joblib")
def _(p: Path) -> None:
    import joblib

    joblib.dump({"format": "napari-dvp cell classifier", "model": _Payload(p)}, p, compress=3)


@_gen("classifier", "pickle_payload_protocol0.npz")
def _(p: Path) -> None:
    import pickle

    p.write_bytes(pickle.dumps(_Payload(p), protocol=0))


@_gen("classifier", "object_array.npz")
def _(p: Path) -> None:
    with open(p, "wb") as fh:
        np.savez(fh, meta=np.array([_Payload(p)], dtype=object))


@_gen("classifier", "features_5.npz")
def _(p: Path) -> None:
    _forest_npz(p, features=5)


@_gen("classifier", "child_loop.npz")
def _(p: Path) -> None:
    def loop(left):
        left = left.copy()
        left[0] = 0
        return left

    _forest_npz(p, left=loop)


@_gen("classifier", "feature_out_of_range.npz")
def _(p: Path) -> None:
    _forest_npz(p, feature=lambda f: np.where(f >= 0, 7, f))


@_gen("classifier", "nan_threshold.npz")
def _(p: Path) -> None:
    _forest_npz(p, threshold=lambda t: np.full_like(t, np.nan))


@_gen("classifier", "truncated.npz")
def _(p: Path) -> None:
    _forest_npz(p)
    p.write_bytes(p.read_bytes()[:300])


def write_generated(root: str | Path) -> dict[str, list[Path]]:
    """Write every generated corpus file under ``root/<kind>/`` and return them by kind."""
    root = Path(root)
    out: dict[str, list[Path]] = {}
    for kind, writers in GENERATED.items():
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for name, write in writers.items():
            target = folder / name
            write(target)
            out.setdefault(kind, []).append(target)
    return out


if __name__ == "__main__":  # pragma: no cover - manual use
    written = write_generated(sys.argv[1] if len(sys.argv) > 1 else "bad-corpus")
    print(sum(len(v) for v in written.values()), "files written")
