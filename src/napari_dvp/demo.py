"""Run the demo: napari with the synthetic TEN biopsy, every widget, every step.

The output folder follows the output policy (:mod:`napari_dvp.core.outputs`),
written in place so the viewer's layers point at their final files: if the
demo fails or is interrupted, the folder is removed and an earlier one put
back. Ctrl-C while napari runs the steps is a hard stop — Qt would swallow a
``KeyboardInterrupt`` raised inside one of its callbacks (a traceback, then
the demo goes on) — so the handler rolls the output back, stops Xvfb, prints
one line and exits 130 at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ._demo import DemoState, run_all, steps
from .core.errors import DvpInputError


def run_demo(out: Path, headless: bool = False, size: int = 1024, seed: int = 0,
             only: list[str] | None = None, overwrite: bool = False) -> DemoState:
    """Run every demo step on a synthetic sample.

    Parameters
    ----------
    out
        Folder for screenshots and outputs (created).
    headless
        Close the viewer at the end instead of handing it to the user. A virtual
        screen (Xvfb) is started when there is no display.
    size, seed
        Size in pixels and random seed of the synthetic sample.
    only
        Names of the steps to run (default: all).
    overwrite
        Replace an existing output folder (only if napari-dvp wrote all of it).
    """
    if not 256 <= size <= 8192:
        raise DvpInputError(f"--size {size} is outside 256..8192 for the demo; use "
                            "`napari-dvp sample` for bigger slides")
    from .core.outputs import Outputs

    outputs = Outputs("demo", overwrite=overwrite)
    out = outputs.folder(out, "--out", in_place=True)
    with _hard_stop(), outputs:
        from ._xvfb import ensure_display

        ensure_display()
        import napari

        viewer = napari.Viewer(title="napari-dvp demo — synthetic TEN skin biopsy", show=True)
        viewer.window._qt_window.resize(1600, 1000)
        _dock_widgets(viewer)
        state = DemoState(out=out, size=size, seed=seed, viewer=viewer)
        run_all(state, only=only)
        _write_summary(state)
    if headless:
        viewer.close()
    else:
        napari.run()
    return state


@contextlib.contextmanager
def _hard_stop() -> Iterator[None]:
    """Ctrl-C: roll the output back, stop Xvfb, one line, exit 130 — at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from .core.outputs import defer_interrupt

    def stop() -> None:
        from ._xvfb import stop_all
        from .core.outputs import rollback_all

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        rollback_all()
        stop_all()
        os.write(2, b"napari-dvp demo: interrupted; the demo output was removed\n")
        sys.stdout.flush()
        os._exit(130)

    def handler(signum, frame) -> None:
        if not defer_interrupt(stop):
            stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _dock_widgets(viewer) -> None:
    """Dock every napari-dvp widget from the manifest, tabbed together."""
    from npe2 import PluginManager

    pm = PluginManager.instance()
    manifest = pm.get_manifest("napari-dvp")
    widgets = manifest.contributions.widgets or []
    for contribution in widgets:
        viewer.window.add_plugin_dock_widget("napari-dvp", contribution.display_name,
                                             tabify=True)


def summary_line(entry) -> str:
    """A log entry as Markdown: a bullet, or a table between blank lines."""
    if isinstance(entry, tuple) and entry[0] == "table":
        _kind, title, table = entry
        return "\n" + (f"{title}\n\n" if title else "") + table + "\n"
    return f"- {entry}"


def _write_summary(state: DemoState) -> None:
    files = sorted(p.relative_to(state.out) for p in state.out.rglob("*")
                   if p.is_file() and not p.name.startswith("."))
    lines = ["# napari-dvp demo", "", f"Synthetic TEN biopsy {state.size}² px, seed {state.seed}.",
             "", "## Steps", "", *[summary_line(m) for m in state.log], "", "## Files", "",
             *[f"- {f}" for f in files if f.name != "SUMMARY.md"], ""]
    (state.out / "SUMMARY.md").write_text("\n".join(lines), encoding="utf-8")
    state.say(f"demo finished: {len(files)} files in {state.out}")


__all__ = ["run_demo", "steps"]
