"""Project folders: a pathologist's whole session in one folder that reopens exactly.

A project references the image (its path and a fingerprint of its metadata,
never a copy of the pixels) and stores everything made from it, one typed
*slot* per kind of result, each in one well-chosen format:

============== ======================= ===========================================
slot           Python value            file
============== ======================= ===========================================
``labels``     uint array (Y, X)       zarr v3 array, chunks 1024², written by bands
``cells``      DataFrame (cell table)  Parquet (dtypes and categoricals kept);
                                       QC decisions are its ``qc_status`` column
``regions``    list of ``Region``      GeoJSON FeatureCollection, QuPath-shaped
``classes``    JSON-able (dict/list)   JSON (class definitions, gating rules)
``classifier`` bytes + info dict       opaque bytes as given (e.g. a joblib file)
``plans``      {name: DataFrame}       Parquet, one file per plan
``manifests``  {name: DataFrame}       Parquet, one file per LMD manifest
``proteomics`` AnnData                 .h5ad
``scores``     {name: DataFrame}       Parquet, one file per score table
============== ======================= ===========================================

plus ``layers`` (napari view state: names, colours, scale …) and ``meta``
(free JSON) kept inside the index ``project.json``, which lists every file
with its SHA-256 and a ``format_version``.

Crash safety: every file is written under a *generation* name
(``cells.g7.parquet``) through a temporary file and :func:`os.replace`; the
index is replaced last, so it only ever points to complete files. A crash or an
exception mid-save leaves the previous generation and its index untouched.
Files the new index no longer lists are removed afterwards. Unchanged slots
keep their previous file (same checksum), so saving again is cheap.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import shapely.geometry

from .atomic import atomic_path, write_text_atomic
from .errors import DvpInputError
from .regions import Region

FORMAT = "napari-dvp project"
FORMAT_VERSION = 1
INDEX = "project.json"
RECOVERY_DIR = ".recovery"
LABEL_CHUNK = 1024
TABLE_SLOTS = ("plans", "manifests", "scores")
SLOTS = ("labels", "cells", "regions", "classes", "classifier", *TABLE_SLOTS, "proteomics")
_OWN_FILE = re.compile(r"^(labels|cells|regions|classes|classifier|plans|manifests|scores|"
                       r"proteomics)\..*[gr]\d+\.[a-z0-9]+$")
_TIFF_VOLATILE_TAGS = {"StripOffsets", "StripByteCounts", "TileOffsets", "TileByteCounts",
                       "SubIFDs", "FreeOffsets", "FreeByteCounts", "JPEGTables"}


# --------------------------------------------------------------------------- data model


@dataclass
class ImageRef:
    """The image a project was made on: where it was and what it looks like.

    Parameters
    ----------
    path
        Absolute path of the image file when the project was saved.
    fingerprint
        ``sha256:…`` of its metadata (shape, dtype, TIFF tags of the first page
        or OME-XML) and of its first stored tile: a renamed or copied file still
        matches; another image does not.
    shape, dtype
        Shape and dtype of the full-resolution image.
    status
        After loading: ``"ok"`` (found and matching), ``"missing"`` (no file at
        ``path``), ``"changed"`` (a different image is now at ``path``) or
        ``"unchecked"``.
    """

    path: str
    fingerprint: str
    shape: tuple[int, ...] = ()
    dtype: str = ""
    status: str = "unchecked"

    def to_json(self) -> dict:
        return {"path": self.path, "fingerprint": self.fingerprint,
                "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_json(cls, d: Mapping) -> ImageRef:
        return cls(path=str(d["path"]), fingerprint=str(d["fingerprint"]),
                   shape=tuple(int(s) for s in d.get("shape", ())), dtype=str(d.get("dtype", "")))


@dataclass
class Project:
    """Everything a project folder holds (any slot may be empty).

    Parameters
    ----------
    image
        Reference to the image (see :func:`image_ref`), or None.
    labels
        Cell labels, an integer array (Y, X); 0 is background.
    cells
        The cell table (one row per cell id, with ``qc_status``, ``region``,
        ``class`` … columns).
    regions
        Drawn regions (:class:`~napari_dvp.core.regions.Region`); a mapping
        ``{class name: geometry}`` is accepted too.
    classes
        Class definitions / gating rules: anything JSON can hold.
    classifier
        A trained classifier as opaque bytes (e.g. the file written by
        :func:`napari_dvp.core.classifier.save_classifier`).
    classifier_info
        What the classifier needs (``features``, ``classes`` …), JSON.
    plans, manifests, scores
        Named tables: sample plans, LMD manifests, per-sample scores.
    proteomics
        Loaded protein matrix as :class:`anndata.AnnData`.
    layers
        napari view state, one JSON dict per layer (name, kind, colormap,
        scale, visible …), in stacking order.
    meta
        Free JSON metadata (pixel size, notes …).
    """

    image: ImageRef | None = None
    labels: Any = None
    cells: pd.DataFrame | None = None
    regions: Any = field(default_factory=list)
    classes: Any = None
    classifier: bytes | None = None
    classifier_info: dict = field(default_factory=dict)
    plans: dict[str, pd.DataFrame] = field(default_factory=dict)
    manifests: dict[str, pd.DataFrame] = field(default_factory=dict)
    scores: dict[str, pd.DataFrame] = field(default_factory=dict)
    proteomics: Any = None
    layers: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    saved: str = ""
    generation: int = 0


# --------------------------------------------------------------------------- image reference


def image_fingerprint(path: str | os.PathLike[str]) -> tuple[str, tuple[int, ...], str]:
    """Return ``(fingerprint, shape, dtype)`` of an image file, reading only its header.

    TIFF (and OME-TIFF, SVS …): the tags of the first page except the offsets,
    the OME-XML, the shape and dtype of the first series and the bytes of the
    first stored tile. Other files: size and the first and last MiB.

    Raises
    ------
    DvpInputError
        If the file does not exist or cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise DvpInputError(f"image {p} not found; give the image's new location")
    h = hashlib.sha256()
    shape: tuple[int, ...] = ()
    dtype = ""
    try:
        if p.is_dir():
            for sub in sorted(p.rglob("*.json")) + sorted(p.rglob(".z*")):
                if sub.is_file() and sub.stat().st_size < 1 << 20:
                    h.update(sub.relative_to(p).as_posix().encode() + sub.read_bytes())
        elif p.suffix.lower() in {".tif", ".tiff", ".svs", ".ndpi", ".scn", ".btf", ".qptiff"}:
            shape, dtype = _tiff_fingerprint(p, h)
        else:
            size = p.stat().st_size
            h.update(str(size).encode())
            with open(p, "rb") as fh:
                h.update(fh.read(1 << 20))
                fh.seek(max(0, size - (1 << 20)))
                h.update(fh.read(1 << 20))
    except DvpInputError:
        raise
    except Exception as exc:
        raise DvpInputError(f"cannot read image {p} ({type(exc).__name__}: {exc}); "
                            "check the file") from None
    return "sha256:" + h.hexdigest(), shape, dtype


