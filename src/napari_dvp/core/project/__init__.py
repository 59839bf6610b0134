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
``image_data`` an in-memory image   pyramidal OME-TIFF (only for an image that
                                       exists nowhere else, e.g. the sample)
``regions``    list of ``Region``      GeoJSON FeatureCollection, QuPath-shaped
``classes``    JSON-able (dict/list)   JSON (class definitions, gating rules)
``classifier`` bytes + info dict       the bytes as given — data only: a pickle
                                       (joblib) is refused on save and on open
``plans``      {name: DataFrame}       Parquet, one file per plan
``manifests``  {name: DataFrame}       Parquet, one file per LMD manifest
``proteomics`` AnnData                 .h5ad
``scores``     {name: DataFrame}       Parquet, one file per score table
============== ======================= ===========================================

plus ``layers`` (napari view state: names, colours, scale …) and ``meta``
(free JSON) kept inside the index ``project.json``, which lists every file
with its SHA-256 and a ``format_version``.

One writer at a time: every save holds the folder's ``project.lock``
(:mod:`.lock`); a napari window holds it while the project is open.

Crash safety: every file is written under a *generation* name
(``cells.g7.parquet``) through a temporary file and :func:`os.replace`; the
index is replaced last, so it only ever points to complete files. A crash or an
exception mid-save leaves the previous generation and its index untouched.
Files the new index no longer lists are removed afterwards. Unchanged slots
keep their previous file (same checksum), so saving again is cheap.

Modules: ``_model`` (the :class:`Project` slots and names), ``_image_ref``
(image fingerprint, check, relink), ``_files`` (checksummed generation files,
Parquet tables, JSON), ``_labels_zarr`` / ``_regions_geojson`` / ``_embedded``
(those slots' formats), ``_executable`` (pickle detection), ``_slots`` (write
and read every slot), ``_index`` (``project.json``, save and load), ``_info``
(summary and full check), ``lock`` (one writer) and ``autosave``.
"""

from ._executable import executable_content
from ._files import read_table, table_bytes
from ._image_ref import ImageRef, check_image, image_fingerprint, image_ref, relink_image
from ._index import (
    LOCK_WAIT_S,
    check_save_folder,
    load_project,
    load_steps,
    read_index,
    referenced_files,
    save_project,
    save_steps,
)
from ._info import check_project, project_info, save_summary
from ._labels_zarr import labels_digest, open_labels_zarr, write_labels_zarr
from ._model import (
    FORMAT,
    FORMAT_VERSION,
    INDEX,
    LABEL_CHUNK,
    RECOVERY_DIR,
    SLOTS,
    TABLE_SLOTS,
    EmbeddedImage,
    Project,
)
from ._regions_geojson import regions_from_geojson, regions_to_geojson
from ._slots import read_slots, write_slots
from .lock import LOCK, ProjectLock, ProjectLocked, read_lock

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "INDEX",
    "LABEL_CHUNK",
    "LOCK",
    "LOCK_WAIT_S",
    "RECOVERY_DIR",
    "SLOTS",
    "TABLE_SLOTS",
    "EmbeddedImage",
    "ImageRef",
    "Project",
    "ProjectLock",
    "ProjectLocked",
    "check_image",
    "check_project",
    "check_save_folder",
    "executable_content",
    "image_fingerprint",
    "image_ref",
    "labels_digest",
    "load_project",
    "load_steps",
    "open_labels_zarr",
    "project_info",
    "read_index",
    "read_lock",
    "read_slots",
    "read_table",
    "referenced_files",
    "regions_from_geojson",
    "regions_to_geojson",
    "relink_image",
    "save_project",
    "save_steps",
    "save_summary",
    "table_bytes",
    "write_labels_zarr",
    "write_slots",
]
