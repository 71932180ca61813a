"""The one bridge from the job system to the Qt main thread.

It polls the JobQueue about ten times a second and re-emits, on the main thread, every
state event (none lost, none repeated) and the latest snapshot of each job that changed
since the last poll. Workers never touch Qt, and the UI never gets one signal per step.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.jobs import JobEvent, JobQueue, JobSnapshot


class JobBridge(QObject):
    jobEvent = Signal(object)  # JobEvent
    jobUpdated = Signal(object)  # JobSnapshot

    def __init__(self, queue: JobQueue, interval_ms: int = 100, parent: QObject | None = None):
        super().__init__(parent)
        self.queue = queue
        self._revision = 0
        self.polls = 0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)
        self._timer.start()

    def poll(self) -> None:
        changes = self.queue.changes(self._revision)
        self._revision = changes.revision
        self.polls += 1
        for snapshot in changes.jobs:
            self.jobUpdated.emit(snapshot)
        for event in changes.events:
            self.jobEvent.emit(event)

    def stop(self) -> None:
        self._timer.stop()


__all__ = ["JobBridge", "JobEvent", "JobSnapshot"]
