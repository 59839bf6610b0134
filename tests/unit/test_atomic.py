from __future__ import annotations

import pytest

from napari_dvp.core.atomic import atomic_dir, atomic_path, write_text_atomic


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
    assert sorted(p.name for p in target.iterdir()) == ["b.xml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


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
