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

Modules: ``_model`` (the :class:`Project` slots and names), ``_image_ref``
(image fingerprint, check, relink), ``_files`` (checksummed generation files,
Parquet tables, JSON), ``_labels_zarr`` / ``_regions_geojson`` (those slots'
formats), ``_slots`` (write and read every slot), ``_index`` (``project.json``,
save and load) and ``_info`` (summary and full check).
"""

from ._files import read_table, table_bytes
from ._image_ref import ImageRef, check_image, image_fingerprint, image_ref, relink_image
from ._index import load_project, read_index, referenced_files, save_project
from ._info import check_project, project_info
from ._labels_zarr import labels_digest, open_labels_zarr, write_labels_zarr
from ._model import (
    FORMAT,
    FORMAT_VERSION,
    INDEX,
    LABEL_CHUNK,
    RECOVERY_DIR,
    SLOTS,
    TABLE_SLOTS,
    Project,
)
from ._regions_geojson import regions_from_geojson, regions_to_geojson
from ._slots import read_slots, write_slots

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "INDEX",
    "LABEL_CHUNK",
    "RECOVERY_DIR",
    "SLOTS",
    "TABLE_SLOTS",
    "ImageRef",
    "Project",
    "check_image",
    "check_project",
    "image_fingerprint",
    "image_ref",
    "labels_digest",
    "load_project",
    "open_labels_zarr",
    "project_info",
    "read_index",
    "read_slots",
    "read_table",
    "referenced_files",
    "regions_from_geojson",
    "regions_to_geojson",
    "relink_image",
    "save_project",
    "table_bytes",
    "write_labels_zarr",
    "write_slots",
]
