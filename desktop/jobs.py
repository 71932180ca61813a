"""Long-running work as Jobs, run by a JobQueue. Pure Python: no Qt here.

Every slow thing (generate, QA, import, embed, train, publish, export) is a Job. A job has
a request (a dataclass that serialises), a state (queued -> running -> done | failed |
cancelled), progress with an ETA, the latest preview (an array, replaced and never
mutated), and a result or an error.

The queue runs jobs on three lanes:
- ``compute``: one serial worker, so two jobs never fight over the GPU (or both CPU cores);
- ``writer``: one serial worker, the only one that writes the library;
- ``io``: a small pool for disk and network.

Observers are never sent one event per step. State transitions are events (each one is
kept, in order, with a sequence number); progress and previews only bump the job's
revision. An observer polls ``changes(since)`` at its own rate and gets every event it
has not seen plus the latest snapshot of each job that changed. The Qt bridge polls about
ten times a second; the CLI listens to ``events`` directly.

Cancel is cooperative: a queued job is removed at once; a running job is asked to stop
and does so at its next ``ctx.check_cancelled()`` (or ``ctx.progress()``).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from psygnal import Signal

log = logging.getLogger(__name__)


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class Lane(StrEnum):
    COMPUTE = "compute"
    WRITER = "writer"
    IO = "io"
    NETWORK = "network"  # the marketplace: a slow or busy server never holds up a search or a read


class JobCancelled(Exception):
    """Raised inside a job's function when it has been asked to stop.

    A job that stops with some of its work done raises it with that work as `partial`: the job
    ends cancelled, and `partial` becomes its result (the tiles made before the stop, say).
    """

    def __init__(self, partial: Any = None):
        super().__init__()
        self.partial = partial


@dataclass(frozen=True)
class Progress:
    step: int = 0
    total: int = 0
    message: str = ""
    eta_s: float | None = None

    @property
    def fraction(self) -> float | None:
        if self.total <= 0:
            return None
        return min(1.0, max(0.0, self.step / self.total))


@dataclass(frozen=True)
class JobEvent:
    """A state transition. `seq` is the queue revision at which it happened."""

    seq: int
    job_id: int
    kind: str
    state: JobState
    message: str = ""


@dataclass(frozen=True)
class JobSnapshot:
    """An immutable view of a job at one revision, safe to hand to another thread."""

    id: int
    kind: str
    title: str
    lane: Lane
    priority: int
    state: JobState
    progress: Progress
    preview: Any
    result: Any
    error: str | None
    request: Any
    revision: int
    created: float
    started: float | None
    finished: float | None
    cancel_requested: bool


@dataclass(frozen=True)
class Changes:
    revision: int
    jobs: list[JobSnapshot]
    events: list[JobEvent]


def request_to_dict(request: Any) -> Any:
    """A job request as plain JSON-able data."""
    if dataclasses.is_dataclass(request) and not isinstance(request, type):
        return dataclasses.asdict(request)
    return request


class JobContext:
    """What a job's function gets: progress, preview, and the cancel check."""

    def __init__(self, job: Job, queue: JobQueue):
        self._job = job
        self._queue = queue

    @property
    def request(self) -> Any:
        return self._job.request

    @property
    def cancelled(self) -> bool:
        return self._job._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._job._cancel.is_set():
            raise JobCancelled()

    def progress(self, step: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress (coalesced: observers see the latest) and honour a cancel."""
        self._queue._set_progress(self._job, step, total, message)
        self.check_cancelled()

    def preview(self, image: Any) -> None:
        """Publish the latest preview. Pass a fresh array each time; it is not copied."""
        self._queue._set_preview(self._job, image)


class PartContext:
    """A job's context as one part of the job sees it: Stop reaches it, its previews go to the
    job, and its progress goes through `progress(fraction, message)` (to fill that part's share
    of the bar, say, or nowhere when the part has no bar of its own)."""

    def __init__(self, ctx, progress):
        self._ctx, self._progress = ctx, progress

    @property
    def cancelled(self) -> bool:
        return self._ctx.cancelled

    def check_cancelled(self) -> None:
        self._ctx.check_cancelled()

    def preview(self, image) -> None:
        self._ctx.preview(image)

    def progress(self, step: int, total: int | None = None, message: str | None = None) -> None:
        self._progress(min(1.0, step / total) if total else 0.0, message)


class Job:
    """One piece of work. Read it through `snapshot()` from other threads."""

    def __init__(self, job_id: int, kind: str, fn: Callable[[JobContext], Any], request: Any,
                 lane: Lane, priority: int, title: str):
        self.id = job_id
        self.kind = kind
        self.title = title or kind
        self.fn = fn
        self.request = request
        self.lane = lane
        self.priority = priority
        self.state = JobState.QUEUED
        self.progress = Progress()
        self.preview: Any = None
        self.result: Any = None
        self.error: str | None = None
        self.error_detail: str | None = None
        self.exception: BaseException | None = None
        self.revision = 0
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job is finished. True if it is."""
        return self._done.wait(timeout)

    def snapshot(self) -> JobSnapshot:
        return JobSnapshot(
            id=self.id, kind=self.kind, title=self.title, lane=self.lane, priority=self.priority,
            state=self.state, progress=self.progress, preview=self.preview, result=self.result,
            error=self.error, request=request_to_dict(self.request), revision=self.revision,
            created=self.created, started=self.started, finished=self.finished,
            cancel_requested=self._cancel.is_set(),
        )

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state.value}>"