def _tiff_fingerprint(p: Path, h) -> tuple[tuple[int, ...], str]:
    import tifffile

    with tifffile.TiffFile(p) as tf:
        series = tf.series[0]
        page = tf.pages.first
        tags = {}
        for tag in page.tags.values():
            if tag.name in _TIFF_VOLATILE_TAGS:
                continue
            value = tag.value
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, bytes):
                value = hashlib.sha256(value).hexdigest()
            tags[tag.name] = value
        meta = {"shape": list(series.shape), "dtype": str(series.dtype), "axes": series.axes,
                "pages": len(tf.pages), "tags": tags}
        h.update(json.dumps(meta, sort_keys=True, default=str).encode())
        offsets, counts = page.dataoffsets, page.databytecounts
        if len(offsets) and counts[0] > 0:
            tf.filehandle.seek(offsets[0])
            h.update(tf.filehandle.read(min(int(counts[0]), 1 << 20)))
        return tuple(int(s) for s in series.shape), str(series.dtype)


def image_ref(path: str | os.PathLike[str]) -> ImageRef:
    """Reference an image file by absolute path and metadata fingerprint."""
    fp, shape, dtype = image_fingerprint(path)
    return ImageRef(path=str(Path(path).resolve()), fingerprint=fp, shape=shape, dtype=dtype,
                    status="ok")


def check_image(ref: ImageRef) -> str:
    """Set and return ``ref.status``: ``ok``, ``missing`` or ``changed``."""
    if not Path(ref.path).exists():
        ref.status = "missing"
    else:
        try:
            fp = image_fingerprint(ref.path)[0]
        except DvpInputError:
            fp = ""
        ref.status = "ok" if fp == ref.fingerprint else "changed"
    return ref.status


