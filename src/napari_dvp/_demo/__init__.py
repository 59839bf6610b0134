"""The steps of ``napari-dvp demo``: the whole product on the synthetic TEN sample.

Each module ``_demo/<nn>_<step>.py`` defines ``TITLE`` and ``run(state)``; they
run in file-name order and share one :class:`DemoState`. A step adds layers to
``state.viewer`` (``None`` only when no screen at all is available) and writes
what a person would look at into ``state.out``.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DemoState:
    """What the demo steps hand to each other."""

    out: Path
    size: int = 1024
    seed: int = 0
    viewer: Any = None
    image: Any = None  #: (C, Y, X) numpy array
    channel_names: list[str] = field(default_factory=list)
    pixel_size_um: float = 0.5
    labels: Any = None  #: (Y, X) uint32, the segmentation under review
    cells: Any = None  #: pandas DataFrame, the cell table
    truth: Any = None  #: pandas DataFrame, ground truth of the synthetic sample
    extra: dict[str, Any] = field(default_factory=dict)  #: anything else a later step needs
    log: list[str] = field(default_factory=list)

    def say(self, message: str) -> None:
        """Print a progress line and keep it for the demo's summary."""
        print(f"[demo] {message}", flush=True)
        self.log.append(message)

    def table(self, frame: Any, title: str = "") -> None:
        """Print a table and keep it for the summary as a Markdown table."""
        print(f"[demo] {title}\n{frame.to_string(index=False)}", flush=True)
        self.log.append(("table", title, markdown_table(frame)))

    def dock(self, display_name: str):
        """The napari-dvp widget ``display_name`` (docked once, reused), brought to front."""
        dock, widget = self.viewer.window.add_plugin_dock_widget("napari-dvp", display_name,
                                                                 tabify=True)
        dock.show()
        dock.raise_()
        return widget

    def screenshot(self, name: str, keep: tuple[str, ...] = ()) -> Path | None:
        """Save a screenshot of the viewer window as ``out/name`` (PNG).

        So that each picture shows its own step, the overlays that earlier
        steps added are hidden first (the channel images and the layers named
        in ``keep`` stay as they are).
        """
        if self.viewer is None:
            return None
        seen = self.extra.setdefault("_layers_seen", set())
        for layer in self.viewer.layers:
            if layer.name in seen and layer.name not in self.channel_names \
                    and layer.name not in keep:
                layer.visible = False
        seen.update(layer.name for layer in self.viewer.layers)
        self.viewer.window._qt_window.resize(1600, 1000)
        from qtpy.QtWidgets import QApplication

        for _ in range(3):  # let docked widgets lay out what the step just changed
            QApplication.processEvents()
        path = self.out / name
        self.viewer.screenshot(str(path), canvas_only=False)
        self.say(f"wrote {path.name}")
        return path


def markdown_table(frame: Any) -> str:
    """A pandas DataFrame as a GitHub-flavoured Markdown table (no index)."""
    def cell(v: Any) -> str:
        text = f"{v:,.2f}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in frame.columns]
    numeric = [frame[c].dtype.kind in "iuf" for c in frame.columns]
    rows = ["| " + " | ".join(cols) + " |",
            "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    rows += ["| " + " | ".join(cell(v) for v in rec) + " |"
             for rec in frame.itertuples(index=False)]
    return "\n".join(rows)


def steps() -> list[tuple[str, str, Callable[[DemoState], None]]]:
    """All demo steps as ``(module_name, title, run)`` in order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append((info.name, module.TITLE, module.run))
    return found


def run_all(state: DemoState, only: list[str] | None = None) -> DemoState:
    """Run every step (or the named ones) on ``state`` and return it."""
    for name, title, run in steps():
        if only and not any(name.endswith(o) or o in name for o in only):
            continue
        t0 = time.perf_counter()
        state.say(f"{title} …")
        run(state)
        state.say(f"{title}: done in {time.perf_counter() - t0:.1f} s")
    return state
