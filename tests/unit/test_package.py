"""The package itself: importable without Qt, manifest valid, CLI alive."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files

from napari_dvp import cli


def test_import_does_not_import_qt_or_napari():
    code = (
        "import sys, napari_dvp, napari_dvp.cli, napari_dvp.core.overlay.lut,"
        " napari_dvp.core.atomic;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PyQt5','PyQt6','PySide2','PySide6','qtpy','napari','magicgui','superqt')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_manifest_ships_inside_package_and_validates():
    text = files("napari_dvp").joinpath("napari.yaml").read_text()
    assert "name: napari-dvp" in text
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("napari-dvp")
    assert manifest.name == "napari-dvp"
    res = subprocess.run([sys.executable, "-m", "npe2", "validate", "napari-dvp"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_cli_help_and_version(capsys):
    assert cli.main(["--version"]) == 0  # main returns argparse's exit code, never raises
    assert "napari-dvp" in capsys.readouterr().out
    assert cli.main([]) == 1


def test_cli_console_script_runs():
    res = subprocess.run([sys.executable, "-m", "napari_dvp", "--help"],
                         capture_output=True, text=True)
    assert res.returncode == 0
    assert "demo" in res.stdout


def test_cli_parser_imports_no_heavy_library():
    """`napari-dvp --help` stays fast: building every sub-command's options imports no
    numerical or imaging library (they are imported inside each command's run).
    The time itself is measured in bench/bench_cli_startup.py, not here."""
    code = (
        "import sys; from napari_dvp.cli import build_parser; build_parser();"
        "heavy = ('numpy', 'pandas', 'scipy', 'dask', 'torch', 'cellpose', 'skimage', 'shapely',"
        " 'anndata', 'sklearn', 'tifffile', 'zarr', 'matplotlib', 'statsmodels');"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & set(heavy));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
