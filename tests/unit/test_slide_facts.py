"""What a slide holds, in the words the Slide dock and ``napari-dvp info`` share."""

from __future__ import annotations

import pandas as pd
import pytest

from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.slide.facts import pixel_size_of_table, slide_facts
from napari_dvp.core.slide.model import pixel_size_rule


def test_rows_say_the_stain_size_and_where_the_pixel_size_comes_from():
    facts = slide_facts("he.tif", "brightfield", ("red", "green", "blue"),
                        [(8000, 12000), (4000, 6000)], "uint8", pixel_size_rule(None, 0.25))
    rows = dict(facts.rows())
    assert rows["Stain"] == "Brightfield colour (H&E, IHC)"
    assert rows["Size"] == "12,000 × 8,000 px = 3.00 × 2.00 mm"
    assert rows["Pyramid"] == "2 levels" and rows["Pixel size"] == "0.25 µm (from he.tif)"
    guess = slide_facts("big.tif", "fluorescence", ("a",), [(20000, 20000)], "uint16",
                        pixel_size_rule())
    rows = dict(guess.rows())
    assert rows["Stain"] == "Fluorescence, 1 channel"
    assert "≈ 10.00 × 10.00 mm (if the pixel size is right)" in rows["Size"]
    assert "no pyramid" in rows["Pyramid"]
    assert rows["Pixel size"].startswith("0.5 µm assumed") and "big.tif does not" in \
        rows["Pixel size"]
    assert guess.as_dict()["pixel_size_source"] == "assumed"


def test_pixel_size_of_table():
    table = pd.DataFrame({"centroid_row": [10.0, 20.0, 0.0], "centroid_col": [4.0, 8.0, 3.0]})
    assert pixel_size_of_table(table) is None  # no µm columns
    table["centroid_y_um"] = table.centroid_row * 0.325
    table["centroid_x_um"] = table.centroid_col * 0.325
    assert pixel_size_of_table(table) == 0.325
    text = table.round(1)  # written with few digits
    assert pixel_size_of_table(text.assign(centroid_y_um=[3.25, 6.5, 0.0],
                                           centroid_x_um=[1.3, 2.6, 0.975])) == 0.325
    table.loc[1, "centroid_y_um"] = 20 * 0.5  # two pixel sizes in one table: no answer
    assert pixel_size_of_table(table) is None


def test_the_rule_refuses_nonsense_never_replaces_it():
    assert pixel_size_rule(0.3, 0.5).source == "user"
    with pytest.raises(DvpInputError, match="positive number"):
        pixel_size_rule(float("nan"), 0.5)
