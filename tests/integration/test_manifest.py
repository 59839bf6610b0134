"""Every contribution in napari.yaml points at something that imports and is callable."""

from __future__ import annotations

import importlib


def test_every_manifest_command_imports():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("napari-dvp")
    for command in manifest.contributions.commands or []:
        assert command.python_name, command.id
        module, _, attr = command.python_name.partition(":")
        mod = importlib.import_module(module)
        assert callable(getattr(mod, attr)), command.python_name


def test_widgets_open_in_napari(make_napari_viewer):
    from npe2 import PluginManifest

    viewer = make_napari_viewer()
    manifest = PluginManifest.from_distribution("napari-dvp")
    for widget in manifest.contributions.widgets or []:
        dock, _ = viewer.window.add_plugin_dock_widget("napari-dvp", widget.display_name)
        assert dock is not None, widget.display_name
