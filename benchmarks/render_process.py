"""What rendering in the worker process costs: one diffusion tile through `WorkerProcess` (as the
window renders) against the same `run_generate` on a thread of this process (as the window did,
and as the command line still does), both as jobs of a JobQueue with a live preview at every step.

The small random UNet of benchmarks/diffusion.py, 256 px, half-drop, 8 steps, on the CPU (on CUDA
when there is one). Both sides are warm (their model loaded by an untimed first job), and run
round by round, alternating, median of --runs. Also timed: each side's first job, which imports
torch and diffusers and loads the model (the worker's first, so this process has not imported
torch before its own), the worker's also starting its process. Prints JSON. Goal for the warm
ratio: <= 1.03.

    python benchmarks/render_process.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from timing import machine, save_small_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--poll-ms", type=float, default=100.0,
                        help="how often this process looks at the job (the window's bridge: 100 ms)")
    args = parser.parse_args()

    from desktop.engine.generate import GenerateRequest, run_generate
    from desktop.jobs import JobQueue
    from desktop.worker_process import WorkerProcess

    folder = save_small_model(Path(tempfile.mkdtemp()) / "small-sd")
    request = GenerateRequest(engine="diffusion", model=str(folder), prompt="a damask wallpaper", repeat="half-drop",
                              width=args.size, height=args.size, steps=args.steps, count=1)
    queue, worker = JobQueue(), WorkerProcess()
    previews = {"worker": 0, "thread": 0}

    def job(side: str, fn) -> float:
        start = time.perf_counter()
        done = queue.submit(side, fn)
        last = None
        while not done.wait(args.poll_ms / 1000):  # look at the previews, as the window's bridge does
            preview = done.preview
            if preview is not None and preview is not last:
                previews[side] += 1
                last = preview
        elapsed = time.perf_counter() - start
        if done.error:
            raise SystemExit(f"{side}: {done.error}")
        return elapsed

    sides = {
        "worker": lambda ctx: worker.call(ctx, "desktop.engine.generate:run_generate", request),
        "thread": lambda ctx: run_generate(request, ctx),
    }
    first = {side: job(side, fn) for side, fn in sides.items()}
    previews = {"worker": 0, "thread": 0}
    times: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(args.runs):
        for side, fn in sides.items():
            times[side].append(job(side, fn))
    worker.close()
    queue.shutdown()
    median = {side: statistics.median(values) for side, values in times.items()}
    print(json.dumps({
        "benchmark": "render_process", "size": args.size, "steps": args.steps, "runs": args.runs,
        "poll_ms": args.poll_ms,
        "warm_s": {side: round(v, 3) for side, v in median.items()},
        "warm_ratio_worker_over_thread": round(median["worker"] / median["thread"], 3),
        "first_job_s": {side: round(v, 3) for side, v in first.items()},
        "previews_looked_at_per_job": {side: round(n / args.runs, 1) for side, n in previews.items()},
        "goal_warm_ratio": 1.03, "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
