import threading
import time

import pytest

from desktop.errors import UserError
from desktop.jobs import JobCancelled, JobQueue, JobState, Lane

WAIT = 60  # an upper bound for what another thread does, never a measure: a busy machine only waits longer


@pytest.fixture
def queue():
    q = JobQueue(io_workers=3)
    yield q
    q.shutdown(timeout=5)


def gate():
    """A job function that waits for a release, so tests control when it ends."""
    release = threading.Event()
    started = threading.Event()

    def fn(ctx):
        started.set()
        while not release.wait(0.005):
            ctx.check_cancelled()
        return "released"

    return fn, started, release


def test_compute_lane_runs_by_priority_then_in_order(queue):
    order = []
    fn, started, release = gate()
    blocker = queue.submit("block", fn)
    assert started.wait(WAIT)
    jobs = [queue.submit("n", lambda ctx, i=i: order.append(i), priority=p)
            for i, p in enumerate([0, 0, 5, 0, 5, -1])]
    release.set()
    for job in [blocker, *jobs]:
        assert job.wait(WAIT)
    assert order == [2, 4, 0, 1, 3, 5]


def test_compute_lane_is_serial(queue):
    running = []
    peak = []
    lock = threading.Lock()

    def fn(ctx):
        with lock:
            running.append(1)
            peak.append(len(running))
        time.sleep(0.01)
        with lock:
            running.pop()

    jobs = [queue.submit("gpu", fn, lane=Lane.COMPUTE) for _ in range(8)]
    for job in jobs:
        assert job.wait(WAIT)
    assert max(peak) == 1


def test_io_lane_runs_in_parallel(queue):
    barrier = threading.Barrier(3, timeout=5)
    jobs = [queue.submit("io", lambda ctx: barrier.wait(), lane=Lane.IO) for _ in range(3)]
    for job in jobs:
        assert job.wait(WAIT)
        assert job.state is JobState.DONE


def test_cancel_a_queued_job_removes_it_at_once(queue):
    fn, started, release = gate()
    blocker = queue.submit("block", fn)
    assert started.wait(WAIT)
    ran = []
    victim = queue.submit("victim", lambda ctx: ran.append(1))
    assert queue.cancel(victim)
    assert victim.state is JobState.CANCELLED and victim.wait(0)
    release.set()
    blocker.wait(WAIT)
    follow = queue.submit("after", lambda ctx: ran.append(2))
    follow.wait(WAIT)
    assert ran == [2]


def test_cancel_a_running_job_stops_it_at_its_next_check(queue):
    steps = []

    def fn(ctx):
        for i in range(10_000):
            steps.append(i)
            ctx.progress(i, 10_000, "working")
            time.sleep(0.001)

    job = queue.submit("long", fn)
    while not steps:
        time.sleep(0.001)
    assert queue.cancel(job)
    assert job.wait(WAIT)
    assert job.state is JobState.CANCELLED
    assert len(steps) < 10_000
    assert not queue.cancel(job)  # already finished


def test_failure_carries_its_message(queue):
    def boom(ctx):
        raise UserError("the motif file is not an image")

    job = queue.submit("bad", boom)
    job.wait(WAIT)
    assert job.state is JobState.FAILED
    assert job.error == "the motif file is not an image"
    assert isinstance(job.exception, UserError)
    events = [e for e in queue.changes(0).events if e.job_id == job.id]
    assert events[-1].kind == "failed" and events[-1].message == job.error


def test_progress_eta_and_preview_are_kept_latest_only(queue):
    fn_done = threading.Event()

    def fn(ctx):
        for i in range(1, 5):
            ctx.progress(i, 4, f"step {i}")
            ctx.preview([i])
            time.sleep(0.02)
        fn_done.set()
        return 42

    job = queue.submit("p", fn, request={"a": 1})
    job.wait(WAIT)
    snap = job.snapshot()
    assert snap.result == 42 and snap.progress.step == 4 and snap.progress.message == "step 4"
    assert snap.preview == [4] and snap.request == {"a": 1}