def relink_image(project: Project, new_path: str | os.PathLike[str]) -> ImageRef:
    """Point the project at the image's new location, after checking it is the same image.

    Raises
    ------
    DvpInputError
        If the file at ``new_path`` is not the image the project was made on.
    """
    if project.image is None:
        raise DvpInputError("this project references no image; open the image as usual")
    fp, shape, dtype = image_fingerprint(new_path)
    if fp != project.image.fingerprint:
        raise DvpInputError(
            f"{new_path} is not the image this project was made on (its metadata differ from "
            f"{Path(project.image.path).name}); choose the original image or a copy of it")
    project.image = ImageRef(path=str(Path(new_path).resolve()), fingerprint=fp,
                             shape=shape or project.image.shape,
                             dtype=dtype or project.image.dtype, status="ok")
    return project.image


# --------------------------------------------------------------------------- slot writers


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-")[:40]
    return s or "table"


def _reuse(folder: Path, prev: Mapping | None, sha: str) -> dict | None:
    if prev and prev.get("sha256") == sha and (folder / str(prev.get("file", ""))).exists():
        return dict(prev)
    return None


def _put_bytes(folder: Path, name: str, data: bytes, prev: Mapping | None,
               written: list[Path]) -> dict:
    sha = _sha256_bytes(data)
    reused = _reuse(folder, prev, sha)
    if reused is not None:
        return reused
    target = folder / name
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    written.append(target)
    return {"file": name, "sha256": sha, "bytes": len(data)}


def table_bytes(df: pd.DataFrame, what: str) -> bytes:
    """A DataFrame as Parquet bytes (dtypes, categoricals and the index kept)."""
    if not isinstance(df, pd.DataFrame):
        raise DvpInputError(f"{what} must be a table (DataFrame), not {type(df).__name__}")
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise DvpInputError(f"{what} has non-text column name(s) {bad[:3]}; rename them")
    buf = io.BytesIO()
    try:
        df.to_parquet(buf, engine="pyarrow", index=None)
    except Exception as exc:
        raise DvpInputError(f"cannot store {what}: a column mixes types "
                            f"({type(exc).__name__}: {str(exc)[:120]}); make each column "
                            "one type") from None
    return buf.getvalue()


def read_table(path: Path, what: str) -> pd.DataFrame:
    """Read a Parquet table written by :func:`table_bytes`."""
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:
        raise DvpInputError(f"{what} file {path.name} is damaged or truncated "
                            f"({type(exc).__name__}); restore it from a backup") from None


def _table_entry(folder: Path, stem: str, tag: str, df: pd.DataFrame, what: str,
                 prev: Mapping | None, written: list[Path]) -> dict:
    entry = _put_bytes(folder, f"{stem}.{tag}.parquet", table_bytes(df, what), prev, written)
    entry.update(rows=len(df), columns=[str(c) for c in df.columns])
    return entry


def _as_region_list(regions: Any) -> list[Region]:
    if regions is None:
        return []
    if isinstance(regions, Mapping):
        return [Region(geometry=g, region_class=str(k)) for k, g in regions.items()]
    out = []
    for r in regions:
        if isinstance(r, Region):
            out.append(r)
        elif isinstance(r, tuple | list) and len(r) == 4:
            name, cls, color, geom = r
            out.append(Region(geometry=geom, region_class=str(cls), name=str(name or ""),
                              color=None if color is None else tuple(int(c) for c in color)))
        else:
            raise DvpInputError(f"cannot store region {r!r}; give Region objects, "
                                "(name, class, colour, geometry) or {class: geometry}")
    for r in out:
        if not isinstance(r.geometry, shapely.Geometry):
            raise DvpInputError(f"region '{r.region_class}' has no shapely geometry")
    return out


def regions_to_geojson(regions: Any) -> dict:
    """Regions as a QuPath-shaped FeatureCollection (annotations; x = column, y = row)."""
    feats = []
    for r in _as_region_list(regions):
        props: dict[str, Any] = {"objectType": "annotation"}
        if r.name:
            props["name"] = r.name
        cls: dict[str, Any] = {"name": r.region_class}
        if r.color is not None:
            cls["color"] = [int(c) for c in r.color]
        props["classification"] = cls
        extra = dict(r.properties)
        fid = extra.pop("_id", None)
        props.update(extra)
        feat = {"type": "Feature", "geometry": shapely.geometry.mapping(r.geometry),
                "properties": props}
        if fid is not None:
            feat["id"] = fid
        feats.append(feat)
    return {"type": "FeatureCollection", "features": feats}


