"""Corrections of a segmentation that keep cell ids stable, with exact undo.

:class:`EditHistory` owns a labels array (edited **in place**, so a napari
layer holding the same array shows the change after ``layer.refresh()``) and
the cell table. Every edit

* touches only the bounding box of the cells involved,
* re-measures only the touched cells there (:func:`.measure.measure_cells_in_box`)
  and replaces their rows; every other row and column is left as it was,
* returns an :class:`Edit` holding the box, the previous pixel values and the
  previous rows, so :meth:`EditHistory.undo` restores labels and table exactly.

Id rules:

* **delete**: the cell's pixels become 0 and its row is dropped;
* **merge**: the *smaller* id survives and takes the other cell's pixels; the
  survivor keeps its own non-measurement columns (QC status, class, …);
* **split**: the pixels of the cell on each side of a drawn polyline become
  separate cells; the largest piece keeps the id, every other piece gets a new
  id ``max id + 1, …``; the pixels under the line go to the nearest piece; the
  new rows copy the parent's non-measurement columns;
* **paint** (napari's brush/fill/eraser): :meth:`EditHistory.after_paint`
  re-measures the ids painted over and painted with, adds rows for new ids and
  drops rows of ids that vanished. The pixels of a stroke are napari's to undo:
  the history keeps a *paint mark* in its place in the undo order, and
  :meth:`EditHistory.undo` / :meth:`EditHistory.redo` hand the mark back so the
  caller undoes the stroke with napari (``layer.undo()``) and re-measures with
  ``after_paint(mark.box, mark.touched, record=False)``. Review edits and
  strokes are thus undone in the order they were made.

:meth:`EditHistory.redo` re-applies what :meth:`EditHistory.undo` reverted;
a new edit or stroke forgets what could be redone.

Rejected cells (``qc_status == "rejected"``) stay in the labels and the table
so the decision is kept; later steps exclude them (:func:`.qc.usable_cells`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from skimage.draw import line as draw_line

from ..cells import columns as ct
from ..errors import DvpInputError
from ..measure import measure_cells_in_box

__all__ = ["Edit", "EditHistory", "cell_box"]

Box = tuple[int, int, int, int]


@dataclass
class Edit:
    """One undoable edit.

    Attributes
    ----------
    kind
        "delete", "merge", "split" or "paint".
    box
        ``(r0, r1, c0, c1)`` of the pixels that may have changed.
    before
        ``labels[r0:r1, c0:c1]`` before the edit.
    rows_before
        Table rows of the touched ids before the edit.
    touched
        Ids whose pixels changed (their rows are replaced).
    description
        One line for the user ("merged 12 into 7").
    """

    kind: str
    box: Box
    before: np.ndarray
    rows_before: pd.DataFrame
    touched: tuple[int, ...]
    description: str


def cell_box(labels: np.ndarray, cell_id: int, hint: tuple[float, float] | None = None,
             radius: int = 64) -> Box:
    """Bounding box ``(r0, r1, c0, c1)`` of ``cell_id``.

    With ``hint`` (its centroid row, col) only a window around it is searched;
    the whole image is scanned when the cell reaches the window's edge.

    Raises
    ------
    DvpInputError
        If the cell has no pixels.
    """
    H, W = labels.shape
    if hint is not None and np.all(np.isfinite(hint)):
        r, c = round(hint[0]), round(hint[1])
        a, b = max(r - radius, 0), min(r + radius + 1, H)
        d0, d1 = max(c - radius, 0), min(c + radius + 1, W)
        rr, cc = np.nonzero(np.asarray(labels[a:b, d0:d1]) == cell_id)
        if rr.size:
            box = (rr.min() + a, rr.max() + a + 1, cc.min() + d0, cc.max() + d0 + 1)
            inside = ((box[0] > a or a == 0) and (box[1] < b or b == H)
                      and (box[2] > d0 or d0 == 0) and (box[3] < d1 or d1 == W))
            if inside:
                return tuple(int(v) for v in box)  # type: ignore[return-value]
    rr, cc = np.nonzero(np.asarray(labels) == cell_id)
    if rr.size == 0:
        raise DvpInputError(f"cell {cell_id} has no pixels in the labels image")
    return int(rr.min()), int(rr.max()) + 1, int(cc.min()), int(cc.max()) + 1


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


class EditHistory:
    """Edits of ``labels`` + ``table`` with an undo stack.

    Parameters
    ----------
    labels
        ``(Y, X)`` integer numpy array, edited in place.
    image
        ``(C, Y, X)`` image for re-measuring intensities (numpy or dask), or None.
    channel_names, pixel_size_um
        As for :func:`.measure.measure_cells`.
    table
        The cell table (any extra columns are carried along).
    limit
        Number of edits kept for undo.
    """

    def __init__(self, labels: np.ndarray, image, channel_names: Sequence[str] | None,
                 pixel_size_um: float | None, table: pd.DataFrame, limit: int = 100):
        if not isinstance(labels, np.ndarray) or labels.ndim != 2:
            raise DvpInputError(
                "edits need the labels as a 2-D array in memory; "
                "convert a multiscale/lazy labels layer to a plain one first"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise DvpInputError(f"labels must hold integer cell ids, got {labels.dtype}")
        self.labels = labels
        self.image = image
        self.channel_names = list(channel_names or [])
        self.pixel_size_um = pixel_size_um
        self.table = _sorted(ct.validate(table))
        self.limit = limit
        self.undo_stack: list[Edit] = []
        self.redo_stack: list[Edit] = []

    def use_table(self, table: pd.DataFrame) -> None:
        """Work on ``table`` from now on (the cell table as other steps left it)."""
        self.table = _sorted(ct.validate(table))

    def box_of(self, cell_id: int) -> Box:
        """Bounding box ``(r0, r1, c0, c1)`` of a cell (quick when the table has its centroid)."""
        return self._box(cell_id)

    # ------------------------------------------------------------- helpers
    def _row(self, cell_id: int) -> pd.Series:
        hit = self.table.loc[self.table[ct.CELL_ID] == cell_id]
        if hit.empty:
            raise DvpInputError(f"cell {cell_id} is not in the cell table")
        return hit.iloc[0]

    def _box(self, cell_id: int) -> Box:
        hint = None
        if ct.ROW in self.table.columns:
            row = self.table.loc[self.table[ct.CELL_ID] == cell_id]
            if not row.empty:
                hint = (float(row[ct.ROW].iloc[0]), float(row[ct.COL].iloc[0]))
        return cell_box(self.labels, int(cell_id), hint)

    def _commit(self, kind: str, box: Box, before: np.ndarray, touched: Sequence[int],
                parents: dict[int, int], description: str, push: bool = True) -> Edit:
        """Re-measure ``touched`` in ``box``, replace their rows, push the edit (if ``push``)."""
        touched = tuple(int(t) for t in touched)
        ids = self.table[ct.CELL_ID].to_numpy()
        rows_before = self.table.loc[np.isin(ids, touched)].copy()
        fresh = measure_cells_in_box(self.labels, self.image, self.channel_names or None,
                                     self.pixel_size_um, touched, box)
        # carry the non-measurement columns (qc status, class, …) from the old row
        # of the same id, or from the parent for new ids
        keep = [c for c in self.table.columns if c not in fresh.columns]
        if keep:
            src = self.table.set_index(ct.CELL_ID)[keep]
            fid = fresh[ct.CELL_ID].to_numpy()
            from_id = np.array([parents.get(int(i), int(i)) for i in fid], dtype=np.int64)
            carried = src.reindex(from_id).reset_index(drop=True)
            fresh = pd.concat([fresh.reset_index(drop=True), carried], axis=1)
        rest = self.table.loc[~np.isin(ids, touched)]
        fresh = fresh.reindex(columns=self.table.columns)
        for c in self.table.columns:
            if not fresh[c].isna().any() and fresh[c].dtype != self.table[c].dtype:
                fresh[c] = fresh[c].astype(self.table[c].dtype)
        self.table = _sorted(pd.concat([rest, fresh], ignore_index=True))
        edit = Edit(kind, box, before, rows_before, touched, description)
        if push:
            self._push(edit)
        return edit

    def _push(self, edit: Edit) -> None:
        """Record a new edit: it can be undone, and nothing undone before can be redone."""
        self.undo_stack.append(edit)
        del self.undo_stack[:-self.limit]
        self.redo_stack.clear()

    def _snapshot(self, box: Box) -> np.ndarray:
        r0, r1, c0, c1 = box
        return self.labels[r0:r1, c0:c1].copy()

    # --------------------------------------------------------------- edits
    def delete(self, cell_id: int) -> Edit:
        """Remove a cell: its pixels become background and its row is dropped."""
        cell_id = int(cell_id)
        self._row(cell_id)
        box = self._box(cell_id)
        before = self._snapshot(box)
        r0, r1, c0, c1 = box
        view = self.labels[r0:r1, c0:c1]
        view[view == cell_id] = 0
        return self._commit("delete", box, before, [cell_id], {}, f"deleted cell {cell_id}")

    def merge(self, a: int, b: int) -> Edit:
        """Merge two cells; the smaller id survives (see module docstring)."""
        a, b = int(a), int(b)
        if a == b:
            raise DvpInputError("pick two different cells to merge")
        self._row(a)
        self._row(b)
        keep, gone = min(a, b), max(a, b)
        box = _union(self._box(a), self._box(b))
        before = self._snapshot(box)
        r0, r1, c0, c1 = box
        view = self.labels[r0:r1, c0:c1]
        touching = bool(np.any(ndi.binary_dilation(view == keep) & (view == gone)))
        view[view == gone] = keep
        note = "" if touching else " (they do not touch: one id, two pieces)"
        return self._commit("merge", box, before, [keep, gone], {},
                            f"merged cell {gone} into {keep}{note}")

    def split(self, cell_id: int, polyline_rc: np.ndarray) -> Edit:
        """Split a cell along a polyline ``(N, 2)`` of (row, col) points crossing it."""
        cell_id = int(cell_id)
        self._row(cell_id)
        pts = np.asarray(polyline_rc, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[0] < 2 or pts.shape[1] < 2:
            raise DvpInputError("draw a line of at least two points across the cell to split it")
        pts = pts[:, -2:]
        box = self._box(cell_id)
        r0, r1, c0, c1 = box
        mask = self.labels[r0:r1, c0:c1] == cell_id
        cut = np.zeros_like(mask)
        h, w = mask.shape
        p = np.round(pts - [r0, c0]).astype(np.int64)
        for (ra, ca), (rb, cb) in itertools.pairwise(p):
            rr, cc = draw_line(ra, ca, rb, cb)
            ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            cut[rr[ok], cc[ok]] = True
        pieces, n = ndi.label(mask & ~cut)  # 4-connected: an 8-connected line separates
        if n < 2:
            raise DvpInputError(
                f"the line does not cut cell {cell_id} in two; draw it across the whole cell"
            )
        sizes = np.bincount(pieces.ravel(), minlength=n + 1)[1:]
        rank = np.argsort(-sizes, kind="stable")  # piece indices, largest first
        next_id = int(max(int(self.labels.max()), int(self.table[ct.CELL_ID].max()))) + 1
        new_ids = np.arange(next_id, next_id + n - 1)
        piece_to_id = np.zeros(n + 1, dtype=np.int64)
        piece_to_id[rank[0] + 1] = cell_id
        piece_to_id[rank[1:] + 1] = new_ids
        # line pixels of the cell go to the nearest piece
        _, (ir, ic) = ndi.distance_transform_edt(pieces == 0, return_indices=True)
        nearest = pieces[ir, ic]
        assigned = np.where(mask, piece_to_id[np.where(pieces > 0, pieces, nearest)], 0)
        if np.iinfo(self.labels.dtype).max < new_ids.max():
            raise DvpInputError(
                f"labels dtype {self.labels.dtype} cannot hold new cell id {int(new_ids.max())}"
            )
        before = self._snapshot(box)
        view = self.labels[r0:r1, c0:c1]
        view[mask] = assigned[mask].astype(view.dtype)
        parents = {int(i): cell_id for i in new_ids}
        return self._commit("split", box, before, [cell_id, *new_ids.tolist()], parents,
                            f"split cell {cell_id} into {cell_id}, "
                            + ", ".join(str(i) for i in new_ids))

    def set_status(self, cell_ids: Sequence[int], status: str) -> Edit:
        """Record a QC decision (``accepted``/``rejected``/``pending``) so that it can be undone."""
        from .qc import set_status

        ids = tuple(int(i) for i in cell_ids)
        rows = self.table.loc[np.isin(self.table[ct.CELL_ID].to_numpy(), ids)].copy()
        self.table = _sorted(set_status(self.table, list(ids), status))
        what = ", ".join(map(str, ids))
        edit = Edit("decide", (0, 0, 0, 0), np.empty((0, 0), self.labels.dtype), rows, ids,
                    f"cell {what} {status}")
        self._push(edit)
        return edit

    def after_paint(self, box: Box, ids: Sequence[int], parents: dict[int, int] | None = None,
                    record: bool = True) -> Edit:
        """Update the table after pixels in ``box`` were painted.

        ``ids`` are the label values painted over and painted with. Rows of ids
        that vanished are dropped, new ids get rows (non-measurement columns
        empty unless ``parents`` maps them to an existing id). With ``record``
        (a new stroke) a paint mark joins the undo order; without (napari
        undid or redid a stroke the history handed back) nothing is recorded.
        """
        ids = [int(i) for i in np.unique(np.asarray(ids, dtype=np.int64)) if i > 0]
        # the box must contain every pixel of the touched ids
        full: Box = tuple(int(v) for v in box)  # type: ignore[assignment]
        for i in ids:
            try:
                full = _union(full, self._box(i))
            except DvpInputError:
                continue  # erased completely
        edit = self._commit("paint", full, self._snapshot(full), ids, parents or {},
                            f"painted cells {', '.join(map(str, ids))}", push=False)
        if record:
            self._push(Edit("paint", full, np.empty((0, 0), self.labels.dtype),
                            self.table.iloc[:0].copy(), tuple(ids), edit.description))
        return edit

    def _swap(self, edit: Edit) -> Edit:
        """Put back ``edit``'s pixels and rows; return the edit that puts back the present ones."""
        r0, r1, c0, c1 = edit.box
        ids = self.table[ct.CELL_ID].to_numpy()
        touched = np.isin(ids, edit.touched)
        inverse = Edit(edit.kind, edit.box, self._snapshot(edit.box),
                       self.table.loc[touched].copy(), edit.touched, edit.description)
        self.labels[r0:r1, c0:c1] = edit.before
        restored = edit.rows_before
        newer = [c for c in self.table.columns if c not in restored.columns]
        if newer and len(restored):  # columns another step added since keep their values
            restored = restored.join(self.table.set_index(ct.CELL_ID)[newer], on=ct.CELL_ID)
        dtypes = self.table.dtypes.to_dict()
        parts = [frame for frame in (self.table.loc[~touched], restored) if len(frame)]
        merged = pd.concat(parts, ignore_index=True) if parts else self.table.iloc[:0]
        self.table = _sorted(merged.reindex(columns=self.table.columns).astype(dtypes))
        return inverse

    def undo(self) -> Edit | None:
        """Revert the last edit exactly (labels and table); None if nothing to undo.

        A returned paint mark (``kind == "paint"``) changed nothing yet: the
        caller undoes the stroke's pixels and re-measures (module docstring).
        """
        if not self.undo_stack:
            return None
        edit = self.undo_stack.pop()
        self.redo_stack.append(edit if edit.kind == "paint" else self._swap(edit))
        return edit

    def redo(self) -> Edit | None:
        """Apply again the last edit :meth:`undo` reverted; None if nothing to redo.

        A paint mark is handed back as by :meth:`undo` (the caller redoes the stroke).
        """
        if not self.redo_stack:
            return None
        inverse = self.redo_stack.pop()
        edit = inverse if inverse.kind == "paint" else self._swap(inverse)
        self.undo_stack.append(edit)
        return edit


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(ct.CELL_ID, kind="stable").reset_index(drop=True)
