"""Preview frame time: one paint of a 3x3 repeat of a 1024x1024 tile, fitted in a 1200x900 view,
divided by one 60 Hz frame (16.7 ms). Also 100 % zoom (the painter draws only visible copies),
a half-drop tile, and a QA overlay on top. Offscreen Qt; prints JSON. Goal: ratio <= 0.3.

    python benchmarks/preview.py [--frames 30]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtWidgets import QApplication

from desktop.engine import procedural
from desktop.engine.qa.overlay import heat_rgba
from desktop.palettes import parse_palette
from desktop.ui.preview import RepeatCanvas

FRAME_MS = 1000 / 60


def frame_ms(canvas: RepeatCanvas, frames: int) -> float:
    times = []
    for _ in range(frames):
        before = canvas.paint_count
        start = time.perf_counter()
        canvas.grab()  # renders the widget now, through its paintEvent
        times.append((time.perf_counter() - start) * 1000)
        assert canvas.paint_count == before + 1, "the canvas did not paint"
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    canvas = RepeatCanvas()
    canvas.resize(1200, 900)
    canvas.show()
    tile = (procedural.render("toss", {}, "half-drop", 1024, 1024, parse_palette("botanical"), 1) * 255).astype(np.uint8)
    rows = {}
    canvas.set_tile(tile, "basic")
    canvas.set_repeats(3)
    canvas.fit()
    frame_ms(canvas, 3)
    rows["3x3 fit, basic"] = frame_ms(canvas, args.frames)
    canvas.set_tile(tile, "half-drop")
    rows["3x3 fit, half-drop"] = frame_ms(canvas, args.frames)
    canvas.set_overlay(heat_rgba(np.random.default_rng(0).random((1024, 1024)).astype(np.float32)))
    rows["3x3 fit, half-drop + overlay"] = frame_ms(canvas, args.frames)
    canvas.set_overlay(None)
    canvas.actual_size()
    rows["3x3 at 100 %"] = frame_ms(canvas, args.frames)
    print(json.dumps({"benchmark": "preview", "frame_budget_ms": round(FRAME_MS, 1), "goal_ratio": 0.3,
                      "results": [{"case": k, "paint_ms": round(v, 2), "ratio": round(v / FRAME_MS, 3)}
                                  for k, v in rows.items()],
                      "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "platform": platform.platform()}}, indent=2))
    app.quit()


if __name__ == "__main__":
    main()
