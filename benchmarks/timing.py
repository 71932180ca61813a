"""Shared by the benchmark scripts: median timing and a description of the machine."""

from __future__ import annotations

import os
import platform
import statistics
import time


def median_ms(fn, runs: int) -> float:
    """Median wall time of `runs` calls of fn(), in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
