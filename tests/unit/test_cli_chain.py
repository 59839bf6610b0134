"""The README's command-line chain, end to end, on a small synthetic biopsy.

sample -> info -> segment -> measure -> regions -> classify -> export-lmd ->
(synthetic mass spec) -> proteins -> score: the same core functions as the widgets,
each step reading the previous step's files.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from napari_dvp.cli import main
from napari_dvp.core.classes.gating import GateRule, GatingScheme, save_gating
from napari_dvp.core.proteomics.synthetic import synthetic_pg_matrix, write_pg_matrix


@pytest.mark.slow
def test_cli_chain_from_slide_to_scores(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", "--out", "ten.ome.tif", "--size", "512", "--seed", "3"]) == 0
    assert main(["info", "ten.ome.tif", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["channels"][0] == "DAPI"
    assert main(["segment", "ten.ome.tif", "--out", "cells.zarr", "--backend", "builtin",
                 "--cyto-channel", "all"]) == 0
    assert main(["measure", "ten.ome.tif", "cells.zarr", "--out", "cells.parquet"]) == 0
    # each step writes a new table: napari-dvp never writes over its input
    assert main(["regions", "cells.parquet", "ten_regions.geojson", "-o",
                 "cells_regions.parquet"]) == 0
    save_gating("gating.json", GatingScheme(
        [GateRule("keratinocyte", "panCK+"), GateRule("CD8 T cell", "CD8+ and panCK-"),
         GateRule("macrophage", "CD163+ and CD8-")],
        {"panCK": 700.0, "CD8": 250.0, "CD163": 450.0}))
    assert main(["classify", "cells_regions.parquet", "--rules", "gating.json", "-o",
                 "cells_classes.parquet"]) == 0
    cells = pd.read_parquet("cells_classes.parquet")
    assert {"region", "class", "area_um2", "qc_status"} <= set(cells.columns)
    assert (cells["class"] == "keratinocyte").sum() > 50

    # the pathologist's pick: 20 keratinocytes of the epidermis, all macrophages
    usable = ~cells["qc_flagged"]  # flagged cells nobody accepted are never cut
    ker = cells[usable & (cells["class"] == "keratinocyte") & (cells["region"] == "epidermis")]
    mac = cells[usable & (cells["class"] == "macrophage")]
    assert len(ker) >= 20 and len(mac) >= 3
    flagged = int(cells.loc[cells["qc_flagged"], "cell_id"].iloc[0])
    pd.concat([pd.DataFrame({"cell_id": ker["cell_id"].head(20), "sample": "KER_1"}),
               pd.DataFrame({"cell_id": [flagged], "sample": "KER_1"}),
               pd.DataFrame({"cell_id": mac["cell_id"], "sample": "MAC_1"})]
              ).to_csv("selection.csv", index=False)
    assert main(["export-lmd", "--labels", "cells.zarr", "--selection", "selection.csv",
                 "--calibration", "10,10;10,500;500,250", "--out", "lmd", "--plate", "96",
                 "--cells", "cells_classes.parquet"]) == 0
    manifest = pd.read_csv("lmd/manifest.csv")
    assert manifest.set_index("sample_id").at["MAC_1", "n_cells"] == len(mac)
    assert list(manifest["sample_id"]) == ["KER_1", "MAC_1"]
    ker_row = manifest.set_index("sample_id").loc["KER_1"]
    # the flagged, never accepted cell was left out, as the widget would
    assert ker_row["n_cells"] == 20
    assert str(flagged) not in ker_row["cell_ids"].split(";")
    assert ker_row["class"] == "keratinocyte" and ker_row["region"] == "epidermis"
    expected_area = cells.set_index("cell_id").loc[ker["cell_id"].head(20), "area_um2"].sum()
    assert ker_row["area_um2"] == pytest.approx(expected_area, rel=1e-6)

    write_pg_matrix(synthetic_pg_matrix(manifest, seed=1, n_proteins=300), "ms.pg_matrix.tsv")
    assert main(["proteins", "ms.pg_matrix.tsv", "--out", "matrix.csv"]) == 0
    assert main(["score", "ms.pg_matrix.tsv", "--manifest", "lmd/manifest.csv",
                 "--out", "scores.csv"]) == 0
    scores = pd.read_csv("scores.csv").set_index("sample_id")
    assert set(scores.index) == {"KER_1", "MAC_1"}
    # the synthetic mass spec plants interferon signalling in immune cells, not in
    # non-lesional keratinocytes: the score must say so
    ifng = "HALLMARK_INTERFERON_GAMMA_RESPONSE"
    assert scores.at["MAC_1", ifng] > scores.at["KER_1", ifng]
