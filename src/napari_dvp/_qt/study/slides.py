"""The slides of a study: add (a slide's project folder), remove, calibrate; progress table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from qtpy.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import DvpInputError
from ...core.study.model import Study
from ...core.study.slides import PROGRESS, progress, project_defaults
from .._common import notify_errors, show_info
from .._slide import role_of

HEADERS = ("slide", "patient", "condition", *PROGRESS)


class SlidesPanel(QWidget):
    """Slide name, patient and condition; Add slide… / Remove slide / Marks from viewer.

    Parameters
    ----------
    viewer
        The napari viewer (for the calibration marks layer).
    study
        Callable returning the open :class:`Study` (or None).
    changed
        Called after the slides changed (the dock refreshes its parts).
    """

    def __init__(self, viewer, study: Callable[[], Study | None],
                 changed: Callable[[], None]) -> None:
        super().__init__()
        self.viewer, self._study, self._changed = viewer, study, changed
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        self.slide, self.patient, self.condition = QLineEdit(), QLineEdit(), QLineEdit()
        self.slide.setPlaceholderText("e.g. TEN4")
        self.patient.setPlaceholderText("e.g. P12")
        self.condition.setPlaceholderText("TEN, MDE, healthy …")
        form.addRow("Slide", self.slide)
        form.addRow("Patient", self.patient)
        form.addRow("Condition", self.condition)
        lay.addLayout(form)
        row = QHBoxLayout()
        for text, tip, slot in (
                ("Add slide…", "choose the slide's napari-dvp project folder (segmented, "
                               "classified); pixel size and LMD marks come from it",
                 self.add_slide),
                ("Remove slide", "remove the selected slide from the study (its project "
                                 "folder stays)", self.remove_slide),
                ("Marks from viewer", "the selected slide's three LMD calibration marks: the "
                                      "points of the viewer's calibration layer",
                 self.marks_from_viewer)):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            row.addWidget(b)
        lay.addLayout(row)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels([h.capitalize() for h in HEADERS])
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(140)
        lay.addWidget(self.table)

    def _need(self) -> Study:
        s = self._study()
        if s is None:
            raise DvpInputError("create or open a study first")
        return s

    def selected(self) -> str:
        """Name of the selected slide."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            raise DvpInputError("select a slide in the table first")
        return self.table.item(rows[0].row(), 0).text()

    @notify_errors
    def add_slide(self) -> None:
        """Ask for the slide's project folder and add it with patient and condition."""
        s = self._need()
        name, patient, cond = (w.text().strip() for w in (self.slide, self.patient,
                                                          self.condition))
        if not (name and patient and cond):
            raise DvpInputError("type the slide name, patient id and condition first")
        folder = QFileDialog.getExistingDirectory(self, f"Project folder of {name}")
        if not folder:
            return
        px, marks = project_defaults(folder)
        s.add(name, patient, cond, project=folder, pixel_size_um=px, calibration=marks)
        s.save()
        for w in (self.slide, self.patient):
            w.clear()
        show_info(f"slide {name} added ({patient}, {cond})")
        self._changed()

    @notify_errors
    def remove_slide(self) -> None:
        """Remove the selected slide (its project folder stays on disk)."""
        s = self._need()
        name = self.selected()
        s.remove(name)
        s.save()
        show_info(f"slide {name} removed from the study; its project folder is kept")
        self._changed()

    @notify_errors
    def marks_from_viewer(self) -> None:
        """Store the viewer's three calibration marks (row, col pixels) for the selected slide."""
        s = self._need()
        name = self.selected()
        layers = [lay for lay in self.viewer.layers if role_of(lay) == "calibration"]
        if not layers or len(layers[-1].data) != 3:
            raise DvpInputError("place exactly three marks in the calibration layer (LMD dock) "
                                "on this slide first")
        lay = layers[-1]
        rc = np.asarray(lay.data, dtype=float)[:, -2:]  # the marks live on the pixel grid
        s.get(name).calibration = rc.tolist()
        s.save()
        show_info(f"{name}: calibration marks stored")
        self._changed()

    def refresh(self) -> None:
        """Show every slide and its progress."""
        s = self._study()
        rows = progress(s) if s is not None else None
        self.table.setRowCount(0 if rows is None else len(rows))
        if rows is None:
            return
        for i, rec in enumerate(rows.itertuples(index=False)):
            for j, v in enumerate(rec):
                text = ("✓" if v else "–") if isinstance(v, bool | np.bool_) else str(v)
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
