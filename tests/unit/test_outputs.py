"""The output policy's core API (core.outputs): what commands and docks rely on."""

from __future__ import annotations

import json

import pytest

from napari_dvp.core.atomic import MARKER, write_marker
from napari_dvp.core.errors import DvpInputError
from napari_dvp.core.outputs import Outputs, check_output


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_outputs_move_in_together_and_roll_back_on_error(tmp_path):
    (tmp_path / "in.csv").write_text("input")
    (tmp_path / "sub").mkdir()
    with Outputs("t", [tmp_path / "in.csv"]) as out:
        a = out.file(tmp_path / "a.csv")
        b = out.folder(tmp_path / "sub" / "export")
        a.write_text("A")
        b.mkdir()
        (b / "x.xml").write_text("X")
        assert not (tmp_path / "a.csv").exists()  # nothing in place before the end
    assert (tmp_path / "a.csv").read_text() == "A"
    assert json.loads((tmp_path / "sub" / "export" / MARKER).read_text())["files"] == ["x.xml"]
    before = _files(tmp_path)
    with pytest.raises(RuntimeError), Outputs("t", overwrite=True) as out:
        out.file(tmp_path / "a.csv").write_text("B")
        out.file(tmp_path / "c.csv").write_text("C")
        raise RuntimeError("crash")
    assert _files(tmp_path) == before  # no c.csv, no staging, old outputs kept
    assert (tmp_path / "a.csv").read_text() == "A"


def test_in_place_folder_is_restored_on_error(tmp_path):
    with Outputs("demo") as out:
        d = out.folder(tmp_path / "demo", in_place=True)
        (d / "one.png").write_text("1")
    with pytest.raises(KeyboardInterrupt), Outputs("demo", overwrite=True) as out:
        d = out.folder(tmp_path / "demo", in_place=True)
        assert _files(d) == [MARKER]  # a fresh folder while it runs
        (d / "two.png").write_text("2")
        raise KeyboardInterrupt
    assert _files(tmp_path / "demo") == [MARKER, "one.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_half_written_folder_of_a_dead_process_counts_as_ours(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "half.png").write_text("x")
    write_marker(folder, complete=False)
    info = json.loads((folder / MARKER).read_text())
    info["pid"] = 4194305  # above Linux's pid_max: gone
    info["files"] = []
    (folder / MARKER).write_text(json.dumps(info))
    check_output(folder, folder=True, overwrite=True)


def test_check_output_for_docks(tmp_path):
    (tmp_path / "labels.tif").write_text("x")
    with pytest.raises(DvpInputError, match="is the input"):
        check_output(tmp_path / "labels.tif", inputs=[tmp_path / "labels.tif"], overwrite=True)
    with pytest.raises(DvpInputError, match="contains the input"):
        check_output(tmp_path, folder=True, inputs=[tmp_path / "labels.tif"])
    (tmp_path / "export").mkdir()
    check_output(tmp_path / "export", folder=True)  # empty: fine
    (tmp_path / "export" / "notes.txt").write_text("mine")
    with pytest.raises(DvpInputError, match="did not write"):
        check_output(tmp_path / "export", folder=True, overwrite=True)
    with pytest.raises(DvpInputError, match="exists; pass --overwrite"):
        check_output(tmp_path / "labels.tif")
    check_output(tmp_path / "labels.tif", overwrite=True)
