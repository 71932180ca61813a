"""UI thread responsiveness: the longest gap between 5 ms timer ticks on the Qt main thread while
the window generates 1024x1024 tiles (with QA), imports a folder, and renders two diffusion tiles
on the CPU (a small random UNet: the first job loads the model, importing torch and diffusers in
the render process; the second only samples), against the same timer with the window idle (the
baseline, same run). Offscreen Qt; prints JSON. Goal: no gap > 50 ms.

    python benchmarks/responsiveness.py
    python benchmarks/responsiveness.py --clip-here     # CLIP loaded in this process, as before

It ends with the first text search, which loads a tiny random CLIP (the same imports as
ViT-B-32) in its worker process.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TESSERA_GPU_PROBE", "off")

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication
from timing import save_small_model, save_tiny_clip

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "textures" / "seamless"


class Watchdog:
    def __init__(self):
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def start(self):
        self.gaps.clear()
        self.clock.start()
        self.timer.start()

    def _tick(self):
        self.gaps.append(self.clock.restart())

    def stop(self) -> dict:
        self.timer.stop()
        gaps = sorted(self.gaps) or [0]
        return {"ticks": len(gaps), "max_gap_ms": gaps[-1], "p99_gap_ms": gaps[int(len(gaps) * 0.99) - 1]}


def pump(app, seconds: float, until=None) -> None:
    """Run the event loop; `until` (which may query the library) is asked only every 100 ms, so the
    benchmark's own checks do not load the UI thread the app itself never loads that way."""
    end = time.perf_counter() + seconds
    next_check = 0.0
    while time.perf_counter() < end:
        if until and time.perf_counter() >= next_check:
            if until():
                return
            next_check = time.perf_counter() + 0.1
        app.processEvents()
        time.sleep(0.001)


def diffuse(app, window, dog: Watchdog, folder: Path) -> dict:
    """Two 256² diffusion jobs of two tiles, 8 steps: the first loads the model, the second samples."""
    from desktop.config import resolve_paths
    from desktop.engine.diffusion.registry import ModelRegistry

    save_small_model(folder)  # by another process: torch stays out of this one
    ModelRegistry(resolve_paths().config_dir / "models.json").add(str(folder), name="small")
    window._load_models()
    brief = window.brief
    brief.engine.setCurrentIndex(brief.engine.findData("small"))
    brief.prompt.setText("a damask wallpaper")
    brief.width_spin.setValue(256)
    brief.height_spin.setValue(256)
    brief.steps.setValue(8)
    brief.count.setValue(2)
    out = {}
    for phase in ("diffusion_first_job_loading_the_model", "diffusion_second_job"):
        before = window.lib.count()
        dog.start()
        brief.request_generate()
        pump(app, 600, until=lambda target=before + 2: window.lib.count() >= target)
        out[phase] = dog.stop()
    return out


def search_text(app, window, dog: Watchdog, folder: Path, in_this_process: bool) -> dict:
    """The first text search: it loads CLIP (in its worker process, or with --clip-here, on an IO
    thread of this one, as the window did before) and embeds the library for it."""
    config, weights, name = save_tiny_clip(folder)  # (the same imports as ViT-B-32, a tiny model)
    os.environ.update(TESSERA_CLIP_CONFIG=str(config), TESSERA_CLIP_MODEL=name, TESSERA_CLIP_WEIGHTS=str(weights))
    if in_this_process:
        from desktop.library import search

        real = search.ensure_clip
        search.ensure_clip = lambda *args, **kw: real(*args, **{**kw, "worker": None})
    dog.start()
    window.library.search.setText("damask")
    window.library.search.returnPressed.emit()
    pump(app, 300, until=lambda: "(CLIP)" in window.library.header.text())
    pump(app, 1.0)
    return dog.stop()


def main() -> None:
    clip_here = "--clip-here" in sys.argv
    home = tempfile.mkdtemp()
    os.environ["TESSERA_HOME"] = home
    from desktop.ui.app import create_window

    app = QApplication.instance() or QApplication([])
    window = create_window(app, show_crash_dialogs=False)
    window.show()
    # start-up settles first: the library opens and its index loads (LanceDB's import holds the
    # interpreter lock for a few hundred ms, once, while the status bar says so)
    pump(app, 60, until=lambda: window.lib is not None and all(s.state.finished for s in window.queue.jobs()))
    dog = Watchdog()
    dog.start()
    pump(app, 2.0)
    idle = dog.stop()
    window.brief.width_spin.setValue(1024)
    window.brief.height_spin.setValue(1024)
    window.brief.count.setValue(3)
    window.brief.set_style("toss")
    dog.start()
    window.brief.request_generate()
    pump(app, 120, until=lambda: window.lib.count() >= 3 and window.library.count() >= 3)
    generating = dog.stop()
    folder = Path(home) / "incoming"
    folder.mkdir()
    for path in sorted(SHARED.glob("*.jpg"))[:10]:
        shutil.copy(path, folder / path.name)
    before = window.lib.count()
    dog.start()
    window.import_paths([str(folder)])
    pump(app, 120, until=lambda: window.lib.count() >= before + len(list(folder.iterdir())))
    pump(app, 1.0)
    importing = dog.stop()
    diffusing = diffuse(app, window, dog, Path(home) / "small-sd")
    searching = search_text(app, window, dog, Path(home) / "clip", clip_here)
    window.shutdown()
    print(json.dumps({"benchmark": "responsiveness", "goal_max_gap_ms": 50, "idle": idle,
                      "generating_3_tiles_1024": generating, "importing_10_textures": importing, **diffusing,
                      "first_text_search_loading_clip" + ("_in_this_process" if clip_here else ""): searching,
                      "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "platform": platform.platform()}}, indent=2))


if __name__ == "__main__":
    main()
