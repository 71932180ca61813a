"""Job functions for test_worker_process.py, named by 'worker_jobs:NAME' and run in a worker process."""

import logging
import os
import time

import numpy as np

from desktop.errors import UserError
from desktop.jobs import JobCancelled

CALLS = {"n": 0}


def steps(request, ctx):
    for k in range(request["steps"]):
        ctx.preview(np.full((4, 4, 3), k, np.uint8))
        ctx.progress(k + 1, request["steps"], f"step {k + 1}")
    return {"pid": os.getpid(), "image": np.arange(12, dtype=np.uint8).reshape(2, 2, 3)}


def count(request, ctx):
    CALLS["n"] += 1
    return CALLS["n"]


def refuse(request, ctx):
    raise UserError("that brief asks for a model that is not there")


def bug(request, ctx):
    return {}["missing"]


def stops_with_part(request, ctx):
    made = []
    for k in range(10_000):
        time.sleep(0.01)
        made.append(k)
        if ctx.cancelled:
            raise JobCancelled(partial=made)
        try:
            ctx.progress(k + 1, 10_000, "making parts")  # the test stops it once a part is made
        except JobCancelled:  # progress honours a stop too: the part made goes with it
            raise JobCancelled(partial=made) from None
    return made


def never_stops(request, ctx):
    if ctx is not None:
        ctx.progress(0, 1, "inside the job")  # the test knows the worker is in it
    time.sleep(600)


def crash(request, ctx):
    os._exit(3)


def warn(request, ctx):
    logging.getLogger("tessera.diffusion").warning("No CUDA GPU found: %s", "rendering on the CPU")
    return True


def unpicklable(request, ctx):
    return lambda: None
