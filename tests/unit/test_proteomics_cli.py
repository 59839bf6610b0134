"""``napari-dvp proteins`` and ``napari-dvp score`` through the real CLI entry point."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from napari_dvp.cli import main
from napari_dvp.core.proteomics.synthetic import planted_up, synthetic_pg_matrix, write_pg_matrix


def _manifest():
    rows = []
    classes = ["keratinocyte", "CD8 T cell", "macrophage", "fibroblast"]
    for k in range(16):
        rows.append({"sample_id": f"TEN_{k:02d}", "well": f"{'CDEF'[k // 4]}{3 + k % 4}",
                     "class": classes[k % 4], "region": ["epidermis", "blister"][k // 8],
                     "replicate": 1, "n_cells": 2, "area_um2": 50.0, "n_shapes": 2,
                     "cell_ids": f"{2 * k + 1};{2 * k + 2}"})
    return pd.DataFrame(rows)


def test_proteins_command(shared_data, tmp_path, capsys):
    out = tmp_path / "matrix.csv"
    rc = main(["proteins", str(shared_data / "proteomics" / "diann_report.pg_matrix.tsv"),
               "--out", str(out)])
    assert rc == 0
    m = pd.read_csv(out)
    assert m.shape == (10, 6 + 20) and m["gene"].iloc[0] == "HDLBP"
    assert "20 runs" in capsys.readouterr().out
    h5 = tmp_path / "m.h5ad"
    assert main(["proteins", str(shared_data / "proteomics" / "maxquant_proteinGroups.txt"),
                 "--out", str(h5)]) == 0
    assert h5.is_file()


def test_score_command(tmp_path, capsys):
    man = _manifest()
    man.to_csv(tmp_path / "manifest.csv", index=False)
    write_pg_matrix(synthetic_pg_matrix(man, seed=4), tmp_path / "TEN.pg_matrix.tsv")
    gmt = tmp_path / "sets.gmt"
    gmt.write_text("MINE\tmine\tSTAT1\tSTAT2\tIRF9\tJAK2\n")
    rc = main(["score", str(tmp_path / "TEN.pg_matrix.tsv"), "--manifest",
               str(tmp_path / "manifest.csv"), "--out", str(tmp_path / "scores.csv"),
               "--gene-sets", str(gmt), "--proteins", "STAT1", "--min-members", "2"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "16 MS run(s) matched" in text and "TEN_blank_01" in text
    s = pd.read_csv(tmp_path / "scores.csv").set_index("sample_id")
    up = planted_up(man, pd.Series(man["region"].eq("blister").to_numpy(),
                                   index=man["sample_id"]))
    up = up.reindex(s.index).to_numpy()
    assert s.loc[up, "MINE"].min() > s.loc[~up, "MINE"].max()
    ok = s["STAT1 (z)"].notna()
    assert np.corrcoef(s.loc[ok, "MINE"], s.loc[ok, "STAT1 (z)"])[0, 1] > 0.5
    cov = pd.read_csv(tmp_path / "scores.coverage.csv")
    assert cov.loc[0, "n_in_set"] == 4 and cov.loc[0, "n_found"] >= 3
    mem = pd.read_csv(tmp_path / "scores.members.csv", keep_default_na=False)
    assert len(mem) == 16 and (mem["scored"] == (mem["members_measured"] >= 2)).all()
    assert cov.loc[0, "samples_scored"] == mem["scored"].sum()
    # the same run with the default (5 members) scores no sample of a 4-gene set: said so
    capsys.readouterr()
    assert main(["score", str(tmp_path / "TEN.pg_matrix.tsv"), "--manifest",
                 str(tmp_path / "manifest.csv"), "--out", str(tmp_path / "s5.csv"),
                 "--gene-sets", str(gmt)]) == 0
    assert "no sample has 5 measured members" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "s5.csv")["MINE"].isna().all()
    meta = json.loads((tmp_path / "scores.meta.json").read_text())
    assert meta["log2"]["input_is_log2"] is True and meta["processing"]["log2_applied"] is True
    matches = pd.read_csv(tmp_path / "scores.matches.csv")
    assert (matches["status"] == "matched").sum() == 16


def test_score_command_bad_input(tmp_path, capsys):
    man = _manifest()
    man.drop(columns=["cell_ids"]).to_csv(tmp_path / "manifest.csv", index=False)
    write_pg_matrix(synthetic_pg_matrix(_manifest(), seed=4, n_proteins=500),
                    tmp_path / "t.tsv")
    rc = main(["score", str(tmp_path / "t.tsv"), "--manifest", str(tmp_path / "manifest.csv"),
               "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and "cell_ids" in err and len(err.strip().splitlines()) == 1
    man.to_csv(tmp_path / "manifest.csv", index=False)
    gmt = tmp_path / "none.gmt"
    gmt.write_text("EMPTY\tx\tNOTAGENE1\tNOTAGENE2\n")
    rc = main(["score", str(tmp_path / "t.tsv"), "--manifest", str(tmp_path / "manifest.csv"),
               "--out", str(tmp_path / "s.csv"), "--gene-sets", str(gmt)])
    assert rc == 2 and "no protein in the data" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()
    rc = main(["proteins", str(gmt), "--out", str(tmp_path / "x.csv")])
    assert rc == 2
