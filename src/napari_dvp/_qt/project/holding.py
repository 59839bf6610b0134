"""Which project a Project dock has open, and its lock (Qt-free)."""

from __future__ import annotations

from pathlib import Path

from ...core.project import ProjectLock


class Holding:
    """The open project folder and the lock this window holds on it.

    ``lock`` is None with a ``folder`` when the project was opened read-only
    (another window holds it).
    """

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.lock: ProjectLock | None = None

    def lock_for(self, folder: Path) -> ProjectLock:
        """The lock to write ``folder`` with: ours if we hold it, else a new one (acquired)."""
        if folder == self.folder and self.lock is not None and self.lock.held:
            return self.lock
        return ProjectLock(folder, "open").acquire()

    def release_unused(self, lock: ProjectLock | None) -> None:
        """Release ``lock`` unless it is the one adopted."""
        if lock is not None and lock is not self.lock:
            lock.release()

    def adopt(self, folder: Path | None, lock: ProjectLock | None) -> None:
        """Hold ``folder`` with ``lock`` now (the previous lock is released)."""
        if self.lock is not None and self.lock is not lock:
            self.lock.release()
        self.folder, self.lock = folder, lock

    def beat(self) -> bool:
        """Renew the lock's heartbeat; False if another writer took it over meanwhile."""
        if self.lock is None:
            return True
        self.lock.refresh()
        if self.lock.held:
            return True
        self.lock = None
        return False

    def release(self) -> None:
        """Give the lock up (the window closes)."""
        self.adopt(None, None)