def test_eta_is_estimated_from_the_rate(queue):
    seen = []

    def fn(ctx):
        ctx.progress(0, 10)
        time.sleep(0.05)
        before = time.time()
        ctx.progress(5, 10)
        after = time.time()
        snap = queue.get(job.id).snapshot()
        seen.append((snap.progress.eta_s, before - snap.started, after - snap.started))

    job = queue.submit("eta", fn)
    assert job.wait(WAIT)
    eta, low, high = seen[0]
    assert eta is not None and low <= eta <= high  # half done: as long again as it took so far


def test_changes_deliver_every_event_once_and_coalesce_progress(queue):
    def fn(ctx):
        for i in range(500):
            ctx.progress(i, 500)

    jobs = [queue.submit("burst", fn, lane=Lane.IO) for _ in range(6)]
    seen_events = []
    snapshots = 0
    revision = 0
    while True:
        changes = queue.changes(revision)
        revision = changes.revision
        seen_events += changes.events
        snapshots += len(changes.jobs)
        if all(job.state.finished for job in jobs) and not queue.changes(revision).events:
            break
        time.sleep(0.01)
    seqs = [e.seq for e in seen_events]
    assert seqs == sorted(set(seqs))  # in order, none twice
    for job in jobs:
        kinds = [e.kind for e in seen_events if e.job_id == job.id]
        assert kinds == ["queued", "started", "done"]
    assert snapshots < 6 * 500  # far fewer updates than steps


def test_many_concurrent_jobs_from_many_threads(queue):
    """Thread safety: 400 jobs submitted and cancelled from 8 threads; every one ends exactly once."""
    signal_events = []
    queue.events.connect(signal_events.append)
    jobs = []
    lock = threading.Lock()

    def producer(k):
        for i in range(50):
            lane = (Lane.IO, Lane.COMPUTE, Lane.WRITER)[i % 3]
            job = queue.submit("j", lambda ctx, i=i: i * 2, lane=lane, priority=i % 4)
            with lock:
                jobs.append(job)
            if i % 7 == 0:
                queue.cancel(job)

    threads = [threading.Thread(target=producer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for job in jobs:
        assert job.wait(WAIT)
    assert len(jobs) == 400
    finals = [e for e in queue.changes(0).events if e.state.finished]
    assert sorted(e.job_id for e in finals) == sorted(j.id for j in jobs)
    assert {j.state for j in jobs} <= {JobState.DONE, JobState.CANCELLED}
    assert sum(j.state is JobState.CANCELLED for j in jobs) >= 1
    signal_finals = [e for e in signal_events if e.state.finished]
    assert len(signal_finals) == 400


def test_a_broken_observer_does_not_break_the_queue(queue):
    def bad(event):
        raise RuntimeError("observer bug")

    queue.events.connect(bad)
    job = queue.submit("ok", lambda ctx: 1)
    assert job.wait(WAIT) and job.state is JobState.DONE


def test_shutdown_cancels_queued_and_stops_running():
    q = JobQueue()
    fn, started, _ = gate()
    running = q.submit("run", fn)
    assert started.wait(WAIT)
    queued = q.submit("wait", lambda ctx: 1)
    assert q.shutdown(timeout=5) and not q.busy_threads()
    assert queued.state is JobState.CANCELLED
    assert running.state is JobState.CANCELLED
    with pytest.raises(RuntimeError):
        q.submit("late", lambda ctx: 1)


def test_shutdown_says_when_a_job_would_not_stop_in_time():
    q = JobQueue()
    release = threading.Event()
    started = threading.Event()

    def deaf(ctx):  # inside one long computation that cannot look at its cancel flag
        started.set()
        release.wait(WAIT)

    q.submit("deaf", deaf)
    assert started.wait(WAIT)
    assert q.shutdown(timeout=0.2) is False
    assert q.busy_threads() == ["tessera-compute-0"] and not q.writer_busy()
    release.set()
    assert q.shutdown(timeout=WAIT)  # it ends once its computation returns
    assert not q.busy_threads()


def test_a_job_stopped_with_part_of_its_work_keeps_that_part():
    q = JobQueue()

    def partly(ctx):
        raise JobCancelled(partial=["tile 1", "tile 2"])

    job = q.submit("batch", partly)
    assert job.wait(WAIT) and job.state is JobState.CANCELLED
    assert job.snapshot().result == ["tile 1", "tile 2"]
    q.shutdown()
