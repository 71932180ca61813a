"""Jobs run in a worker process: relayed progress and previews, errors, stops, crashes, kills."""

import logging
import os
import threading
import time

import numpy as np
import pytest

from desktop.errors import UserError
from desktop.jobs import JobCancelled, JobQueue, JobState
from desktop.worker_process import WorkerProcess


@pytest.fixture
def worker():
    w = WorkerProcess(name="test-worker", cancel_grace_s=2.0)
    yield w
    w.close()


@pytest.fixture
def queue():
    q = JobQueue()
    yield q
    q.shutdown()


def test_progress_previews_and_the_result_come_back_from_another_process(worker, queue):
    job = queue.submit("render", lambda ctx: worker.call(ctx, "worker_jobs:steps", {"steps": 5}))
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state is JobState.DONE, snap.error
    assert snap.result["pid"] != os.getpid()
    assert snap.result["image"].tolist() == np.arange(12).reshape(2, 2, 3).tolist()
    assert (snap.progress.step, snap.progress.total, snap.progress.message) == (5, 5, "step 5")
    assert snap.preview.shape == (4, 4, 3) and int(snap.preview[0, 0, 0]) == 4  # the last step's


def test_the_worker_stays_between_calls_so_a_loaded_model_stays_loaded(worker):
    assert [worker.call(None, "worker_jobs:count") for _ in range(3)] == [1, 2, 3]
    assert worker.starts == 1


def test_a_user_error_keeps_its_sentence_and_a_bug_is_named_and_logged(worker, caplog):
    with pytest.raises(UserError, match="asks for a model that is not there"):
        worker.call(None, "worker_jobs:refuse")
    with caplog.at_level(logging.ERROR, logger="tessera.worker"), pytest.raises(RuntimeError, match="KeyError: 'missing'"):
        worker.call(None, "worker_jobs:bug")
    assert "Traceback" in caplog.text and "worker_jobs.py" in caplog.text
    with pytest.raises(RuntimeError, match="could not be sent back"):
        worker.call(None, "worker_jobs:unpicklable")
    assert worker.call(None, "worker_jobs:count") == 1 and worker.starts == 1  # the same worker, still well


def test_the_workers_log_records_reach_this_process(worker, caplog):
    with caplog.at_level(logging.INFO):
        assert worker.call(None, "worker_jobs:warn")
    record = next(r for r in caplog.records if r.name == "tessera.diffusion")
    assert record.levelno == logging.WARNING and record.getMessage() == "No CUDA GPU found: rendering on the CPU"


def until(condition, limit_s: float = 120.0) -> None:
    """Wait for a condition another thread or process makes true; the limit only ends a failing test."""
    end = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < end, "waited in vain"
        time.sleep(0.01)


def test_a_stop_reaches_the_worker_and_keeps_the_part_made(worker, queue):
    job = queue.submit("render", lambda ctx: worker.call(ctx, "worker_jobs:stops_with_part"))
    until(lambda: job.snapshot().progress.message == "making parts")  # a part is made
    queue.cancel(job)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state is JobState.CANCELLED and snap.result and snap.result == list(range(len(snap.result)))
    assert worker.call(None, "worker_jobs:count") == 1 and worker.starts == 1  # a polite stop keeps the worker


def test_a_job_that_cannot_stop_is_ended_with_its_process(worker, queue):
    job = queue.submit("render", lambda ctx: worker.call(ctx, "worker_jobs:never_stops"))
    until(lambda: job.snapshot().progress.message == "inside the job")
    queue.cancel(job)
    assert job.wait(120)  # the job itself sleeps 600 s: only ending its process ends it sooner
    assert job.snapshot().state is JobState.CANCELLED
    assert not worker.alive
    assert worker.call(None, "worker_jobs:count") == 1 and worker.starts == 2  # a fresh one


def test_a_crash_is_one_sentence_and_the_next_call_starts_afresh(worker):
    with pytest.raises(UserError, match=r"stopped unexpectedly \(exit code 3\)"):
        worker.call(None, "worker_jobs:crash")
    assert worker.call(None, "worker_jobs:count") == 1 and worker.starts == 2


def test_a_killed_worker_is_explained(worker):
    import signal

    worker.call(None, "worker_jobs:count")
    pid = worker._process.pid
    threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
    with pytest.raises(UserError, match=r"SIGKILL.*run out of memory"):
        worker.call(None, "worker_jobs:never_stops")


def test_unload_ends_an_idle_worker_and_close_stops_a_busy_one(worker):
    worker.warm(["json"])
    assert worker.call(None, "worker_jobs:count") == 1
    assert worker.unload() and not worker.alive
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("out", _catch(worker, "worker_jobs:never_stops")))
    thread.start()
    until(lambda: worker.busy)
    assert not worker.unload()  # busy: not ended under a job
    worker.close(timeout=1.0)
    thread.join(60)
    assert isinstance(result["out"], JobCancelled) and not worker.alive
    with pytest.raises(JobCancelled):  # closed for good
        worker.call(None, "worker_jobs:count")


def _catch(worker, target):
    try:
        return worker.call(None, target)
    except BaseException as exc:
        return exc


class _Recorder:
    cancelled = False

    def __init__(self):
        self.messages = []

    def progress(self, step, total=None, message=None):
        self.messages.append(message)

    def preview(self, image):
        pass


def test_a_fresh_worker_says_it_is_starting_once(worker):
    worker.warm(["json"])  # started ahead of the first call: the first call still says so
    first, second = _Recorder(), _Recorder()
    worker.call(first, "worker_jobs:steps", {"steps": 2})
    worker.call(second, "worker_jobs:steps", {"steps": 2})
    assert first.messages == ["starting the render process", "step 1", "step 2"]
    assert second.messages == ["step 1", "step 2"]


def test_a_worker_that_cannot_start_is_one_sentence(worker, monkeypatch):
    import errno
    import multiprocessing.process

    def no_room(self):
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", no_room)
    with pytest.raises(UserError, match="could not start the render process: Resource temporarily unavailable"):
        worker.call(None, "worker_jobs:count")
    monkeypatch.undo()
    assert worker.call(None, "worker_jobs:count") == 1


@pytest.mark.parametrize(("setting", "below"), [(None, 10), ("0", 0), ("4", 4), ("99", 19), ("low", 10)])
def test_the_worker_runs_below_the_window_by_its_niceness(setting, below):
    """The render process lowers its own priority (10 by default; TESSERA_WORKER_NICENESS for a build
    machine or a test run), measured in a fresh process, whose priority this test may then leave."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TESSERA_WORKER_NICENESS"}
    if setting is not None:
        env["TESSERA_WORKER_NICENESS"] = setting
    script = ("import os; before = os.getpriority(os.PRIO_PROCESS, 0); "
              "from desktop.worker_process import _lower_priority; _lower_priority(); "
              "print(before, os.getpriority(os.PRIO_PROCESS, 0))")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                         check=True)
    before, after = (int(v) for v in out.stdout.split())
    assert after == min(before + below, 19)
    if setting == "low":
        assert "is not a number from 0 to 19" in out.stderr
