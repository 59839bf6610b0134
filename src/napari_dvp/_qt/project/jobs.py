"""The Project dock's job row: progress bar and Cancel, shown only while a job runs."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from .._jobs import JobRunner


class JobRow(QWidget):
    """Progress + Cancel (hidden when idle) and a status line, around one :class:`JobRunner`.

    Parameters
    ----------
    busy
        Buttons disabled while a job runs.
    """

    def __init__(self, busy: list[QWidget]) -> None:
        super().__init__()
        self.progress, self.cancel_btn = QProgressBar(), QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop: a cancelled save leaves the project as it was")
        self.bar = QWidget()
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_btn)
        self.bar.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        self.runner = JobRunner(self.progress, self.cancel_btn, self.status, busy=busy)
        self._after: Callable[[], None] | None = None
        self._watch = QTimer(self)  # the job's end, however it ended (even before a connect)
        self._watch.timeout.connect(self._check)

    @property
    def running(self) -> bool:
        """Whether a job runs now (or its ``after`` has not run yet)."""
        return self.runner.running or self._watch.isActive()

    def start(self, func: Callable, *args, after: Callable[[], None] | None = None,
              **kwargs) -> None:
        """Run ``func`` through the runner (see :meth:`JobRunner.start`); ``after()`` at the end."""
        self.bar.show()
        self.runner.start(func, *args, **kwargs)
        self._after = after
        self._watch.start(25)

    def _check(self) -> None:
        if self.runner.running:
            return
        self._watch.stop()
        self.bar.hide()
        after, self._after = self._after, None
        if after is not None:
            after()
