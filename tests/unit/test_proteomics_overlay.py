"""Sample values painted per cell through the labels; synthetic matrix end to end."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.overlay.proteins import SampleOverlay, gather, manifest_cells, symmetric_limits
from napari_dvp.core.proteomics.genesets import bundled_gene_sets, interferon_genes
from napari_dvp.core.proteomics.matching import apply_matches, match_runs
from napari_dvp.core.proteomics.processing import process
from napari_dvp.core.proteomics.readers import read_proteomics
from napari_dvp.core.proteomics.scores import compare_groups, gene_set_scores
from napari_dvp.core.proteomics.synthetic import (
    lesional_samples,
    planted_up,
    synthetic_pg_matrix,
    write_pg_matrix,
)


def _labels_and_manifest(seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros((60, 80), dtype=np.uint32)
    cid = 0
    for r in range(0, 60, 6):
        for c in range(0, 80, 8):
            cid += 1
            labels[r:r + 5, c:c + 7] = cid
    cut = rng.permutation(np.arange(1, cid + 1))[:60].reshape(6, 10)
    man = pd.DataFrame({"sample_id": [f"S{i}" for i in range(6)],
                        "well": ["A1", "A2", "A3", "B1", "B2", "B3"],
                        "class": ["keratinocyte"] * 3 + ["macrophage"] * 3,
                        "region": ["epidermis", "blister", "dermis"] * 2,
                        "cell_ids": [";".join(map(str, row)) for row in cut]})
    return labels, man, cut


def test_overlay_colours_each_cell_with_its_sample_value():
    labels, man, cut = _labels_and_manifest()
    values = pd.Series([1.5, -2.0, np.nan, 0.25, 3.0, -0.5], index=[f"S{i}" for i in range(6)])
    ov = SampleOverlay(labels, man)
    img = ov.paint(values)
    assert img.dtype == np.float32 and img.shape == labels.shape
    for i, row in enumerate(cut):
        for cell in row:
            px = img[labels == cell]
            np.testing.assert_array_equal(px, np.float32(values.iloc[i]))
    uncut = ~np.isin(labels, cut.ravel())
    assert np.isnan(img[uncut]).all()
    # repaint in place into the same buffer
    out = np.empty_like(img)
    ov.paint(values * 2, out=out)
    np.testing.assert_array_equal(out[labels == cut[0, 0]], 3.0)
    cv = ov.cell_values(values).set_index("cell_id")
    assert cv.loc[int(cut[4, 2]), "value"] == pytest.approx(3.0)
    assert ov.describe(int(cut[1, 0])) == {"sample_id": "S1", "class": "keratinocyte",
                                           "region": "blister"}
    assert ov.describe(0) is None


@pytest.mark.parametrize("shape", [(7,), (300, 41), (37, 5, 9), (1000,)])
@pytest.mark.parametrize("threads", [1, 3])
def test_gather_in_bands_equals_take(shape, threads):
    rng = np.random.default_rng(3)
    table = rng.normal(size=11).astype(np.float32)
    index = rng.integers(0, 14, shape).astype(np.uint16)  # 11..13 clip to the last slot
    expect = np.take(table, index, mode="clip")
    out = np.full(shape, -1, np.float32)
    got = gather(table, index, out=out, threads=threads, band_px=50)
    assert got is out
    np.testing.assert_array_equal(out, expect)
    np.testing.assert_array_equal(gather(table, index, band_px=50), expect)
    with pytest.raises(ValueError, match="out must be"):
        gather(table, index, out=np.empty(shape, np.float64))


def test_hover_text_names_sample_and_every_value():
    labels, man, cut = _labels_and_manifest()
    ov = SampleOverlay(labels, man)
    cell = int(cut[4, 2])
    text = ov.hover_text(cell, {"STAT1 (z)": {"S4": 1.234}, "IFN (z)": {"S0": 2.0}})
    assert text == "sample S4 · macrophage · blister · STAT1 (z) = 1.23 · IFN (z) = nan"
    uncut = int(np.setdiff1d(np.unique(labels[labels > 0]), cut)[0])
    assert ov.hover_text(uncut, {}) == f"cell {uncut}: not cut"


def test_overlay_lazy_for_dask_labels():
    labels, man, _cut = _labels_and_manifest()
    values = {f"S{i}": float(i) for i in range(6)}
    lazy = SampleOverlay(da.from_array(labels, chunks=(16, 16)), man).paint(values)
    assert isinstance(lazy, da.Array)
    eager = SampleOverlay(labels, man).paint(values)
    np.testing.assert_array_equal(lazy.compute(), eager)


def test_overlay_bad_manifest_and_limits():
    labels, man, _ = _labels_and_manifest()
    with pytest.raises(DvpInputError, match="no cell ids"):
        SampleOverlay(labels, man.assign(cell_ids=""))
    assert len(manifest_cells(man)) == 60
    assert symmetric_limits([-1.0, 2.5, np.nan]) == (-2.5, 2.5)


def test_synthetic_signal_recovered_end_to_end(tmp_path):
    _, man, _ = _labels_and_manifest()
    man = pd.concat([man, man.assign(sample_id=man["sample_id"] + "b",
                                     well=["C1", "C2", "C3", "D1", "D2", "D3"])],
                    ignore_index=True)
    man["class"] = ["keratinocyte", "keratinocyte", "fibroblast", "CD8 T cell", "macrophage",
                    "fibroblast"] * 2
    lesional = lesional_samples(man)
    assert lesional.sum() == 4  # the "blister" samples
    table = synthetic_pg_matrix(man, seed=2)
    assert {"Protein.Group", "Genes", "First.Protein.Description"} <= set(table.columns)
    assert interferon_genes() <= set(table["Genes"])
    assert any(c.endswith("TEN_run_A1.d") for c in table.columns)
    path = write_pg_matrix(table, tmp_path / "TEN.pg_matrix.tsv")
    a = read_proteomics(path)
    assert a.uns["source"]["format"] == "diann_pg_matrix"
    assert np.isnan(a.X).mean() > 0.02  # realistic missing values
    t = match_runs(a.obs_names, man)
    m, report = apply_matches(a, t, man)
    assert report.n_matched == 12 and len(report.unmatched_runs) == 1  # the blank
    p = process(m)
    res = gene_set_scores(p, bundled_gene_sets())
    up = planted_up(man, lesional).reindex(p.obs_names).to_numpy()
    assert up.sum() == 6 and (~up).sum() == 6
    for name in res.scores.columns:
        s = res.scores[name].to_numpy()
        assert s[up].min() > s[~up].max(), name  # planted up in every right sample
        assert s[up].mean() > 0 > s[~up].mean()
    cmp = compare_groups(p, up, ~up)
    ifn = cmp["gene"].isin(interferon_genes())
    assert (cmp.loc[ifn, "log2_fc"] > 0.5).mean() > 0.95
    assert cmp.loc[~ifn, "log2_fc"].abs().median() < 0.6
