"""CLI: ``napari-dvp classify`` and ``napari-dvp regions`` end to end on files."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_dvp.cli import main
from napari_dvp.core.classes.classifier import CellClassifier, save_classifier
from napari_dvp.core.classes.gating import GatingScheme, parse_rules, save_gating
from napari_dvp.core.geojson import regions_to_features, write_geojson
from napari_dvp.core.regions import Region

from ._classes_data import make_tissue
from .test_gating import RULES


def _cells(tmp_path):
    _, _, table, truth, regions = make_tissue()
    table.to_csv(tmp_path / "cells.csv", index=False)
    return table, truth, regions


def test_classify_with_rules_json(tmp_path, capsys):
    table, truth, _ = _cells(tmp_path)
    save_gating(tmp_path / "g.json", GatingScheme(parse_rules(RULES), {
        "panCK": 400, "CD8": 400, "CD163": 400}))
    rc = main(["classify", str(tmp_path / "cells.csv"), "--rules", str(tmp_path / "g.json"),
               "-o", str(tmp_path / "out.parquet"), "--summary", str(tmp_path / "s.csv")])
    assert rc == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert (out["class"] == truth["true_class"]).mean() > 0.97
    assert "keratinocyte:" in capsys.readouterr().out
    s = pd.read_csv(tmp_path / "s.csv", keep_default_na=False)
    assert s["n_cells"].sum() == len(table)


def test_classify_with_rules_text_and_thresholds(tmp_path, capsys):
    _cells(tmp_path)
    (tmp_path / "rules.txt").write_text("T: CD8+\n")
    rc = main(["classify", str(tmp_path / "cells.csv"), "--rules", str(tmp_path / "rules.txt"),
               "--threshold", "CD8=1e9", "-o", str(tmp_path / "o.csv")])
    assert rc == 0
    assert (pd.read_csv(tmp_path / "o.csv", keep_default_na=False)["class"] == "").all()
    rc = main(["classify", str(tmp_path / "cells.csv"), "--rules", str(tmp_path / "rules.txt"),
               "-o", str(tmp_path / "o.csv"), "--overwrite"])
    assert rc == 0 and "Otsu" in capsys.readouterr().out


def test_classify_with_classifier_and_regions(tmp_path):
    table, truth, regions = _cells(tmp_path)
    ex = dict(zip(truth.groupby("true_class").head(6)["cell_id"],
                  truth.groupby("true_class").head(6)["true_class"], strict=True))
    save_classifier(tmp_path / "c.joblib", CellClassifier(n_estimators=30).train(table, ex))
    write_geojson(tmp_path / "r.geojson",
                  regions_to_features([Region(g, k) for k, g in regions.items()]))
    assert main(["regions", str(tmp_path / "cells.csv"), str(tmp_path / "r.geojson"),
                 "-o", str(tmp_path / "with_regions.csv"), "--pixel-size", "0.5",
                 "--counts", str(tmp_path / "counts.csv")]) == 0
    wr = pd.read_csv(tmp_path / "with_regions.csv", keep_default_na=False)
    assert (wr["region"] == truth["true_region"]).all()
    assert main(["classify", str(tmp_path / "with_regions.csv"), "--classifier",
                 str(tmp_path / "c.joblib"), "-o", str(tmp_path / "o.csv")]) == 0
    out = pd.read_csv(tmp_path / "o.csv", keep_default_na=False)
    assert (out["class"] == truth["true_class"]).mean() > 0.95
    assert np.allclose(out[[c for c in out if c.startswith("prob_")]].sum(axis=1), 1, atol=1e-5)


def test_bad_input_exits_2(tmp_path, capsys):
    table, _, _ = _cells(tmp_path)
    save_classifier(tmp_path / "c.joblib", CellClassifier(n_estimators=5).train(
        table, {1: "a", 2: "b"}))
    table.drop(columns=["mean_CD8"]).to_csv(tmp_path / "other.csv", index=False)
    assert main(["classify", str(tmp_path / "other.csv"), "--classifier",
                 str(tmp_path / "c.joblib"), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "mean_CD8" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()
    (tmp_path / "x.geojson").write_text("<xml/>")
    assert main(["regions", str(tmp_path / "cells.csv"), str(tmp_path / "x.geojson"),
                 "-o", str(tmp_path / "o.csv")]) == 2
    assert "not GeoJSON" in capsys.readouterr().err
    (tmp_path / "r.txt").write_text("T: CD4+\n")
    assert main(["classify", str(tmp_path / "cells.csv"), "--rules", str(tmp_path / "r.txt"),
                 "--threshold", "CD4=3", "-o", str(tmp_path / "o.csv")]) == 2
    assert "unknown marker 'CD4'" in capsys.readouterr().err


def test_table_io_round_trips_every_extension(tmp_path):
    """One reader/writer for all commands: .txt and .tsv are tab-separated both ways."""
    import pandas as pd

    from napari_dvp.core.cells.table_io import read_cell_table, write_table

    t = pd.DataFrame({"cell_id": [1, 2], "centroid_row": [3.0, 4.0],
                      "centroid_col": [5.0, 6.0], "class": ["a", ""]})
    for ext in (".csv", ".tsv", ".txt", ".parquet"):
        write_table(tmp_path / f"t{ext}", t)
        back = read_cell_table(tmp_path / f"t{ext}")
        assert back["class"].tolist() == ["a", ""], ext
        assert back["centroid_col"].tolist() == [5.0, 6.0], ext
    assert "\t" in (tmp_path / "t.txt").read_text()


def test_classify_merges_and_asks_before_replacing_classes(tmp_path, capsys):
    """Classes another step wrote (recorded in .parquet) are kept unless --replace-classes."""
    from napari_dvp.core.cells.table import provenance

    table, truth, _ = _cells(tmp_path)
    table["region"] = truth["true_region"]
    table.to_parquet(tmp_path / "cells.parquet", index=False)
    (tmp_path / "rules.txt").write_text("any cell: panCK+ or panCK-\n")
    assert main(["classify", str(tmp_path / "cells.parquet"), "--rules",
                 str(tmp_path / "rules.txt"), "-o", str(tmp_path / "gated.parquet")]) == 0
    gated = pd.read_parquet(tmp_path / "gated.parquet")
    assert provenance(gated)["class"] == "gating" and "region" in gated
    assert (gated["class"] == "any cell").all()
    ex = truth.groupby("true_class").head(6)
    save_classifier(tmp_path / "c.joblib", CellClassifier(n_estimators=30).train(
        table, dict(zip(ex["cell_id"], ex["true_class"], strict=True))))
    capsys.readouterr()
    args = ["classify", str(tmp_path / "gated.parquet"), "--classifier",
            str(tmp_path / "c.joblib"), "-o", str(tmp_path / "out.parquet")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "classes from gating" in err
    assert "--replace-classes" in err and not (tmp_path / "out.parquet").exists()
    assert main([*args, "--replace-classes"]) == 0
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert provenance(out)["class"] == "classifier" and "class_probability" in out
    assert out["region"].tolist() == gated["region"].tolist(), "other columns kept"
    assert (out["class"] == truth["true_class"]).mean() > 0.95
    # the same step again replaces its own classes without asking
    assert main(["classify", str(tmp_path / "out.parquet"), "--classifier",
                 str(tmp_path / "c.joblib"), "-o", str(tmp_path / "again.parquet")]) == 0


def test_threshold_must_be_a_finite_number(tmp_path, capsys):
    _cells(tmp_path)
    (tmp_path / "rules.txt").write_text("T: CD8+\n")
    for bad in ("CD8=nan", "CD8=inf", "CD8=abc", "=3"):
        assert main(["classify", str(tmp_path / "cells.csv"), "--rules",
                     str(tmp_path / "rules.txt"), "--threshold", bad,
                     "-o", str(tmp_path / "o.csv")]) == 2, bad
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()
