"""Classes and regions against the synthetic TEN sample's ground truth.

The real pipeline: synthetic image + true labels -> measure_cells -> regions /
gating / classifier. Accuracy figures are printed (run with -s) and asserted.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_dvp.core.classes.classifier import CellClassifier
from napari_dvp.core.classes.gating import (
    GatingScheme,
    apply_gating,
    default_thresholds,
    parse_rules,
)
from napari_dvp.core.geojson import features_to_regions, parse_geojson
from napari_dvp.core.measure import measure_cells
from napari_dvp.core.regions import assign_regions
from napari_dvp.core.synthetic import make_sample, regions_geojson

pytestmark = pytest.mark.slow  # a 1024² sample + measurement: a few seconds

RULES = """keratinocyte: panCK+
CD8 T cell: CD8+ and panCK-
macrophage: CD163+ and CD8- and panCK-
fibroblast: panCK- and CD8- and CD163-"""


@pytest.fixture(scope="module")
def sample():
    s = make_sample(1024, seed=0)
    table = measure_cells(s.labels, s.image, s.channel_names, s.pixel_size_um)
    truth = s.cells.set_index("cell_id").loc[table["cell_id"]].reset_index()
    return s, table, truth


def test_regions_equal_ground_truth(sample):
    s, table, truth = sample
    got = assign_regions(table, s.regions)
    agree = (got.to_numpy() == truth["true_region"].astype(str).to_numpy()).mean()
    print(f"\nregion agreement (synthetic 1024², {len(table)} cells): {agree:.4f}")
    assert agree == 1.0
    # the same through the sample's GeoJSON (what QuPath would hand us)
    regs = features_to_regions(parse_geojson(regions_geojson(s.regions)))
    assert (assign_regions(table, regs).to_numpy() == got.to_numpy()).all()


def test_gating_with_otsu_thresholds_recovers_classes(sample):
    _, table, truth = sample
    thr = default_thresholds(table, ["panCK", "CD8", "CD163"])
    got = apply_gating(table, GatingScheme(parse_rules(RULES), thr))
    tc = truth["true_class"].astype(str)
    acc = {c: float((got[tc == c] == c).mean()) for c in sorted(tc.unique())}
    overall = float((got.to_numpy() == tc.to_numpy()).mean())
    print(f"\ngating accuracy overall {overall:.3f}; per class",
          {k: round(v, 3) for k, v in acc.items()})
    assert overall > 0.95
    assert min(acc.values()) > 0.85


def test_classifier_from_few_dozen_examples(sample):
    _, table, truth = sample
    rng = np.random.default_rng(0)
    tc = truth["true_class"].astype(str)
    ex = {}
    for c in sorted(tc.unique()):
        ids = truth.loc[tc == c, "cell_id"].to_numpy()
        for cid in rng.choice(ids, min(10, len(ids)), replace=False):
            ex[int(cid)] = c
    pred = CellClassifier().train(table, ex).predict(table)["class"]
    acc = {c: float((pred[tc == c] == c).mean()) for c in sorted(tc.unique())}
    overall = float((pred.to_numpy() == tc.to_numpy()).mean())
    print(f"\nclassifier accuracy from {len(ex)} examples: overall {overall:.3f}; per class",
          {k: round(v, 3) for k, v in acc.items()})
    assert overall > 0.95
    assert min(acc.values()) > 0.85
