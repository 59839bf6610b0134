"""One way to run long work from a dock: off the GUI thread, with progress, Cancel and errors.

Core functions that take long are generators: they ``yield (done, total)``
(or ``(done, total, message)``) and ``return`` their result. :class:`JobRunner`
drives one in a napari ``thread_worker``; the progress bar follows the yields,
Cancel closes the generator at its next yield (so it cleans up and writes
nothing), an error becomes one notification, and whatever happens the bar,
the Run and the Cancel buttons are reset.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any

from napari.qt.threading import GeneratorWorker, create_worker
from qtpy.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget

from ..core.errors import DvpError, one_line
from ._common import show_error, show_info

__all__ = ["JobRunner", "progress_steps"]


def progress_steps(gen: Generator[Any, Any, Any], cancelled: Callable[[], bool]
                   ) -> Generator[Any, Any, Any]:
    """Forward ``gen``'s progress; when ``cancelled()`` close it and return ``None``."""
    while True:
        if cancelled():
            gen.close()
            return None
        try:
            step = next(gen)
        except StopIteration as stop:
            return stop.value
        yield step


def _plain(func: Callable, *args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
    """Wrap a plain (non-generator) function as a job without progress steps."""
    result = func(*args, **kwargs)
    if isinstance(result, Generator):
        return (yield from result)
    return result


class JobRunner:
    """Runs one job at a time for a dock: progress bar, Cancel, busy buttons, errors.

    Parameters
    ----------
    progress
        The dock's progress bar (reset to 0 after every job).
    cancel
        The dock's Cancel button (enabled only while a job runs).
    status
        Optional label for "Working…", "Cancelled", errors.
    busy
        Buttons disabled while a job runs (Run, Export …).
    """

    def __init__(self, progress: QProgressBar, cancel: QPushButton,
                 status: QLabel | None = None, busy: Iterable[QWidget] = ()) -> None:
        self.progress, self.cancel_btn, self.status = progress, cancel, status
        self.busy = list(busy)
        self.worker: GeneratorWorker | None = None
        self._cancelled = False
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.cancel)

    @property
    def running(self) -> bool:
        """Whether a job is running now."""
        return self.worker is not None

    def start(self, func: Callable[..., Any], *args: Any, done: Callable[[Any], None],
              what: str, cancelled_text: str = "Cancelled: nothing was changed.",
              **kwargs: Any) -> GeneratorWorker:
        """Run ``func(*args, **kwargs)`` (a progress generator or a plain function).

        ``done(result)`` runs in the GUI thread with the returned value (not
        after Cancel or an error). ``what`` names the work in the status line
        ("Segmenting…").
        """
        if self.running:
            raise RuntimeError("a job is already running")  # buttons are disabled meanwhile
        self._cancelled = False
        gen = _plain(func, *args, **kwargs)
        # _ignore_errors: errors go to _on_error only (superqt would re-raise them in the
        # Qt event loop as well: a second, traceback notification)
        worker = create_worker(progress_steps, gen, lambda: self._cancelled,
                               _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_step)
        worker.returned.connect(lambda result: self._on_returned(result, done, cancelled_text))
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._reset)
        self.worker = worker
        for w in self.busy:
            w.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.progress.setRange(0, 0)  # busy until the first step says how much there is
        self._say(what)
        worker.start()
        return worker

    def cancel(self, *_: Any) -> None:
        """Ask the running job to stop at its next step (it writes nothing)."""
        if self.running:
            self._cancelled = True
            self._say("Cancelling…")

    # ------------------------------------------------------------------ slots
    def _say(self, text: str) -> None:
        if self.status is not None:
            self.status.setText(text)

    def _on_step(self, step: Any) -> None:
        if isinstance(step, tuple) and len(step) >= 2:
            done, total = int(step[0]), int(step[1])
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(min(done, max(total, 1)))
            if len(step) > 2 and step[2]:
                self._say(str(step[2]))

    def _on_returned(self, result: Any, done: Callable[[Any], None], cancelled: str) -> None:
        if self._cancelled:
            self._say(cancelled)
            show_info(cancelled)
            return
        try:
            done(result)
        except DvpError as exc:
            self._on_error(exc)
        except Exception as exc:  # a bug in the dock: still one line, the user keeps working
            self._on_error(exc)

    def _on_error(self, exc: BaseException) -> None:
        text = one_line(exc) if isinstance(exc, DvpError) else \
            f"{type(exc).__name__}: {one_line(exc)}"
        self._say(text)
        show_error(text)

    def _reset(self, *_: Any) -> None:
        self.worker = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.cancel_btn.setEnabled(False)
        for w in self.busy:
            w.setEnabled(True)
