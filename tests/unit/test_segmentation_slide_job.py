"""The Segment dock's job without Qt: segment + measure a slide, the lines said, Cancel."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.segmentation import run_to_end, slide_job
from napari_dvp.core.segmentation.metrics import match_labels
from napari_dvp.core.segmentation.params import (
    BuiltinParams,
    CellposeParams,
    SegmentParams,
)
from napari_dvp.core.segmentation.report import (
    NUCLEI_ONLY,
    TYPICAL_NUCLEUS_UM,
    pixel_size_from_nuclei,
)
from napari_dvp.core.segmentation.scale import NucleusSizeEstimate
from napari_dvp.core.segmentation.slide_job import (
    make_method_backend,
    measure_nucleus_size,
    segment_slide,
    slide_array,
)
from napari_dvp.core.slide.model import pixel_size_rule

from .test_segmentation_builtin import grid_of_cells
from .test_segmentation_realistic import fluorescence_nuclei, he_image


def steps_and_result(gen):
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            return steps, stop.value


def test_nuclei_only_slide_without_pixel_size():
    image, truth = fluorescence_nuclei(size=384, radius=9.0, seed=3)
    steps, result = steps_and_result(segment_slide(
        image[None], False, ["Channel 0"], SegmentParams(), BuiltinParams(), pixel_size_rule(),
        where="nuclei.tif"))
    assert all(len(s) == 3 and isinstance(s[2], str) for s in steps)
    assert any(s[2].startswith("Segmenting: tile") for s in steps)
    assert steps[-1][2].startswith("Measuring cells")
    assert match_labels(result.labels, truth).f1 > 0.9
    assert result.n_cells == int(result.labels.max())
    assert {"area_um2", "mean_Channel 0"} <= set(result.table.columns)
    assert result.channels == ("Channel 0",)
    size, only, hint = result.lines
    assert size.startswith("nucleus diameter estimated from the image") and "(assumed)" in size
    assert only == NUCLEI_ONLY
    assert hint.startswith("nuclei.tif records no pixel size") and "rough estimate" in hint


def test_cells_with_a_cytoplasm_channel_and_a_measured_pixel_size():
    image, truth = grid_of_cells(256, seed=1)
    run = SegmentParams(tile_size=128)
    result = run_to_end(segment_slide(
        image, False, ["DAPI", "panCK"], run, BuiltinParams(nucleus_diameter_um=7),
        pixel_size_rule(recorded=0.5)))
    assert result.channels == ("DAPI", "panCK")
    assert match_labels(result.labels, truth).f1 > 0.9  # cells grown 4 µm by default
    assert result.lines == []  # the size was given, cells grown, the pixel size measured
    assert result.table["area_um2"].median() == pytest.approx(
        np.median(np.bincount(truth.ravel())[1:]) * 0.25, rel=0.35)


def test_he_through_hematoxylin_and_the_size_alone():
    rgb, truth = he_image(seed=4)
    result = run_to_end(segment_slide(rgb, True, ["red", "green", "blue"], SegmentParams(),
                                      BuiltinParams(), pixel_size_rule(user=0.4)))
    assert result.channels == ("hematoxylin",)
    assert match_labels(result.labels, truth).f1 > 0.85
    assert {"mean_hematoxylin", "mean_eosin", "mean_red"} <= set(result.table.columns)
    assert not any("records no pixel size" in line for line in result.lines)
    estimate = measure_nucleus_size(rgb, True, (), SegmentParams(method="cellpose"))
    assert estimate.diameter_px == pytest.approx(result.backend.size_estimate.diameter_px)
    with pytest.raises(DvpInputError, match="RGB is for cellpose"):
        run_to_end(segment_slide(rgb, True, (), SegmentParams(nuclear_channel="RGB"),
                                 BuiltinParams(), pixel_size_rule()))


def test_region_and_polygon_keep_the_cells_inside():
    import shapely

    image, _ = grid_of_cells(256, seed=2)
    triangle = shapely.Polygon([(40, 40), (200, 40), (40, 200)])  # x = col, y = row
    result = run_to_end(segment_slide(
        image, False, ["DAPI", "panCK"], SegmentParams(), BuiltinParams(nucleus_diameter_um=7),
        pixel_size_rule(recorded=0.5), region=(40, 201, 40, 201), polygon=triangle))
    inside = shapely.contains_xy(triangle, result.table["centroid_col"],
                                 result.table["centroid_row"])
    assert 5 < result.n_cells < 60 and inside.all()


def test_cancel_leaves_no_output(tmp_path, monkeypatch):
    monkeypatch.setattr(slide_job, "IN_MEMORY_PIXELS", 1000)  # stitched into a zarr on disk
    image, _ = grid_of_cells(384, seed=0)
    gen = segment_slide(image, False, ["DAPI", "panCK"], SegmentParams(tile_size=128),
                        BuiltinParams(nucleus_diameter_um=7), pixel_size_rule(recorded=0.5),
                        workdir=str(tmp_path))
    while "tile 2 of" not in next(gen)[2]:
        pass
    gen.close()
    assert list(tmp_path.iterdir()) == []


def test_method_backends_take_the_slide_pixel_size():
    builtin = make_method_backend("builtin", BuiltinParams(max_expansion_um=2), 0.25)
    assert builtin.params.pixel_size_um == 0.25 and builtin.expansion_px(2) == 8
    assert BuiltinParams().pixel_size_um == pixel_size_rule().um  # unset: the one rule
    with pytest.raises(DvpInputError, match="pixel_size_um must be > 0"):
        dataclasses.replace(BuiltinParams(), pixel_size_um=0)
    with pytest.raises(DvpInputError, match="Flow threshold"):
        CellposeParams(flow_threshold=float("nan"))


def test_pixel_size_from_nuclei():
    assert pixel_size_from_nuclei(NucleusSizeEstimate(14.0, 200, "high", 1.3)) == 0.5
    assert pixel_size_from_nuclei(NucleusSizeEstimate(13.0, 0, "none", float("nan"))) is None
    assert pixel_size_from_nuclei(None) is None
    assert TYPICAL_NUCLEUS_UM == 7.0


def test_slide_array_refuses_channels_of_different_sizes():
    a, b = np.zeros((8, 8)), np.zeros((8, 9))
    assert slide_array([a, a], False).shape == (2, 8, 8)
    with pytest.raises(DvpInputError, match="differ in size"):
        slide_array([a, b], False)


@pytest.mark.slow
def test_on_a_local_dask_cluster():
    image, truth = grid_of_cells(256, seed=0)
    result = run_to_end(segment_slide(
        image, False, ["DAPI", "panCK"], SegmentParams(tile_size=128, workers=1),
        BuiltinParams(nucleus_diameter_um=7, max_expansion_um=3), pixel_size_rule(recorded=0.5)))
    assert match_labels(result.labels, truth).f1 > 0.95
