"""Cold start to the first painted window, against a bare `import PySide6.QtWidgets`.

Each sample is a fresh Python process, timed from just before it is spawned until it
reports its first Paint event on the main window (the window script) or exits (the
baseline). Prints JSON: medians of 5, and their ratio.

    python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WINDOW = r"""
import sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication
from desktop.ui.app import create_window

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Paint:
            print("PAINTED", flush=True)
            import os
            os._exit(0)
        return False

app = QApplication(sys.argv)
window = create_window(app)
watch = FirstPaint()
window.preview.canvas.installEventFilter(watch)
window.show()
app.exec()
"""

BASELINE = "import PySide6.QtWidgets"


def time_process(code: str, env: dict[str, str], marker: str | None) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if marker:
        for line in proc.stdout:
            if marker in line:
                break
        elapsed = time.perf_counter() - start
        proc.wait(30)
    else:
        proc.communicate(timeout=60)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark process failed ({proc.returncode})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, TESSERA_HOME=home)
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
        time_process(WINDOW, env, "PAINTED")  # warm the file cache once; not counted
        window = [time_process(WINDOW, env, "PAINTED") for _ in range(args.runs)]
        baseline = [time_process(BASELINE, env, None) for _ in range(args.runs)]
    result = {
        "benchmark": "startup",
        "runs": args.runs,
        "qpa_platform": env["QT_QPA_PLATFORM"],
        "window_first_paint_s": round(statistics.median(window), 3),
        "bare_qtwidgets_import_s": round(statistics.median(baseline), 3),
        "ratio": round(statistics.median(window) / statistics.median(baseline), 2),
        "goal_s": 1.5,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
