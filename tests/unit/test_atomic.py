from __future__ import annotations

import pytest

from napari_dvp.core.atomic import (
    MARKER,
    atomic_dir,
    atomic_path,
    clean_stale,
    unknown_files,
    write_text_atomic,
)
from napari_dvp.core.errors import DvpInputError


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".csv"
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_dir_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "export"
    with pytest.raises(ValueError), atomic_dir(target) as tmp:
        (tmp / "a.xml").write_text("x")
        raise ValueError("bad calibration")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(target) as tmp:
        (tmp / "a.xml").write_text("x")
    assert (target / "a.xml").read_text() == "x"
    with atomic_dir(target) as tmp:
        (tmp / "b.xml").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "b.xml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_atomic_dir_never_deletes_files_it_did_not_write(tmp_path):
    target = tmp_path / "export"
    with atomic_dir(target) as tmp:
        (tmp / "a.xml").write_text("x")
    (target / "notes.txt").write_text("mine")
    with pytest.raises(DvpInputError, match=r"1 file\(s\) napari-dvp did not write.*notes"), \
            atomic_dir(target) as tmp:
        (tmp / "b.xml").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "a.xml", "notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    user = tmp_path / "user"
    user.mkdir()
    (user / "data.csv").write_text("1")
    assert unknown_files(user) == ["data.csv"]
    with pytest.raises(DvpInputError), atomic_dir(user) as tmp:
        (tmp / "b.xml").write_text("y")
    assert (user / "data.csv").read_text() == "1"


def test_clean_stale_removes_only_dead_processes_temporaries(tmp_path):
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".out.csv.{dead}-abcdefgh.partial.csv").write_text("half")
    (tmp_path / f".export.{dead}-abcdefgh.partial").mkdir()
    (tmp_path / f".export.{os.getpid()}-abcdefgh.partial").mkdir()  # ours: running
    (tmp_path / ".hidden-user-file").write_text("keep")
    (tmp_path / "out.csv").write_text("keep")
    removed = clean_stale(tmp_path)
    assert len(removed) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f".export.{os.getpid()}-abcdefgh.partial", ".hidden-user-file", "out.csv"]


def test_write_text_atomic(tmp_path):
    p = write_text_atomic(tmp_path / "sub" / "x.txt", "hello")
    assert p.read_text() == "hello"


def test_permissions_follow_umask_not_tempfile(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        f = write_text_atomic(tmp_path / "m.csv", "x")
        with atomic_dir(tmp_path / "exp") as tmp:
            (tmp / "a").write_text("y")
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "exp").stat().st_mode) == 0o755
