"""Take the README's window screenshots (window.png, diffusion-brief.png, models.png, train-lora.png,
training.png, colourways-dialog.png, colourways.png, compare.png, mockups.png and, where the shared
photos are beside the repository, kaleidoscope.png) from a fresh home folder.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots.py

(or with QT_QPA_PLATFORM=offscreen). A tiny random diffusion model and LoRA are made on the fly
so the diffusion Brief can be shown without weights; nothing is downloaded.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

# the render process re-imports this file (spawn): it keeps the home folder the window made
HOME = Path(os.environ.get("TESSERA_SHOTS_HOME") or tempfile.mkdtemp(prefix="tessera-shots-"))
os.environ["TESSERA_SHOTS_HOME"] = os.environ["TESSERA_HOME"] = str(HOME)
os.environ.setdefault("TESSERA_GPU_PROBE", "off")
DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))

from PySide6.QtWidgets import QApplication  # noqa: E402


def pump(app, seconds: float, until=None) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        if until is not None and until():
            return
        time.sleep(0.01)


def four_of(window, style: str, repeat: str):
    """The Brief set to four 768 px tiles of `style` in art-deco on the procedural engine."""
    brief = window.brief
    brief.engine.setCurrentIndex(brief.engine.findData("procedural"))
    brief.set_style(style)
    brief.repeat.setCurrentIndex(brief.repeat.findData(repeat))
    brief.width_spin.setValue(768)
    brief.height_spin.setValue(768)
    brief.palette_combo.setCurrentIndex(brief.palette_combo.findData("art-deco"))
    brief.count.setValue(4)
    return brief


def tiny_model_and_lora() -> tuple[Path, Path]:
    import torch
    from peft import LoraConfig, get_peft_model

    from tiny_sd import tiny_pipeline, tiny_unet

    tiny_pipeline(HOME).save_pretrained(HOME / "models" / "tiny-sd15")
    torch.manual_seed(3)
    model = get_peft_model(tiny_unet(), LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                                   target_modules=["to_q", "to_v"]))
    model.save_pretrained(str(HOME / "loras" / "gilded-deco"))
    (HOME / "loras" / "gilded-deco" / "adapter_model.txt").write_text("gilded deco fans")
    return HOME / "models" / "tiny-sd15", HOME / "loras" / "gilded-deco"


def main() -> None:
    from desktop.config import resolve_paths
    from desktop.engine.diffusion.registry import ModelRegistry
    from desktop.ui.app import create_window

    model, lora = tiny_model_and_lora()
    ModelRegistry(resolve_paths().config_dir / "models.json").add(str(model), name="tiny-sd15")
    app = QApplication.instance() or QApplication([])
    window = create_window(app, show_crash_dialogs=False)
    window.resize(1560, 960)
    window.show()
    pump(app, 60, until=lambda: window.lib is not None)

    brief = four_of(window, "toss", "half-drop")
    brief.request_generate()
    pump(app, 180, until=lambda: window.lib.count() >= 4 and window.library.count() >= 4)
    window.library.select_row(0)
    pump(app, 60, until=lambda: window.preview.palette_strip.isVisible())
    pump(app, 1.0)
    window.grab().save(str(DOCS / "window.png"))

    brief.engine.setCurrentIndex(brief.engine.findData("tiny-sd15"))
    brief.prompt.setText("art deco fans, gold leaf on deep navy, wallpaper")
    brief.negative_prompt.setText("text, watermark, blurry")
    brief.loras.add(str(lora), 0.8)
    pump(app, 0.5)
    window.grab().save(str(DOCS / "diffusion-brief.png"))

    from tiny_sd import tiny_sdxl_pipeline

    tiny_sdxl_pipeline(HOME).save_pretrained(HOME / "models" / "tiny-sdxl")
    window.show_models()
    dialog = window._models
    dialog.add(str(HOME / "models" / "tiny-sdxl"))
    pump(app, 60, until=lambda: not dialog.pending)
    dialog.resize(900, 360)
    pump(app, 0.5)
    dialog.grab().save(str(DOCS / "models.png"))
    dialog.close()

    for item in window.lib.list()[:3]:  # three approved tiles to train a style LoRA on
        window.lib.update(item["id"], status="approved")
    training = window.training.dialog()
    training.model.setCurrentIndex(training.model.findData("tiny-sd15"))
    training.name.setText("deco-fans")
    training.trigger.setText("tsr-deco")
    training.steps.setValue(400)
    training.resolution.setValue(64)
    training.samples.setValue(8)
    training.show()
    pump(app, 0.5)
    training.grab().save(str(DOCS / "train-lora.png"))
    training.accept()
    window.training.train(training)
    # the first sample (random weights draw noise, but through the repeat) in the Preview
    pump(app, 180, until=lambda: window.preview.caption.text().startswith("Training…"))
    pump(app, 1.0)
    window.grab().save(str(DOCS / "training.png"))
    pump(app, 300, until=lambda: window.brief.loras.table.rowCount() == 2)
    colourways(app, window)
    compare(app, window)
    mockups(app, window)
    kaleidoscope(app, window)
    window.shutdown()
    print(f"screenshots written to {DOCS}")


def colourways(app, window) -> None:
    """Tile ▸ Colourways… on a toss tile: the dialog, then the colourways in the library."""
    from PySide6.QtCore import Qt

    from desktop.ui.colourways_dialog import ColourwaysDialog

    toss = next(row for row in range(window.library.count())
                if window.library.model.entries[row].metadata.get("style") == "toss")
    window.library.select_row(toss)
    pump(app, 30, until=lambda: window.current is not None and window.current.image is not None)
    before = window.lib.count()

    def answer(dialog):
        for row in range(dialog.palettes.count()):
            item = dialog.palettes.item(row)
            item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in ("botanical", "indigo-dye", "sorbet",
                                                                       "terracotta") else Qt.Unchecked)
        dialog.resize(520, 470)
        dialog.show()
        pump(app, 0.5)
        dialog.grab().save(str(DOCS / "colourways-dialog.png"))
        return ColourwaysDialog.Accepted

    ColourwaysDialog.exec = answer
    window.tile_actions.colourways()
    pump(app, 120, until=lambda: window.lib.count() >= before + 4 and window.library.count() >= before + 4)
    pump(app, 2.0)
    window.grab().save(str(DOCS / "colourways.png"))


def compare(app, window) -> None:
    """Compare on the four colourways just made: the first approved, the second rated."""
    from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
    from PySide6.QtTest import QTest

    from desktop.ui.compare_dialog import CompareDialog

    model, selection = window.library.model, window.library.list.selectionModel()
    selection.select(QItemSelection(model.index(0), model.index(3)), QItemSelectionModel.ClearAndSelect)
    window.compare_selected()
    dialog = window.findChildren(CompareDialog)[-1]
    pump(app, 30, until=lambda: all(cell.canvas.has_tile() for cell in dialog.cells))
    QTest.keyClick(dialog.cells[0].canvas, Qt.Key_P)
    QTest.keyClick(dialog.cells[0].canvas, Qt.Key_Right)
    QTest.keyClick(dialog.cells[1].canvas, Qt.Key_4)
    pump(app, 1.0)
    dialog.grab().save(str(DOCS / "compare.png"))
    dialog.close()


def mockups(app, window) -> None:
    """Tile ▸ Mockups on the first toss tile, on the wall at 9 in."""
    from desktop.ui.mockup_dialog import MockupDialog

    toss = next(row for row in range(window.library.count())
                if window.library.model.entries[row].metadata.get("style") == "toss")
    window.library.select_row(toss)
    pump(app, 30, until=lambda: window.current is not None and window.current.image is not None)
    window.tile_actions.mockups()
    dialog = next(w for w in app.topLevelWidgets() if isinstance(w, MockupDialog) and w.isVisible())
    dialog.products.setCurrentIndex(0)
    dialog.units.setCurrentIndex(dialog.units.findData("in"))
    dialog.width_spin.setValue(9.0)
    pump(app, 60, until=lambda: dialog.shown is not None and dialog.shown.product == "wall"
         and abs(dialog.shown.tile_in[0] - 9.0) < 1e-6)
    pump(app, 0.5)
    dialog.grab().save(str(DOCS / "mockups.png"))
    dialog.close()


def kaleidoscope(app, window) -> None:
    """A photo folded by p4m into art-deco inks: the Brief's options and four seeds in the library."""
    photo = DOCS.parent.parent / "shared" / "data" / "textures" / "photos" / "rocket-launch.jpg"
    if not photo.is_file():
        print(f"kaleidoscope.png not taken: {photo} is not there")
        return
    brief = four_of(window, "kaleidoscope", "basic")
    brief.set_option("image_path", str(photo))
    brief.set_option("group", "p4m")
    before = window.lib.count()
    brief.request_generate()
    pump(app, 180, until=lambda: window.lib.count() >= before + 4 and window.library.count() >= before + 4)
    window.library.select_row(0)
    pump(app, 60, until=lambda: window.current is not None and window.current.image is not None)
    pump(app, 1.5)
    window.grab().save(str(DOCS / "kaleidoscope.png"))


if __name__ == "__main__":
    main()
