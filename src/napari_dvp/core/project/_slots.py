"""Write and read every slot of a project as ``<slot>.<generation>.<ext>`` files."""

from __future__ import annotations

import json
import warnings
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from ..errors import DvpInputError
from ._embedded import embedded_ref, image_entry
from ._executable import executable_content
from ._files import _json_bytes, _put_bytes, _reuse, _sha256_file, _slug, _table_entry, read_table
from ._labels_zarr import _labels_entry, labels_digest, open_labels_zarr
from ._model import SLOTS, TABLE_SLOTS, Project
from ._regions_geojson import as_region_list, regions_from_geojson, regions_to_geojson


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


def write_slot(folder: Path, project: Project, slot: str, tag: str, prev: Mapping,
               written: list[Path]) -> tuple[str, Any] | None:
    """Write one slot of ``project`` as ``<slot>.<tag>.<ext>``; ``(key, index entry)`` or None.

    The slot keeps its previous file when its content did not change since
    ``prev`` (the previous index's ``files``). New files are appended to
    ``written`` (so a failing caller can remove them).
    """
    value = getattr(project, slot)
    p = prev.get("image" if slot == "image_data" else slot)
    if slot == "image_data":
        entry = image_entry(folder, tag, project, p, written)
        return None if entry is None else ("image", entry)
    if slot == "labels" and value is not None:
        return slot, _labels_entry(folder, f"labels.{tag}.zarr", value, p, written)
    if slot == "cells" and value is not None:
        return slot, _table_entry(folder, "cells", tag, value, "cell table", p, written)
    if slot == "regions" and value is not None and len(value):
        regs = as_region_list(value)
        data = json.dumps(regions_to_geojson(regs)).encode()
        e = _put_bytes(folder, f"regions.{tag}.geojson", data, p, written)
        e.update(n=len(regs), classes=sorted({r.region_class for r in regs}))
        return slot, e
    if slot == "classes" and value is not None:
        return slot, _put_bytes(folder, f"classes.{tag}.json",
                                _json_bytes(value, "class definitions"), p, written)
    if slot == "classifier" and value is not None:
        if not isinstance(value, bytes | bytearray):
            raise DvpInputError("the classifier must be given as bytes (its saved file)")
        what = executable_content(bytes(value))
        if what is not None:
            raise DvpInputError(f"the classifier is {what}, which runs code when opened; "
                                "a project keeps only data — save it in a data-only format")
        e = _put_bytes(folder, f"classifier.{tag}.bin", bytes(value), p, written)
        _json_bytes(project.classifier_info, "classifier info")
        e["info"] = project.classifier_info
        return slot, e
    if slot in TABLE_SLOTS and value:
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
        return slot, group
    if slot == "proteomics" and value is not None:
        return slot, _h5ad_entry(folder, f"proteomics.{tag}.h5ad", value, p, written)
    return None


def write_slots(folder: Path, project: Project, tag: str, prev: Mapping | None,
                written: list[Path], only: Sequence[str] | None = None) -> dict:
    """Write the non-empty slots of ``project``; returns the ``files`` part of an index.

    See :func:`write_slot`.
    """
    files: dict[str, Any] = {}
    for slot in only or SLOTS:
        done = write_slot(folder, project, slot, tag, prev or {}, written)
        if done is not None:
            files[done[0]] = done[1]
    return files


# --------------------------------------------------------------------------- slot readers


def read_slots(folder: Path, files: Mapping, project: Project, verify: bool = True,
               lazy_labels: bool = False) -> Project:
    """Fill ``project`` from the files an index lists; DvpInputError if one is bad."""
    return drain(read_slots_steps(folder, files, project, verify, lazy_labels))


def drain(steps: Generator[Any, None, Any]) -> Any:
    """Run a progress generator to its end and return its result."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def read_slots_steps(folder: Path, files: Mapping, project: Project, verify: bool = True,
                     lazy_labels: bool = False) -> Generator[tuple[int, int, str], None, Project]:
    """:func:`read_slots`, yielding ``(done, total, slot)`` before each slot."""
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

    # executable content is refused before anything else is read
    order = sorted(files, key=lambda s: s != "classifier")
    for k, slot in enumerate(order):
        entry = files[slot]
        yield k, len(order), slot
        if slot == "image":
            project.image = embedded_ref(path_of(entry, slot), entry)
            project.image_data = None
        elif slot == "labels":
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
            p = path_of(entry, slot)
            data = p.read_bytes()
            what = executable_content(data)
            if what is not None:
                raise DvpInputError(
                    f"{folder.name}: its classifier ({p.name}) is {what}, which runs code when "
                    "opened, so napari-dvp refuses this project; ask for a project saved by a "
                    "current napari-dvp, or retrain the classifier on the image")
            project.classifier = data
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