def regions_from_geojson(obj: Any, where: str = "regions") -> list[Region]:
    """Inverse of :func:`regions_to_geojson`."""
    try:
        out = []
        for f in obj["features"]:
            props = dict(f.get("properties") or {})
            props.pop("objectType", None)
            cls = props.pop("classification", {}) or {}
            name = props.pop("name", "")
            if "id" in f:
                props["_id"] = f["id"]
            color = cls.get("color")
            out.append(Region(geometry=shapely.geometry.shape(f["geometry"]),
                              region_class=str(cls.get("name", "")), name=str(name),
                              color=None if color is None else tuple(int(c) for c in color),
                              properties=props))
        return out
    except Exception as exc:
        raise DvpInputError(f"{where} is not a valid regions GeoJSON "
                            f"({type(exc).__name__}: {exc}); restore it from a backup") from None


def labels_digest(labels: Any) -> tuple[str, int, int]:
    """Return ``(sha256 of the C-order bytes, number of cells, largest label)``, band by band."""
    shape = tuple(labels.shape)
    h = hashlib.sha256(f"{shape}|{np.dtype(labels.dtype).str}|".encode())
    present = np.zeros(1, bool)
    for r0 in range(0, shape[0] if shape else 1, LABEL_CHUNK):
        band = np.ascontiguousarray(np.asarray(labels[r0:r0 + LABEL_CHUNK]))
        h.update(memoryview(band).cast("B"))
        if band.size:
            top = int(band.max())
            if top >= present.size:
                present = np.concatenate([present, np.zeros(top + 1 - present.size, bool)])
            present[band.ravel()] = True
    present[0] = False
    n = int(present.sum())
    return h.hexdigest(), n, int(np.flatnonzero(present)[-1]) if n else 0


def write_labels_zarr(path: Path, labels: Any) -> None:
    """Write ``labels`` as a zarr v3 array with 1024² chunks, one band of chunks at a time."""
    import zarr

    shape = tuple(int(s) for s in labels.shape)
    chunks = tuple([1] * (len(shape) - 2) + [LABEL_CHUNK] * min(2, len(shape)))
    z = zarr.create_array(store=str(path), shape=shape, chunks=chunks,
                          dtype=np.dtype(labels.dtype), fill_value=0, overwrite=True)
    for r0 in range(0, shape[0], LABEL_CHUNK):
        z[r0:r0 + LABEL_CHUNK] = np.asarray(labels[r0:r0 + LABEL_CHUNK])


def open_labels_zarr(path: Path, lazy: bool = False) -> Any:
    """Open a labels zarr array (read-only when lazy, else a numpy copy)."""
    import zarr

    try:
        z = zarr.open_array(str(path), mode="r")
        return z if lazy else z[...]
    except Exception as exc:
        raise DvpInputError(f"labels {path.name} are damaged ({type(exc).__name__}: "
                            f"{str(exc)[:100]}); restore them from a backup") from None


def _labels_entry(folder: Path, name: str, labels: Any, prev: Mapping | None,
                  written: list[Path]) -> dict:
    if not hasattr(labels, "shape") or not np.issubdtype(np.dtype(labels.dtype), np.integer):
        raise DvpInputError("labels must be an integer array (one id per cell, 0 = background)")
    if len(labels.shape) < 2:
        raise DvpInputError(f"labels must be 2-D (Y, X), not shape {tuple(labels.shape)}")
    sha, n_cells, max_label = labels_digest(labels)
    entry = _reuse(folder, prev, sha)
    if entry is None:
        target = folder / name
        with atomic_path(target) as tmp:
            write_labels_zarr(tmp, labels)
        written.append(target)
        entry = {"file": name, "sha256": sha}
    entry.update(shape=[int(s) for s in labels.shape], dtype=str(np.dtype(labels.dtype)),
                 chunks=LABEL_CHUNK, n_cells=n_cells, max_label=max_label)
    return entry


