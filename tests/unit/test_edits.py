"""Label edits keep ids stable, update the table locally and undo exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage import draw

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.measure import measure_cells
from napari_dvp.core.review import qc
from napari_dvp.core.review.edits import EditHistory, cell_box

NAMES = ["DAPI", "CD8"]


def scene(seed: int = 0):
    rng = np.random.default_rng(seed)
    lab = np.zeros((120, 120), np.uint32)
    k = 1
    for r in range(12, 120, 24):
        for c in range(12, 120, 24):
            rr, cc = draw.disk((r + rng.integers(-2, 3), c + rng.integers(-2, 3)),
                               rng.integers(6, 12), shape=lab.shape)
            lab[rr, cc] = k
            k += 1
    img = rng.integers(0, 1000, (2, 120, 120)).astype(np.uint16)
    table = qc.flag_cells(measure_cells(lab, img, NAMES, 0.5), nuclear_channel="DAPI")
    table["class"] = [f"c{i % 3}" for i in range(len(table))]
    return lab, img, table


def fresh_table(lab, img, hist):
    """What measuring the edited labels from scratch gives (measurement columns)."""
    t = measure_cells(lab, img, NAMES, 0.5)
    return t, hist.table[t.columns]


def assert_consistent(lab, img, hist):
    full, ours = fresh_table(lab, img, hist)
    pd.testing.assert_frame_equal(ours, full, check_exact=False, rtol=1e-9, atol=1e-6)


def test_delete_merge_split_then_undo_all():
    lab, img, table = scene()
    lab0, table0 = lab.copy(), table.copy()
    h = EditHistory(lab, img, NAMES, 0.5, table)
    h.table = qc.set_status(h.table, [7], "accepted")
    accepted = h.table.copy()

    e = h.delete(3)
    assert 3 not in lab and 3 not in h.table.cell_id.tolist()
    assert e.kind == "delete"
    assert_consistent(lab, img, h)

    h.merge(7, 8)
    assert 8 not in lab and (lab == 7).sum() == (lab0 == 7).sum() + (lab0 == 8).sum()
    row7 = h.table.set_index("cell_id").loc[7]
    assert row7["qc_status"] == "accepted" and row7["class"] == accepted.set_index(
        "cell_id").loc[7, "class"]
    assert_consistent(lab, img, h)

    r0, r1, c0, c1 = cell_box(lab, 13)
    mid = (c0 + c1) / 2
    e = h.split(13, np.array([[r0 - 3, mid], [r1 + 3, mid + 1]]))
    new = [t for t in e.touched if t != 13]
    assert len(new) == 1 and new[0] == int(lab0.max()) + 1
    assert (lab == 13).sum() + (lab == new[0]).sum() == (lab0 == 13).sum()
    parent = h.table.set_index("cell_id").loc[13, "class"]
    assert h.table.set_index("cell_id").loc[new[0], "class"] == parent
    assert_consistent(lab, img, h)

    for _ in range(3):
        assert h.undo() is not None
    assert h.undo() is None
    np.testing.assert_array_equal(lab, lab0)
    pd.testing.assert_frame_equal(h.table, accepted)
    pd.testing.assert_frame_equal(h.table.drop(columns="qc_status"),
                                  table0.drop(columns="qc_status"))


def test_after_paint_updates_touched_rows():
    lab, img, table = scene()
    h = EditHistory(lab, img, NAMES, 0.5, table)
    before = h.table.copy()
    r0, _r1, c0, c1 = cell_box(lab, 5)
    lab[r0:r0 + 4, c0:c1][lab[r0:r0 + 4, c0:c1] == 5] = 99  # paint part of 5 with a new id
    h.after_paint((r0, r0 + 4, c0, c1), [5, 99], parents={99: 5})
    assert 99 in h.table.cell_id.tolist()
    assert h.table.set_index("cell_id").loc[99, "class"] == before.set_index(
        "cell_id").loc[5, "class"]
    assert_consistent(lab, img, h)
    lab[lab == 99] = 0  # erase it
    h.after_paint((r0, r0 + 4, c0, c1), [99])
    assert 99 not in h.table.cell_id.tolist()
    # two strokes: two paint marks in the undo order, pixels are napari's to undo
    assert [e.kind for e in h.undo_stack] == ["paint", "paint"]
    assert h.undo_stack[-1].touched == (99,)
    # untouched rows untouched
    others = ~before.cell_id.isin([5, 99])
    pd.testing.assert_frame_equal(
        h.table.loc[h.table.cell_id.isin(before.cell_id[others])].reset_index(drop=True),
        before.loc[others].reset_index(drop=True))


def test_bad_edits():
    lab, img, table = scene()
    h = EditHistory(lab, img, NAMES, 0.5, table)
    with pytest.raises(DvpInputError, match="two different"):
        h.merge(4, 4)
    with pytest.raises(DvpInputError, match="not in the cell table"):
        h.delete(999)
    r0, _r1, c0, _c1 = cell_box(lab, 4)
    with pytest.raises(DvpInputError, match="does not cut"):
        h.split(4, np.array([[r0 + 2, c0 + 2], [r0 + 4, c0 + 5]]))
    with pytest.raises(DvpInputError, match="2-D array"):
        EditHistory(lab[None], img, NAMES, 0.5, table)
    assert not h.undo_stack


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(st.sampled_from(["delete", "merge", "split"]),
                              st.integers(1, 25), st.integers(1, 25), st.floats(0, 1)),
                    min_size=1, max_size=5))
def test_random_edits_undo_exactly(ops):
    lab, img, table = scene(1)
    lab0, table0 = lab.copy(), table.copy()
    h = EditHistory(lab, img, NAMES, 0.5, table)
    done = 0
    for kind, a, b, frac in ops:
        ids = h.table.cell_id.tolist()
        a, b = ids[(a - 1) % len(ids)], ids[(b - 1) % len(ids)]
        try:
            if kind == "delete":
                h.delete(a)
            elif kind == "merge":
                h.merge(a, b)
            else:
                r0, r1, c0, c1 = cell_box(lab, a)
                r = r0 + frac * (r1 - r0)
                h.split(a, np.array([[r, c0 - 2], [r, c1 + 2]]))
        except DvpInputError:
            continue  # e.g. merge with itself, a line that does not cut
        done += 1
        assert_consistent(lab, img, h)
    lab_end, table_end = lab.copy(), h.table.copy()
    for _ in range(done):
        h.undo()
    np.testing.assert_array_equal(lab, lab0)
    pd.testing.assert_frame_equal(h.table, table0)
    for _ in range(done):
        assert h.redo() is not None
    assert h.redo() is None
    np.testing.assert_array_equal(lab, lab_end)
    pd.testing.assert_frame_equal(h.table, table_end)


def test_undo_redo_in_order_with_strokes():
    """Edits and paint strokes are undone last-first; a new edit forgets the redo list."""
    lab, img, table = scene()
    h = EditHistory(lab, img, NAMES, 0.5, table)
    lab0, table0 = lab.copy(), h.table.copy()
    h.delete(4)
    r0, _r1, c0, c1 = cell_box(lab, 5)
    painted = lab[r0:r0 + 3, c0:c1].copy()
    lab[r0:r0 + 3, c0:c1][painted == 5] = 0  # a stroke of the eraser
    h.after_paint((r0, r0 + 3, c0, c1), [5])
    h.merge(6, 7)
    after_all = lab.copy(), h.table.copy()
    assert [e.kind for e in h.undo_stack] == ["delete", "paint", "merge"]

    assert h.undo().kind == "merge"
    mark = h.undo()
    assert mark.kind == "paint" and mark.touched == (5,)
    lab[r0:r0 + 3, c0:c1] = painted  # what napari's own undo does with the pixels
    h.after_paint(mark.box, mark.touched, record=False)
    assert h.undo().kind == "delete"
    np.testing.assert_array_equal(lab, lab0)
    pd.testing.assert_frame_equal(h.table, table0, atol=1e-6)  # cell 5 re-measured in a box
    assert_consistent(lab, img, h)

    assert h.redo().kind == "delete"
    mark = h.redo()
    assert mark.kind == "paint"
    lab[r0:r0 + 3, c0:c1][painted == 5] = 0  # napari's redo
    h.after_paint(mark.box, mark.touched, record=False)
    assert h.redo().kind == "merge"
    np.testing.assert_array_equal(lab, after_all[0])
    pd.testing.assert_frame_equal(h.table, after_all[1], atol=1e-6)

    h.undo()
    h.delete(8)
    assert h.redo() is None, "a new edit forgets what could be redone"


def test_decisions_undo_and_redo_with_the_edits():
    lab, img, table = scene()
    h = EditHistory(lab, img, NAMES, 0.5, table)
    h.set_status([3], "rejected")
    h.delete(4)
    status = h.table.set_index("cell_id")["qc_status"]
    assert status[3] == "rejected" and 4 not in status.index
    assert h.undo().kind == "delete"
    assert h.undo().description == "cell 3 rejected"
    pd.testing.assert_frame_equal(h.table, table)
    assert h.redo().kind == "decide"
    assert h.table.set_index("cell_id").loc[3, "qc_status"] == "rejected"
    h.use_table(h.table.assign(region="dermis"))  # another step added a column meanwhile
    assert h.undo().kind == "decide"
    row = h.table.set_index("cell_id").loc[3]
    assert row["qc_status"] == table.set_index("cell_id").loc[3, "qc_status"]
    assert row["region"] == "dermis", "a column added since the decision is kept"
