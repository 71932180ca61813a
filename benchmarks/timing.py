"""Shared by the benchmark scripts: median timing, a description of the machine, and the random
models the window benchmarks render with (saved by another process, so torch stays out of theirs)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def save_small_model(folder: Path) -> Path:
    """The small random UNet of benchmarks/diffusion.py, saved as a diffusers folder."""
    code = "import sys, torch, diffusion; diffusion.build('small', 'cpu', torch.float32).save_pretrained(sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, str(folder)], cwd=HERE, check=True, capture_output=True)
    return folder


def save_tiny_clip(folder: Path) -> tuple[Path, Path, str]:
    """The tests' tiny random CLIP (tests/tiny_clip.py): (its config, its weights, its name)."""
    code = "import sys; from pathlib import Path; from tiny_clip import make_tiny_clip; make_tiny_clip(Path(sys.argv[1]))"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", code, str(folder)], cwd=HERE.parent / "tests", check=True, capture_output=True)
    name = "tessera-tiny-clip"
    return folder / f"{name}.json", folder / "tiny.safetensors", name


def median_ms(fn, runs: int) -> float:
    """Median wall time of `runs` calls of fn(), in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def interleaved_ms(fns: dict, runs: int) -> dict[str, float]:
    """Median wall time in ms of each of `fns` (name -> fn), the calls taken in turn, one of each per round:
    a ratio of two of them then compares calls made side by side, so a minute's slowdown of this shared
    machine (it moves a run by ±20 %) falls on both."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


SEAMLESS = HERE.parents[1] / "shared" / "data" / "textures" / "seamless"


def texture_crops(count: int, size: int = 512) -> tuple[list, str]:
    """`count` tiles: size-px crops of the shared seamless textures where ../shared is present,
    topped up with random noise of that size; and a line saying which."""
    import numpy as np

    sys.path.insert(0, str(HERE.parent))
    from desktop.engine.images import load_rgb

    found = sorted(SEAMLESS.glob("*.jpg"))[:count] if SEAMLESS.is_dir() else []
    made = [np.ascontiguousarray(load_rgb(p)[:size, :size]) for p in found]
    rng = np.random.default_rng(0)
    while len(made) < count:
        made.append(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    noise = len(made) - len(found)
    return made, (f"{len(found)} shared seamless textures, {size} px crops" if found else "") + (
        f"{' + ' if found else ''}{noise} random noise, {size} px" if noise else "")
