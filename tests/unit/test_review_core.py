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