class JobQueue:
    """Runs jobs on their lanes. Thread-safe; one lock guards every job's state."""

    events = Signal(JobEvent)  # emitted on the thread that made the transition

    def __init__(self, io_workers: int = 2, event_log_size: int = 10_000):
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._revision = 0
        self._jobs: dict[int, Job] = {}
        self._pending: dict[Lane, list[tuple[int, int, Job]]] = {lane: [] for lane in Lane}
        self._events: deque[JobEvent] = deque(maxlen=event_log_size)
        self._stopping = False
        sizes = {Lane.COMPUTE: 1, Lane.WRITER: 1, Lane.IO: max(1, io_workers), Lane.NETWORK: 1}
        self._threads = [
            threading.Thread(target=self._worker, args=(lane,), name=f"tessera-{lane.value}-{i}", daemon=True)
            for lane, n in sizes.items() for i in range(n)
        ]
        for thread in self._threads:
            thread.start()

    # -- submitting and cancelling -------------------------------------------------
    def submit(self, kind: str, fn: Callable[[JobContext], Any], request: Any = None, *,
               lane: Lane = Lane.COMPUTE, priority: int = 0, title: str = "") -> Job:
        """Queue `fn(ctx)`. Higher priority runs first within a lane; ties run in order."""
        with self._lock:
            if self._stopping:
                raise RuntimeError("the job queue is shut down")
            job = Job(next(self._ids), kind, fn, request, Lane(lane), priority, title)
            self._jobs[job.id] = job
            heapq.heappush(self._pending[job.lane], (-priority, next(self._seq), job))
            event = self._transition(job, JobState.QUEUED, "queued")
            self._wake.notify_all()
        self._emit(event)
        return job

    def cancel(self, job: Job | int) -> bool:
        """Cancel a job: a queued one at once, a running one at its next check.

        Returns False if the job had already finished.
        """
        event = None
        with self._lock:
            job = self._jobs[job] if isinstance(job, int) else job
            if job.state.finished:
                return False
            job._cancel.set()
            if job.state is JobState.QUEUED:
                pending = self._pending[job.lane]
                pending[:] = [item for item in pending if item[2] is not job]
                heapq.heapify(pending)
                job.finished = time.time()
                event = self._transition(job, JobState.CANCELLED, "cancelled", "cancelled before it started")
                job._done.set()
            else:
                self._bump(job)
        if event:
            self._emit(event)
        return True

    # -- observing ---------------------------------------------------------------------
    @property
    def revision(self) -> int:
        with self._lock:
            return self._revision

    def get(self, job_id: int) -> Job:
        with self._lock:
            return self._jobs[job_id]

    def jobs(self) -> list[JobSnapshot]:
        with self._lock:
            return [job.snapshot() for job in self._jobs.values()]

    def changes(self, since: int) -> Changes:
        """Every event after `since`, and the latest snapshot of each job changed after it."""
        with self._lock:
            jobs = [job.snapshot() for job in self._jobs.values() if job.revision > since]
            events = [event for event in self._events if event.seq > since]
            return Changes(self._revision, jobs, events)

    def forget_finished(self) -> list[int]:
        """Drop finished jobs from the list (their events stay in the log)."""
        with self._lock:
            gone = [job_id for job_id, job in self._jobs.items() if job.state.finished]
            for job_id in gone:
                del self._jobs[job_id]
            return gone

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel what is queued, ask running jobs to stop, and wait for the workers. True: all stopped."""
        with self._lock:
            self._stopping = True
            queued = [job for job in self._jobs.values() if job.state is JobState.QUEUED]
        for job in queued:
            self.cancel(job)
        with self._lock:
            for job in self._jobs.values():
                job._cancel.set()
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not self.busy_threads()

    def busy_threads(self) -> list[str]:
        """The workers still running (after shutdown: still inside a job)."""
        return [thread.name for thread in self._threads if thread.is_alive()]

    def writer_busy(self) -> bool:
        """Whether the library's writer is still inside a job."""
        return any(name.startswith(f"tessera-{Lane.WRITER.value}-") for name in self.busy_threads())

    # -- internals ----------------------------------------------------------------------
    def _bump(self, job: Job) -> None:
        self._revision += 1
        job.revision = self._revision

    def _transition(self, job: Job, state: JobState, kind: str, message: str = "") -> JobEvent:
        job.state = state
        self._bump(job)
        event = JobEvent(self._revision, job.id, kind, state, message)
        self._events.append(event)
        return event

    def _emit(self, event: JobEvent) -> None:
        try:
            self.events.emit(event)
        except Exception:  # an observer's bug must not kill a worker
            log.exception("job event observer failed")

    def _set_progress(self, job: Job, step: int, total: int | None, message: str | None) -> None:
        with self._lock:
            old = job.progress
            total = old.total if total is None else total
            message = old.message if message is None else message
            eta = None
            if job.started and total > 0 and 0 < step < total:
                elapsed = time.time() - job.started
                eta = elapsed * (total - step) / step
            job.progress = Progress(step, total, message, eta)
            self._bump(job)

    def _set_preview(self, job: Job, image: Any) -> None:
        with self._lock:
            job.preview = image
            self._bump(job)

    def _next(self, lane: Lane) -> Job | None:
        with self._lock:
            while True:
                pending = self._pending[lane]
                if pending:
                    _, _, job = heapq.heappop(pending)
                    job.started = time.time()
                    event = self._transition(job, JobState.RUNNING, "started")
                    break
                if self._stopping:
                    return None
                self._wake.wait()
        self._emit(event)
        return job

    def _worker(self, lane: Lane) -> None:
        while True:
            job = self._next(lane)
            if job is None:
                return
            self._run(job)

    def _run(self, job: Job) -> None:
        ctx = JobContext(job, self)
        result = error = detail = exception = None
        try:
            ctx.check_cancelled()
            result = job.fn(ctx)
            state, kind = JobState.DONE, "done"
        except JobCancelled as stop:
            state, kind = JobState.CANCELLED, "cancelled"
            result = stop.partial
        except Exception as exc:
            from desktop.errors import UserError

            state, kind = JobState.FAILED, "failed"
            exception = exc
            error = str(exc) or type(exc).__name__
            detail = traceback.format_exc()
            if not isinstance(exc, UserError):
                log.error("job %s (%s) failed:\n%s", job.id, job.kind, detail)
        with self._lock:
            job.result, job.error, job.error_detail, job.exception = result, error, detail, exception
            job.finished = time.time()
            event = self._transition(job, state, kind, error or "")
            job._done.set()
        self._emit(event)
