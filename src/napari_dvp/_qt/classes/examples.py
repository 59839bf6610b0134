"""Example cells for the classifier: pick a class (number keys 1–9), click cells on the image.

While *Mark examples* is on, the number keys pick the class the next clicks
mark (1–9 = the rows of the class list, 0 = remove marks) and a click (not a
drag) on a cell marks it; the marks are shown as rings in a points layer
(role ``examples``). When it is off, the keys and clicks are napari's again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

import numpy as np
import pandas as pd
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.cells.columns import CELL_ID, COL, ROW
from ...core.classes.overlay import class_color
from .._common import show_info
from .._slide import set_role
from .colors import ClassList, hex_of

__all__ = ["EXAMPLES", "ExamplePicker"]

EXAMPLES = "classifier examples"
CLICK_PX = 4  #: a press and release closer than this (screen pixels) is a click, not a drag


class ExamplePicker(QWidget):
    """Classes (with their keys) and the example cells marked for each.

    Parameters
    ----------
    viewer
        The napari viewer.
    cells
        Returns ``(cells layer, cell table)`` (raises a one-line error when there are none).
    classes
        ``(name, rgb)`` to start with.
    """

    changed = Signal()
    """The examples changed (a cell marked, unmarked or cleared)."""

    def __init__(self, viewer, cells: Callable[[], tuple], classes: Sequence[tuple]) -> None:
        super().__init__()
        self.viewer, self._cells = viewer, cells
        self.examples: dict[int, str] = {}
        self._bound: list[tuple[object, str, object]] = []
        self._erase = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.mark_btn = QPushButton("Mark examples on the image")
        self.mark_btn.setCheckable(True)
        self.mark_btn.setToolTip("While on: press 1–9 to choose a class (0: remove marks), "
                                 "then click cells on the image")
        lay.addWidget(self.mark_btn)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self.classes = ClassList(list(classes), key_column=True)
        self.classes.setMaximumHeight(170)
        lay.addWidget(self.classes)
        row = QHBoxLayout()
        self.add_btn, self.remove_btn = QPushButton("Add class"), QPushButton("Remove class")
        self.remove_btn.setToolTip("Remove the selected class and its example cells")
        self.clear_btn = QPushButton("Clear examples")
        self.clear_btn.setToolTip("Forget every marked example cell")
        for b in (self.add_btn, self.remove_btn, self.clear_btn):
            row.addWidget(b)
        lay.addLayout(row)
        self._names = self.classes.names()
        self.mark_btn.toggled.connect(self.set_marking)
        self.add_btn.clicked.connect(self._add_class)
        self.remove_btn.clicked.connect(self.classes.remove_selected)
        self.clear_btn.clicked.connect(self.clear)
        self.classes.changed.connect(self._classes_changed)
        self.classes.currentCellChanged.connect(lambda *_: self._pick_row())
        self.classes.selectRow(0)
        self._show_hint()

    # ------------------------------------------------------------------ class choice
    def picked(self) -> str | None:
        """The class the next click marks (``None``: the click removes a mark)."""
        row = self.classes.currentRow()
        names = self.classes.names()
        return None if self._erase or not 0 <= row < len(names) else names[row]

    def pick(self, key: int) -> None:
        """Number key ``key``: 1–9 picks that class, 0 makes clicks remove marks."""
        names = self.classes.names()
        if key == 0:
            self._erase = True
        elif key <= len(names):
            self._erase = False
            self.classes.selectRow(key - 1)
        else:
            show_info(f"no class {key}: the list has {len(names)}; add classes first")
        self._show_hint()

    def _pick_row(self) -> None:
        self._erase = False
        self._show_hint()

    def _show_hint(self) -> None:
        if not self.mark_btn.isChecked():
            text = ("Turn on <i>Mark examples</i>, press a class number (1–9) and click a few "
                    "typical cells of each class on the image.")
        else:
            name = self.picked()
            what = ("<b>remove marks</b> (0)" if name is None else
                    f"<b>{escape(name)}</b> ({self.classes.names().index(name) + 1})")
            text = f"Clicks on the image now mark: {what}. Keys 1–9 pick a class, 0 removes."
        counts = pd.Series(list(self.examples.values()), dtype=object).value_counts()
        text += "<br>Examples: " + (", ".join(f"{escape(str(k))} {v}"
                                             for k, v in counts.items()) or "none yet")
        self.hint.setText(text)

    def _add_class(self) -> None:
        n = self.classes.rowCount()
        self.classes.add(f"class {n + 1}", class_color(f"class {n + 1}", n))

    def _classes_changed(self) -> None:
        """Renamed classes keep their examples; removed classes lose theirs."""
        names = self.classes.names()
        if len(names) == len(self._names):
            renamed = dict(zip(self._names, names, strict=True))
            self.examples = {c: renamed.get(n, n) for c, n in self.examples.items()}
        else:
            self.examples = {c: n for c, n in self.examples.items() if n in names}
        self._names = names
        self._show_examples()

    # ------------------------------------------------------------------ marking mode
    def set_marking(self, on: bool) -> None:
        """Start or stop marking: keys 0–9 and clicks on the image belong to the picker."""
        self._unbind()
        if self._on_mouse in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_mouse)
        if on:
            layer, _ = self._cells()
            self.viewer.layers.selection.active = layer
            layer.mode = "pan_zoom"  # a click marks, it does not paint
            for target in (self.viewer, *self.viewer.layers):
                self._bind(target)
            self.viewer.mouse_drag_callbacks.append(self._on_mouse)
            self.viewer.layers.events.inserted.connect(self._bind_inserted)
        if self.mark_btn.isChecked() != on:
            self.mark_btn.setChecked(on)
        self._show_hint()

    def _bind(self, target) -> None:
        # layers bind 1–6 to their modes and win over the viewer: bind on every layer
        for k in range(10):
            prev = target.bind_key(str(k), self._key_handler(k), overwrite=True)
            self._bound.append((target, str(k), prev))

    def _bind_inserted(self, event) -> None:
        self._bind(event.value)

    def _unbind(self) -> None:
        try:
            self.viewer.layers.events.inserted.disconnect(self._bind_inserted)
        except (TypeError, ValueError, RuntimeError):
            pass
        for target, key, prev in reversed(self._bound):
            target.bind_key(key, prev, overwrite=True)
        self._bound.clear()

    def _key_handler(self, k: int):
        def handler(_target):
            self.pick(k)

        handler.__doc__ = f"napari-dvp classifier: clicks mark class {k} (0: remove marks)"
        return handler

    def _on_mouse(self, viewer, event):
        if event.button != 1 or event.modifiers:
            return
        start = np.asarray(event.pos, dtype=float)
        yield
        while event.type == "mouse_move":
            yield
        if np.hypot(*(np.asarray(event.pos, dtype=float) - start)) <= CLICK_PX:
            self.mark_at(event.position)

    # ------------------------------------------------------------------ examples
    def mark_at(self, position) -> None:
        """Mark (or, after key 0, unmark) the cell at world ``position``."""
        layer, _ = self._cells()
        value = layer.get_value(position, world=True)
        cid = int(value) if value is not None and np.isscalar(value) else 0
        if cid <= 0:
            show_info("no cell there: click inside a cell")
            return
        name = self.picked()
        if name is None:
            self.examples.pop(cid, None)
        else:
            self.examples[cid] = name
        self._show_examples()
        self.changed.emit()

    def clear(self) -> None:
        """Forget every example."""
        self.examples.clear()
        self._show_examples()
        self.changed.emit()

    def _show_examples(self) -> None:
        """Rings on the marked cells, coloured by class (the points layer ``EXAMPLES``)."""
        self._show_hint()
        try:
            layer, table = self._cells()
        except Exception:  # no cells (yet): nothing to show
            return
        t = table.set_index(CELL_ID)
        ids = [c for c in self.examples if c in t.index]
        pts = t.loc[ids, [ROW, COL]].to_numpy(float) if ids else np.zeros((0, 2))
        cmap = self.classes.color_map()
        colors = [hex_of(cmap.get(self.examples[c], (255, 255, 255))) for c in ids] or "white"
        feats = pd.DataFrame({CELL_ID: ids, "class": [self.examples[c] for c in ids]})
        if EXAMPLES in self.viewer.layers:
            points = self.viewer.layers[EXAMPLES]
            points.data = pts
            points.features = feats
            points.border_color = colors
            return
        active = self.viewer.layers.selection.active
        points = self.viewer.add_points(
            pts, name=EXAMPLES, features=feats, size=8, face_color="transparent",
            border_color=colors, border_width=0.3, scale=layer.scale[-2:],
            units=layer.units[-2:], translate=layer.translate[-2:])
        set_role(points, "examples")
        self.viewer.layers.selection.active = active
