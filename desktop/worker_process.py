"""A job's function run in a worker process, with its progress, previews and cancel relayed back.

The window renders diffusion here, not on one of its own threads. Importing torch holds the
interpreter's lock for about 0.4 s of C initialisation, and a thread cannot split that: the
window would freeze (BENCHMARKS.md, responsiveness). A process also means that:
- a crash in a CUDA driver or an out-of-memory kill ends the job with a message, not the app;
- a job that cannot stop at a step (a model still loading) is stopped by ending the process;
- "Unload" gives every byte of GPU memory back.

The worker lives across jobs, so a loaded model stays loaded (the engine cache is a module
global in the worker). It is started with `spawn`, never `fork`: the window has threads.

    worker = WorkerProcess()
    tiles = worker.call(ctx, "desktop.engine.generate:run_generate", request)

The function is named, not pickled, and is called as `fn(request, ctx)` in the worker, with a
`ctx` that has `progress`, `preview`, `cancelled` and `check_cancelled`, as a JobContext does.
A `UserError` comes back as a `UserError` with its sentence; a stop as `JobCancelled` with its
partial result; a bug as a RuntimeError naming it (its traceback goes to the log). Records the
worker logs at INFO and above are logged again in this process, so they reach its log file.
Pure Python: no Qt here.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from typing import Any

from desktop.errors import UserError
from desktop.jobs import JobCancelled

log = logging.getLogger("tessera.worker")

CANCEL_GRACE_S = 10.0  # how long a stop may wait for the next step before the worker is ended
POLL_S = 0.05
NICENESS = 10  # the worker's scheduling priority below the window's (Unix)
# A build machine or a test run that waits on the worker's result may render at the window's priority
# (0) or at any step below it: at 10 a render gets about a tenth of a core that other busy programs want.
NICENESS_ENV = "TESSERA_WORKER_NICENESS"


class WorkerProcess:
    """One persistent worker process, started on first use. Calls run one at a time."""

    def __init__(self, name: str = "tessera-render", cancel_grace_s: float = CANCEL_GRACE_S,
                 label: str = "the render process"):
        self.name = name
        self.label = label  # what a person reads: "starting the render process…"
        self.cancel_grace_s = cancel_grace_s
        self._mp = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()  # the process, its pipe's sending end
        self._calling = threading.Lock()  # one call at a time
        self._process = None
        self._conn = None
        self._cancel = None
        self._closing = False
        self.starts = 0  # how many processes were started (a crash or a kill makes the next call start one)
        self._served = 0  # calls the current process has taken

    # -- the process ------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        process = self._process
        return process is not None and process.is_alive()

    @property
    def busy(self) -> bool:
        return self._calling.locked()

    def _started(self):
        with self._lock:
            if self._closing:
                raise JobCancelled()
            if self._process is None or not self._process.is_alive():
                self._discard()
                parent, child = self._mp.Pipe()
                self._cancel = self._mp.Event()
                self._process = self._mp.Process(target=_worker_main, args=(child, self._cancel, os.getpid()),
                                                 name=self.name, daemon=True)
                self._conn = parent
                try:
                    self._process.start()
                except OSError as exc:  # no memory or no process slots left
                    self._discard()
                    raise UserError(f"could not start {self.label}: {exc.strerror or exc}") from None
                finally:
                    child.close()
                self.starts += 1
                self._served = 0
            return self._process, self._conn

    def _send(self, message: tuple) -> None:
        with self._lock:
            self._conn.send(message)

    def warm(self, modules: list[str]) -> None:
        """Start the worker now and have it import `modules`, so a first job does not wait for them."""
        try:
            self._started()
            self._send(("warm", list(modules)))
        except (JobCancelled, UserError, OSError) as exc:
            log.debug("the worker could not be warmed: %s", exc)

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = self._cancel = None  # (the event's semaphore is freed with it)

    def _end(self, timeout: float = 2.0) -> None:
        """End the process: asked to quit when idle, terminated when not, killed when that fails."""
        with self._lock:
            process, conn = self._process, self._conn
        if process is None:
            return
        if process.is_alive() and not self.busy:
            try:
                with self._lock:
                    conn.send(("quit",))
            except OSError:
                pass
            process.join(timeout)
        if process.is_alive():
            process.terminate()
            process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(timeout)
        with self._lock:
            if self._process is process:
                self._discard()

    def unload(self) -> bool:
        """End an idle worker, giving back all its memory (a loaded model's, the GPU's). False: busy."""
        if self.busy:
            return False
        self._end()
        return True

    def close(self, timeout: float = 3.0) -> None:
        """Stop a running call (at its next step, or by ending the worker after `timeout`) and end the worker."""
        self._closing = True  # (a running call's relay sees it and passes the stop on)
        deadline = time.monotonic() + timeout
        while self.busy and time.monotonic() < deadline:
            time.sleep(POLL_S)
        self._end()

    # -- calls --------------------------------------------------------------------------------
    def call(self, ctx, target: str, request: Any = None) -> Any:
        """Run `target` ("module:function") as `fn(request, ctx)` in the worker, relaying to `ctx`."""
        with self._calling:
            process, conn = self._started()
            self._served += 1
            if self._served == 1 and ctx is not None:  # its imports (perhaps begun by warm()) come first
                _quietly(ctx.progress, 0, None, f"starting {self.label}")
            cancel = self._cancel
            cancel.clear()
            try:
                self._send(("call", target, request))
            except OSError:
                raise self._died(process, False) from None
            return self._relay(ctx, process, conn, cancel)

    def _relay(self, ctx, process, conn, cancel) -> Any:
        stop_asked: float | None = None
        while True:
            if stop_asked is None and (self._closing or (ctx is not None and ctx.cancelled)):
                cancel.set()
                stop_asked = time.monotonic()
            if stop_asked is not None and time.monotonic() - stop_asked > self.cancel_grace_s:
                log.warning("the %s process did not stop within %.0f s; ending it", self.name, self.cancel_grace_s)
                self._end()
                raise JobCancelled()
            try:
                ready = conn.poll(POLL_S)
                message = conn.recv() if ready else None
            except (EOFError, OSError):
                message = None
                process.join(1.0)
            if message is None:
                if not process.is_alive():
                    raise self._died(process, stop_asked is not None)
                continue
            kind = message[0]
            if kind == "progress":
                _quietly(ctx.progress if ctx is not None else None, *message[1:])
            elif kind == "preview":
                _quietly(ctx.preview if ctx is not None else None, message[1])
            elif kind == "log":
                logging.getLogger(message[2]).log(message[1], "%s", message[3])
            elif kind == "done":
                return message[1]
            elif kind == "cancelled":
                raise JobCancelled(partial=message[1])
            elif kind == "user-error":
                raise UserError(message[1])
            elif kind == "error":
                log.error("%s failed in the %s process:\n%s", message[1], self.name, message[2])
                raise RuntimeError(message[1])

    def _died(self, process, stopping: bool) -> Exception:
        with self._lock:
            if self._process is process:
                self._discard()
        if stopping or self._closing:
            return JobCancelled()
        code = process.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            try:
                how = f"signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"signal {-code}"
        hint = " The system may have run out of memory." if code == -signal.SIGKILL else ""
        log.error("the %s process ended during a job (%s)", self.name, how)
        return UserError(f"{self.label.capitalize()} stopped unexpectedly ({how}).{hint} Nothing in the library was "
                         "touched; the next job starts a fresh process and loads the model again.")


def _quietly(fn, *args) -> None:
    """Tell the job's context; its own cancel check is ignored here (the relay passes the stop on)."""
    if fn is None:
        return
    with contextlib.suppress(JobCancelled):
        fn(*args)