def _h5ad_entry(folder: Path, name: str, adata: Any, prev: Mapping | None,
                written: list[Path]) -> dict:
    try:
        import anndata
    except ImportError:  # pragma: no cover - anndata is a dependency
        raise DvpInputError("storing proteomics needs the anndata package") from None
    if not isinstance(adata, anndata.AnnData):
        raise DvpInputError(f"proteomics must be an AnnData, not {type(adata).__name__}")
    target = folder / name
    with atomic_path(target) as tmp:
        adata.write_h5ad(tmp)
    sha = _sha256_file(target)
    reused = _reuse(folder, prev, sha)
    if reused is not None:
        target.unlink()
        entry = reused
    else:
        written.append(target)
        entry = {"file": name, "sha256": sha, "bytes": target.stat().st_size}
    entry["shape"] = [int(adata.n_obs), int(adata.n_vars)]
    return entry


def _json_bytes(obj: Any, what: str) -> bytes:
    try:
        return json.dumps(obj, indent=1, sort_keys=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise DvpInputError(f"cannot store {what}: {exc}; use plain numbers, text, lists "
                            "and dicts") from None


def write_slots(folder: Path, project: Project, tag: str, prev: Mapping | None,
                written: list[Path], only: Sequence[str] | None = None,
                progress: Callable[[str], None] | None = None) -> dict:
    """Write the non-empty slots of ``project`` into ``folder`` as ``<slot>.<tag>.<ext>``.

    Returns the ``files`` part of an index. Slots whose content did not change
    since ``prev`` keep their previous file. Every new file is appended to
    ``written`` (so a failing caller can remove them).
    """
    prev = prev or {}
    files: dict[str, Any] = {}
    for slot in only or SLOTS:
        if progress is not None:
            progress(slot)
        value = getattr(project, slot)
        p = prev.get(slot)
        if slot == "labels" and value is not None:
            files[slot] = _labels_entry(folder, f"labels.{tag}.zarr", value, p, written)
        elif slot == "cells" and value is not None:
            files[slot] = _table_entry(folder, "cells", tag, value, "cell table", p, written)
        elif slot == "regions" and value is not None and len(value):
            regs = _as_region_list(value)
            data = json.dumps(regions_to_geojson(regs)).encode()
            e = _put_bytes(folder, f"regions.{tag}.geojson", data, p, written)
            e.update(n=len(regs), classes=sorted({r.region_class for r in regs}))
            files[slot] = e
        elif slot == "classes" and value is not None:
            files[slot] = _put_bytes(folder, f"classes.{tag}.json",
                                     _json_bytes(value, "class definitions"), p, written)
        elif slot == "classifier" and value is not None:
            if not isinstance(value, bytes | bytearray):
                raise DvpInputError("the classifier must be given as bytes (its saved file)")
            e = _put_bytes(folder, f"classifier.{tag}.bin", bytes(value), p, written)
            _json_bytes(project.classifier_info, "classifier info")
            e["info"] = project.classifier_info
            files[slot] = e
        elif slot in TABLE_SLOTS and value:
            if not isinstance(value, Mapping):
                raise DvpInputError(f"{slot} must be a {{name: table}} mapping")
            group: dict[str, Any] = {}
            used: set[str] = set()
            for i, (name, df) in enumerate(value.items()):
                stem = f"{slot}.{_slug(name)}"
                stem = stem if stem not in used else f"{stem}-{i}"
                used.add(stem)
                group[str(name)] = _table_entry(folder, stem, tag, df, f"{slot[:-1]} '{name}'",
                                                (p or {}).get(str(name)), written)
            files[slot] = group
        elif slot == "proteomics" and value is not None:
            files[slot] = _h5ad_entry(folder, f"proteomics.{tag}.h5ad", value, p, written)
    return files


# --------------------------------------------------------------------------- slot readers


def read_slots(folder: Path, files: Mapping, project: Project, verify: bool = True,
               lazy_labels: bool = False) -> Project:
    """Fill ``project`` from the files an index lists; DvpInputError if one is bad."""
    def path_of(entry: Any, slot: str) -> Path:
        if not isinstance(entry, Mapping) or "file" not in entry:
            raise DvpInputError(f"{folder.name}: the index's '{slot}' entry "
                                "names no file; restore the folder from a backup")
        name = str(entry["file"])
        if not name or Path(name).name != name or name in (".", ".."):
            raise DvpInputError(f"{folder.name}: the index's '{slot}' entry names "
                                f"{name[:60]!r}, outside the project folder; restore the index "
                                "from a backup")
        p = folder / name
        if not p.exists():
            raise DvpInputError(f"{folder.name}: the index lists {entry['file']} but it is "
                                "missing; restore it or the project folder from a backup")
        if verify and p.is_file() and entry.get("sha256") and \
                _sha256_file(p) != entry["sha256"]:
            raise DvpInputError(f"{folder.name}/{p.name} is damaged (checksum differs); "
                                "restore it from a backup")
        return p

    for slot, entry in files.items():
        if slot == "labels":
            lab = open_labels_zarr(path_of(entry, slot), lazy=lazy_labels)
            if verify and not lazy_labels and entry.get("sha256") and \
                    labels_digest(lab)[0] != entry["sha256"]:
                raise DvpInputError(f"{folder.name}: labels {entry['file']} are damaged "
                                    "(checksum differs); restore them from a backup")
            project.labels = lab
        elif slot == "cells":
            project.cells = read_table(path_of(entry, slot), "cell table")
        elif slot == "regions":
            p = path_of(entry, slot)
            try:
                obj = json.loads(p.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise DvpInputError(f"regions file {p.name} is damaged; restore it from a "
                                    "backup") from None
            project.regions = regions_from_geojson(obj, p.name)
        elif slot == "classes":
            p = path_of(entry, slot)
            try:
                project.classes = json.loads(p.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise DvpInputError(f"class definitions {p.name} are damaged; restore them "
                                    "from a backup") from None
        elif slot == "classifier":
            project.classifier = path_of(entry, slot).read_bytes()
            project.classifier_info = dict(entry.get("info") or {})
        elif slot in TABLE_SLOTS:
            setattr(project, slot, {name: read_table(path_of(e, slot), f"{slot[:-1]} '{name}'")
                                    for name, e in dict(entry).items()})
        elif slot == "proteomics":
            import anndata

            p = path_of(entry, slot)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    project.proteomics = anndata.read_h5ad(p)
            except Exception as exc:
                raise DvpInputError(f"proteomics file {p.name} is damaged ({type(exc).__name__})"
                                    "; restore it from a backup") from None
    return project


# --------------------------------------------------------------------------- index


def _now() -> tuple[str, float]:
    t = time.time()
    return _dt.datetime.fromtimestamp(t, _dt.timezone.utc).astimezone().isoformat(
        timespec="seconds"), t


def _app_version() -> str:
    from .. import __version__

    return __version__


def read_index(folder: str | os.PathLike[str], name: str = INDEX,
               kind: str = FORMAT) -> dict:
    """Read and check a project (or recovery) index.

    Raises
    ------
    DvpInputError
        Missing, unreadable, not a napari-dvp index, or a newer format version.
    """
    folder = Path(folder)
    path = folder / name
    if not folder.is_dir():
        raise DvpInputError(f"project folder {folder} not found; choose an existing project")
    if not path.is_file():
        raise DvpInputError(f"{folder} is not a napari-dvp project (no {name}); choose the "
                            "folder you saved the project to")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, OSError):
        raise DvpInputError(f"{path} is damaged (not readable JSON); restore the project "
                            "from a backup") from None
    if not isinstance(index, dict) or index.get("format") != kind:
        raise DvpInputError(f"{path} is not a {kind} index; choose a napari-dvp project folder")
    version = index.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise DvpInputError(f"{path} has no valid format_version; restore it from a backup")
    if version > FORMAT_VERSION:
        raise DvpInputError(f"{folder.name} was saved by a newer napari-dvp (format "
                            f"{version}, this one reads {FORMAT_VERSION}); update napari-dvp")
    if not isinstance(index.get("files", {}), dict):
        raise DvpInputError(f"{path} is damaged ('files' is not a mapping); restore a backup")
    return index


def _gc(folder: Path, keep: set[str]) -> None:
    """Remove our own files that the index no longer lists, and stale temporaries."""
    for p in folder.iterdir():
        n = p.name
        stale_tmp = n.startswith(".") and ".partial" in n
        if (stale_tmp or _OWN_FILE.match(n)) and n not in keep:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def referenced_files(files: Mapping) -> set[str]:
    """File names an index's ``files`` mapping points to."""
    out = set()
    for slot, entry in files.items():
        if slot in TABLE_SLOTS:
            out.update(str(e["file"]) for e in dict(entry).values())
        elif isinstance(entry, Mapping) and "file" in entry:
            out.add(str(entry["file"]))
    return out


def save_project(folder: str | os.PathLike[str], project: Project,
                 progress: Callable[[str], None] | None = None) -> dict:
    """Save ``project`` into ``folder`` (created if needed) and return the new index.

    Writes a new generation of every changed slot, then replaces
    ``project.json``, then removes files of older generations. An exception or
    a crash at any point leaves the previous project loadable as it was.

    Raises
    ------
    DvpInputError
        ``folder`` holds other files but no project, or a slot cannot be stored.
    """
    folder = Path(folder)
    prev: dict | None = None
    if folder.exists():
        if not folder.is_dir():
            raise DvpInputError(f"{folder} is a file; choose a folder for the project")
        if (folder / INDEX).exists():
            try:
                prev = read_index(folder)
            except DvpInputError:
                prev = None  # overwrite a damaged project with a complete one
        elif any(p.name != RECOVERY_DIR for p in folder.iterdir()):
            raise DvpInputError(f"{folder} already holds other files; choose an empty folder "
                                "or an existing project")
    folder.mkdir(parents=True, exist_ok=True)
    gen = int((prev or {}).get("generation", 0)) + 1
    written: list[Path] = []
    try:
        files = write_slots(folder, project, f"g{gen}", (prev or {}).get("files"), written,
                            progress=progress)
        saved, saved_unix = _now()
        index = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "app": "napari-dvp",
            "app_version": _app_version(),
            "created": (prev or {}).get("created", saved), "saved": saved,
            "saved_unix": saved_unix, "generation": gen,
            "image": project.image.to_json() if project.image else None,
            "layers": project.layers, "meta": project.meta, "files": files,
        }
        text = _json_bytes(index, "project index").decode()
        write_text_atomic(folder / INDEX, text)
    except BaseException:
        for p in written:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        raise
    _gc(folder, referenced_files(files) | {INDEX})
    project.saved, project.generation = saved, gen
    return index


def load_project(folder: str | os.PathLike[str], image_path: str | os.PathLike[str] | None = None,
                 verify: bool = True, lazy_labels: bool = False) -> Project:
    """Load a project folder.

    Parameters
    ----------
    folder
        The project folder (holding ``project.json``).
    image_path
        The image's new location if it moved (checked against the fingerprint).
    verify
        Check every file's SHA-256 against the index.
    lazy_labels
        Return the labels as a read-only zarr array instead of a numpy copy.

    Returns
    -------
    Project
        ``project.image.status`` says whether the image is still where it was
        (``ok``), ``missing`` or ``changed``; fix with :func:`relink_image`.

    Raises
    ------
    DvpInputError
        Not a project, a newer format, a listed file missing or damaged.
    """
    folder = Path(folder)
    index = read_index(folder)
    project = _project_from_index(index)
    read_slots(folder, index["files"], project, verify=verify, lazy_labels=lazy_labels)
    if project.image is not None:
        if image_path is not None:
            relink_image(project, image_path)
        else:
            check_image(project.image)
    return project


def _project_from_index(index: Mapping) -> Project:
    try:
        image = ImageRef.from_json(index["image"]) if index.get("image") else None
    except (KeyError, TypeError, ValueError):
        raise DvpInputError("the project index has a damaged image entry; restore a "
                            "backup") from None
    return Project(image=image, layers=list(index.get("layers") or []),
                   meta=dict(index.get("meta") or {}), saved=str(index.get("saved", "")),
                   generation=int(index.get("generation", 0)))


def project_info(folder: str | os.PathLike[str]) -> dict:
    """What a project holds, from its index (no big file is read).

    Returns
    -------
    dict
        ``format_version``, ``app_version``, ``created``, ``saved``,
        ``generation``, ``image`` (with ``status``), ``layers`` (names),
        ``files`` (the index entries) and ``missing`` (listed files absent).
    """
    folder = Path(folder)
    index = read_index(folder)
    info = {k: index.get(k) for k in ("format_version", "app_version", "created", "saved",
                                      "generation")}
    image = _project_from_index(index).image
    if image is not None:
        check_image(image)
        info["image"] = {**image.to_json(), "status": image.status}
    else:
        info["image"] = None
    info["layers"] = [str(lay.get("name", "")) for lay in index.get("layers") or []]
    info["files"] = index["files"]
    info["missing"] = sorted(n for n in referenced_files(index["files"])
                             if not (folder / n).exists())
    from .autosave import find_recovery

    rec = find_recovery(folder)
    info["recovery"] = None if rec is None else rec.saved
    return info


def check_project(folder: str | os.PathLike[str]) -> Project:
    """Load every file of a project and verify every checksum (DvpInputError if not)."""
    return load_project(folder, verify=True)
