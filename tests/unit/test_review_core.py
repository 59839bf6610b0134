"""Qt-free review helpers moved out of the review widget: next pending cell, layer coordinates."""

import numpy as np

from napari_dvp.core.layer_coords import data_to_world, world_to_data
from napari_dvp.core.review.triage import next_pending


def test_next_pending_walks_after_current_and_wraps():
    ids = [5, 7, 9, 11]
    st = ["pending", "accepted", "pending", "pending"]
    assert next_pending(ids, st, 5) == 2  # 7 is decided
    assert next_pending(ids, st, 11) == 0  # wraps to the top
    assert next_pending(ids, st, 99) == 0  # current not listed: from the top
    assert next_pending([5], ["pending"], 5) is None  # only the current one left
    assert next_pending(ids, ["accepted"] * 4, 5) is None


def test_layer_coordinates_round_trip():
    pts = np.array([[1.0, 2.0], [10.0, 20.0]])
    world = data_to_world(pts, (1, 0.5, 0.25), (0, 100.0, -3.0))
    np.testing.assert_allclose(world, [[100.5, -2.5], [105.0, 2.0]])
    np.testing.assert_allclose(world_to_data(world, (0.5, 0.25), (100.0, -3.0)), pts)


def test_cell_outline_runs_on_the_pixel_edges():
    from napari_dvp.core.review.outline import cell_outline

    lab = np.zeros((20, 30), np.uint16)
    lab[5:9, 10:16] = 3  # a 4 x 6 block
    lab[12:14, 2:4] = 3  # and a second piece
    (first, second) = sorted(cell_outline(lab, 3), key=lambda o: o[:, 0].min())
    np.testing.assert_allclose([first[:, 0].min(), first[:, 0].max()], [4.5, 8.5])
    np.testing.assert_allclose([first[:, 1].min(), first[:, 1].max()], [9.5, 15.5])
    np.testing.assert_allclose(first[0], first[-1])  # closed
    np.testing.assert_allclose([second[:, 0].min(), second[:, 1].max()], [11.5, 3.5])
    assert cell_outline(lab, 7) == []