# -- in the worker ----------------------------------------------------------------------------
class _WorkerContext:
    """What the function sees in the worker: a JobContext's calls, sent down the pipe."""

    def __init__(self, send, cancel):
        self._send, self._cancel = send, cancel

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled()

    def progress(self, step: int, total: int | None = None, message: str | None = None) -> None:
        self._send(("progress", step, total, message))
        self.check_cancelled()

    def preview(self, image: Any) -> None:
        self._send(("preview", image))


class _Forward(logging.Handler):
    def __init__(self, send):
        super().__init__(logging.INFO)
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # a record that cannot be sent is not worth a failed job
            self._send(("log", record.levelno, record.name, record.getMessage()))


def _resolve(target: str):
    from desktop.bundle import missing_stack

    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:  # PyTorch left out (a bundle) or not installed: one sentence
        said = missing_stack(exc)
        if said is None:
            raise
        raise said from None


def _watch_parent(parent_pid: int) -> None:
    """End the worker when the window's process is gone (it would hold the GPU for no one)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(0)


def _lower_priority() -> None:
    """Render below the window: it takes every core the window is not using, and the window gets
    one at once when it needs it (a render using every core cannot then delay a paint)."""
    # (Windows has no nice; a refused change leaves the priority as it is)
    with contextlib.suppress(AttributeError, OSError):
        os.nice(worker_niceness())


def worker_niceness() -> int:
    """How far below the window the worker runs: NICENESS, or TESSERA_WORKER_NICENESS (0 to 19)."""
    value = os.environ.get(NICENESS_ENV, "").strip()
    try:
        return min(max(int(value), 0), 19) if value else NICENESS
    except ValueError:
        log.warning("%s=%r is not a number from 0 to 19; the worker runs %d below the window",
                    NICENESS_ENV, value, NICENESS)
        return NICENESS


def _worker_main(conn, cancel, parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is the window's to handle
    _lower_priority()
    lock = threading.Lock()

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.handlers[:] = [_Forward(send)]
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="watch-parent").start()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "quit":
            return
        if message[0] == "warm":
            for module in message[1]:
                try:
                    importlib.import_module(module)
                except Exception as exc:  # the job that needs it says so, in its own words
                    logging.getLogger("tessera.worker").warning("could not import %s: %s", module, exc)
            continue
        _, target, request = message
        ctx = _WorkerContext(send, cancel)
        try:
            reply = ("done", _resolve(target)(request, ctx))
        except JobCancelled as stop:
            reply = ("cancelled", stop.partial)
        except UserError as exc:
            reply = ("user-error", str(exc))
        except BaseException as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
        try:
            send(reply)
        except Exception as exc:  # a result that cannot be pickled
            send(("error", f"the result could not be sent back ({type(exc).__name__}: {exc})",
                  traceback.format_exc()))
