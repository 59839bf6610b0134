"""A 6-slide synthetic study end to end: plan, plates, LMD per slide, MS, statistics, maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_dvp.core.errors import DvpInputError

from ._study_data import build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return build(tmp_path_factory.mktemp("study"), n=6, size=256)


# ------------------------------------------------------------------ plan and plates
def test_plan_has_every_slide_class_and_replicate(data):
    plan, study = data["plan"], data["study"]
    s = plan[plan["kind"] == "sample"]
    assert set(s["slide"]) == set(study.names())
    assert s["sample_id"].is_unique
    rec = study.get("TEN1")
    t = s[s["slide"] == "TEN1"]
    assert set(t["patient"]) == {rec.patient} and set(t["condition"]) == {"TEN"}
    assert set(t["class"]) <= {"keratinocyte", "CD8 T cell", "macrophage", "fibroblast"}
    assert set(t["replicate"]) == {1, 2}
    kera = t[t["class"] == "keratinocyte"]
    assert (kera["n_cells"] == 10).all()  # balanced by cell count
    assert all(len(ids) == n for ids, n in zip(s["cell_ids"], s["n_cells"], strict=True))
    assert "age" in plan.columns and "drug" in plan.columns


def test_plate_layout_rules(data):
    plan, params = data["plan"], data["params"]
    assert plan.groupby("plate")["well"].apply(lambda w: w.is_unique).all()
    edge_rows, edge_cols = {"A", "P"}, {1, 24}
    assert not plan["well"].str[0].isin(edge_rows).any()
    assert not plan["well"].str[1:].astype(int).isin(edge_cols).any()
    per_plate = plan.groupby("plate")["kind"].value_counts().unstack(fill_value=0)
    assert (per_plate["blank"] == params.blanks).all() and (per_plate["qc"] == params.qc).all()


def _many_samples(n_per_cond=(60, 40, 20), seed=0):
    rows = []
    for cond, n in zip(("TEN", "MDE", "healthy"), n_per_cond, strict=True):
        rows += [{"sample_id": f"{cond}-{k}", "kind": "sample", "slide": f"{cond}{k % 3}",
                  "patient": f"{cond}{k % 3}", "condition": cond, "class": "keratinocyte",
                  "region": "epidermis", "replicate": 1, "plate": 0, "well": "", "n_cells": 1,
                  "area_um2": 1.0, "cell_ids": (k + 1,)} for k in range(n)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("layout", ["blocked", "randomised"])
def test_condition_is_balanced_across_plates_rows_and_columns(layout):
    from napari_dvp.core.study.params import StudyPlanParams
    from napari_dvp.core.study.plan import balance_table, confounding_p, layout_plates

    samples = _many_samples()
    plan = layout_plates(samples, StudyPlanParams(plate="96", layout=layout, blanks=2, qc=1))
    s = plan[plan["kind"] == "sample"]
    assert len(s) == 120 and plan["plate"].nunique() == 3  # 57 sample wells per plate
    # every plate holds the conditions in proportion (60:40:20 -> 20:13-14:6-7 per plate)
    by_plate = balance_table(plan, "plate")
    expected = np.array([60, 40, 20]) / 3
    assert (np.abs(by_plate[["TEN", "MDE", "healthy"]].to_numpy() - expected) <= 1).all()
    for by in ("plate", "row", "column"):
        assert confounding_p(plan, by) > 0.2, (layout, by, balance_table(plan, by))
    if layout == "blocked":  # each full row (10 wells) holds every condition
        rows = s.groupby(["plate", s["well"].str[0]])["condition"]
        full = rows.size() >= 10
        assert (rows.nunique()[full] == 3).all()


def test_confounded_layout_is_detected():
    """The check itself can fail: conditions filled one after the other are confounded."""
    from napari_dvp.core.study.plan import confounding_p

    samples = _many_samples()
    wells = [f"{chr(66 + i // 10)}{2 + i % 10}" for i in range(120)]
    plan = samples.assign(plate=[1 + i // 60 for i in range(120)],
                          well=[wells[i % 60] for i in range(120)])
    assert confounding_p(plan, "plate") < 1e-6
    assert confounding_p(plan, "row") < 1e-3


def test_layout_refusals():
    from napari_dvp.core.study.params import StudyPlanParams
    from napari_dvp.core.study.plan import layout_plates

    with pytest.raises(DvpInputError, match="no room"):
        layout_plates(_many_samples(), StudyPlanParams(plate="96", blanks=40, qc=40))
    with pytest.raises(DvpInputError, match="no sample"):
        layout_plates(_many_samples().iloc[:0], StudyPlanParams())


def test_plan_files(data):
    from napari_dvp.core.study.plate import read_plan

    folder = data["study"].plan_dir
    names = {p.name for p in folder.iterdir()}
    assert {"study_plan.parquet", "plan.csv", "plate_map.csv", "plate_1_grid.csv",
            "plate_1.png"} <= names
    back = read_plan(folder)
    pd.testing.assert_series_equal(back["cell_ids"], data["plan"]["cell_ids"],
                                   check_dtype=False)
    pm = pd.read_csv(folder / "plate_map.csv", dtype=str, keep_default_na=False)
    assert len(pm) == len(data["plan"]) and {"plate", "well", "condition"} <= set(pm.columns)
    grid = pd.read_csv(folder / "plate_1_grid.csv", index_col=0, dtype=str,
                       keep_default_na=False)
    assert grid.shape == (16, 24)
    assert (grid.to_numpy() != "").sum() == int((data["plan"]["plate"] == 1).sum())


# ------------------------------------------------------------------ LMD export
def test_one_lmd_file_per_slide_one_manifest(data):
    study, manifest = data["study"], data["manifest"]
    folders = sorted(p.name for p in study.lmd_dir.iterdir() if p.is_dir())
    assert folders == sorted(study.names())
    for slide in study.names():
        assert (study.lmd_dir / slide / f"{slide}.xml").is_file()
    assert {"slide", "patient", "condition", "plate", "well", "cell_ids"} <= set(manifest)
    s = data["plan"][data["plan"]["kind"] == "sample"]
    assert set(manifest["sample_id"]) == set(s["sample_id"])
    wells = manifest.set_index("sample_id")["well"]
    assert (wells.reindex(s["sample_id"]).to_numpy() == s["well"].to_numpy()).all()


def test_each_slide_uses_its_own_calibration(data):
    """Two slides with different marks give different stage coordinates for one cell."""
    from napari_dvp.core.study.export import slide_calibration

    study = data["study"]
    a, b = slide_calibration(study, "TEN1"), slide_calibration(study, "MDE1")
    assert not np.allclose(a.marks_rc, b.marks_rc)
    study.get("MDE1").calibration = None
    with pytest.raises(DvpInputError, match="no LMD calibration"):
        slide_calibration(study, "MDE1")
    study.get("MDE1").calibration = b.marks_rc.tolist()


# ------------------------------------------------------------------ MS and statistics
def test_ms_matched_with_design_columns(data):
    ps = data["ps"]
    obs = ps.processed.obs
    assert len(obs) == len(data["manifest"])
    assert {"slide", "patient", "condition", "class"} <= set(obs.columns)
    assert ps.report.unmatched_runs and all("blank" in r for r in ps.report.unmatched_runs)


def test_planted_effect_recovered_and_absent_elsewhere(data):
    from napari_dvp.core.proteomics.genesets import interferon_genes
    from napari_dvp.core.study.compare import compare_conditions, recovery

    ps, ifn = data["ps"], interferon_genes()
    for ct in ("keratinocyte", "CD8 T cell", "macrophage"):
        cmp = compare_conditions(ps.processed, "TEN", "MDE", ct)
        assert cmp.attrs["design"] == "patient-mean"
        assert (cmp.attrs["n_patients_a"], cmp.attrs["n_patients_b"]) == (3, 2)
        r = recovery(cmp, ifn)
        assert r["recall"] > 0.8, (ct, r)
        assert 1.5 < r["median_log2_fc_planted"] < 3.0
        assert r["fdp"] < 0.25, (ct, r)
    r = recovery(compare_conditions(ps.processed, "TEN", "MDE", "fibroblast"), ifn)
    assert r["planted_found"] == 0 and r["false_positives"] <= 3


def test_patient_is_the_unit_not_the_sample(data):
    """Counting replicate samples as independent calls more (pseudo-replication)."""
    from napari_dvp.core.study.compare import compare_conditions

    ps = data["ps"]
    pm = compare_conditions(ps.processed, "TEN", "MDE", "fibroblast")
    smp = compare_conditions(ps.processed, "TEN", "MDE", "fibroblast", design="samples")
    assert int(smp["n_a"].max()) > int(pm["n_a"].max())
    assert pm.attrs["label"].startswith("moderated t on patient means")


def _crossed():
    """6 patients, each with both conditions (2 replicates): a patient effect of sd 1."""
    import anndata as ad

    rng = np.random.default_rng(3)
    n_p, n_prot = 6, 300
    obs = pd.DataFrame([(f"P{p}", c, "keratinocyte") for p in range(n_p)
                        for c in ("lesional", "non-lesional") for _ in range(2)],
                       columns=["patient", "condition", "class"])
    obs.index = [f"s{i}" for i in range(len(obs))]
    patient = rng.normal(0, 1.0, (n_p, n_prot))
    X = 20 + patient[obs["patient"].str[1:].astype(int)] + rng.normal(0, 0.2, (len(obs), n_prot))
    X[np.ix_((obs["condition"] == "lesional").to_numpy(), np.arange(20))] += 1.0
    var = pd.DataFrame({"gene": [f"G{j}" for j in range(n_prot)]},
                       index=[f"p{j}" for j in range(n_prot)])
    return ad.AnnData(X=X, obs=obs, var=var)


def test_paired_and_ols_use_the_patient_as_a_block():
    from napari_dvp.core.study.compare import compare_conditions

    adata = _crossed()
    auto = compare_conditions(adata, "lesional", "non-lesional", "keratinocyte")
    assert auto.attrs["design"] == "paired"
    ols = compare_conditions(adata, "lesional", "non-lesional", "keratinocyte", design="ols")
    naive = compare_conditions(adata, "lesional", "non-lesional", "keratinocyte",
                               design="samples")
    for res in (auto, ols):
        hits = set(res.index[res["q"] <= 0.05])
        truth = {f"p{j}" for j in range(20)}
        assert truth <= hits and len(hits - truth) <= 2
        assert np.allclose(res["log2_fc"].iloc[:20], 1.0, atol=0.35)
    # ignoring the patient block loses most of the effect (patient sd 1 >> noise 0.2)
    assert (naive["q"].iloc[:20] <= 0.05).sum() < (auto["q"].iloc[:20] <= 0.05).sum()
    import statsmodels.formula.api as smf

    df = pd.DataFrame({"y": np.asarray(adata.X)[:, 0], **adata.obs})
    ref = smf.ols("y ~ C(condition, Treatment('non-lesional')) + C(patient)", df).fit()
    assert ols["log2_fc"].iloc[0] == pytest.approx(ref.params.iloc[1])
    assert ols["p"].iloc[0] == pytest.approx(ref.pvalues.iloc[1])


def test_anova_across_conditions(data):
    from napari_dvp.core.proteomics.genesets import interferon_genes
    from napari_dvp.core.study.compare import anova_conditions

    table, _tukey = anova_conditions(data["ps"].processed, "keratinocyte")
    assert {"mean TEN", "mean MDE", "mean healthy"} <= set(table.columns)
    ifn = table["gene"].isin(interferon_genes())
    # 3 TEN, 2 MDE, 1 healthy patient: 3 residual df, so test the raw p (power is low)
    assert (table.loc[ifn, "p"] <= 0.05).mean() > 0.5
    assert (table.loc[~ifn, "p"] <= 0.05).mean() < 0.10


def test_compare_refusals(data):
    from napari_dvp.core.study.compare import compare_conditions

    ad_ = data["ps"].processed
    with pytest.raises(DvpInputError, match="cell type 'neuron'"):
        compare_conditions(ad_, "TEN", "MDE", "neuron")
    with pytest.raises(DvpInputError, match="no XYZ sample"):
        compare_conditions(ad_, "TEN", "XYZ", "keratinocyte")
    with pytest.raises(DvpInputError, match="design"):
        compare_conditions(ad_, "TEN", "MDE", "keratinocyte", design="magic")


# ------------------------------------------------------------------ maps and views
def test_every_slide_painted_with_one_scale(data):
    from napari_dvp.core.progress import run_to_end
    from napari_dvp.core.study.paint import paint_slides, slides_figure, study_limits
    from napari_dvp.core.study.slides import slide_data

    study, ps, manifest = data["study"], data["ps"], data["manifest"]
    values = ps.protein("STAT1")
    images = run_to_end(paint_slides(study, manifest, values))
    assert set(images) == set(study.names())
    lim = study_limits(values)
    assert lim[0] == -lim[1] > -np.inf
    for slide, img in images.items():
        labels, _ = slide_data(study, slide)
        sub = manifest[manifest["slide"] == slide].iloc[0]
        cell = int(sub["cell_ids"].split(";")[0])
        assert np.allclose(img[np.asarray(labels) == cell], values[sub["sample_id"]])
        assert np.isnan(img[np.asarray(labels) == 0]).all()
    fig = slides_figure(images, lim, "STAT1", study)
    assert len(fig.axes) >= len(images) + 1
    # one scale: every panel uses the same norm limits
    norms = {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in fig.axes if ax.images}
    assert norms == {lim}


def test_heatmap_and_pca(data):
    from napari_dvp.core.study.compare import compare_conditions
    from napari_dvp.core.study.views import pathway_heatmap, pca_figure, volcano_figure

    sz, pz, f1, f2 = pathway_heatmap(data["ps"])
    assert any(c.startswith("TEN · keratinocyte · ") for c in sz.columns)
    assert np.allclose(np.nanmean(sz.to_numpy(), axis=1), 0, atol=1e-9)
    assert len(pz) <= 40 and f1.axes and f2.axes
    res, fig = pca_figure(data["ps"])
    assert res.scores.shape[1] == 2 and len(fig.subfigs) == 2
    cmp = compare_conditions(data["ps"].processed, "TEN", "MDE", "keratinocyte")
    assert "TEN vs MDE" in volcano_figure(cmp).axes[0].get_title()


def test_progress_after_the_whole_chain(data):
    from napari_dvp.core.study.slides import progress

    p = progress(data["study"])
    assert p[["segmented", "classified", "planned", "exported", "measured"]].all().all()
