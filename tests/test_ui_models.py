"""Generate ▸ Models: adding (hashed as a job, with Stop), trusting a pickle, renaming, removing
with undo, dropping files, and the Brief's engine list following along."""

import json
import time

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.jobs import JobState

torch = pytest.importorskip("torch")


def _checkpoint(path, xl=False):
    from safetensors.torch import save_file

    key = "conditioner.embedders.1.model.w" if xl else "model.diffusion_model.out.0.weight"
    save_file({key: torch.zeros(4)}, str(path))
    return path


def _select(dialog, row):
    """Select one row whatever modifier state earlier synthetic key events left behind."""
    from PySide6.QtCore import QItemSelectionModel

    index = dialog.table.model().index(row, 0)
    dialog.table.selectionModel().select(index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)


def _engines(window):
    combo = window.brief.engine
    return [combo.itemData(i) for i in range(combo.count())]


@pytest.fixture
def dialog(window, qtbot):
    window.brief.models_button.click()
    found = window.briefs.models_dialog
    qtbot.waitUntil(found.isVisible)
    yield found
    found.close()


def _wait_added(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog.pending, timeout=20_000)


def test_the_menu_and_the_brief_open_the_dialog(window, dialog):
    action = next(a for a in window.findChildren(type(window.generate_action)) if a.text() == "&Models…")
    assert action.shortcut().toString() == "Ctrl+Shift+M"
    assert dialog.table.rowCount() == 0
    assert "No models yet" in dialog.status.text()
    assert not dialog.remove_button.isEnabled() and not dialog.undo_button.isEnabled()


def test_adding_a_checkpoint_hashes_it_as_a_job_and_the_brief_can_use_it(window, dialog, qtbot, tmp_path):
    dialog.add(str(_checkpoint(tmp_path / "house-style.safetensors", xl=True)))
    assert dialog.pending and dialog.progress.isVisible()
    _wait_added(qtbot, dialog)
    assert dialog.table.rowCount() == 1
    row = [dialog.table.item(0, c).text() for c in range(dialog.table.columnCount())]
    assert row[:3] == ["house-style", "SDXL", "checkpoint"] and len(row[3]) == 12
    assert "Added house-style" in dialog.status.text()
    assert not dialog.progress.isVisible()
    assert "house-style" in _engines(window)  # the Brief's engine list follows at once
    assert window.brief.engine.itemText(1) == "house-style (SDXL)"
    job = [j for j in window.queue.jobs() if j.kind == "add-model"][-1]
    assert job.state is JobState.DONE and job.title == "Adding model house-style.safetensors"
    stored = json.loads((window.paths.config_dir / "models.json").read_text())["models"]
    assert [m["name"] for m in stored] == ["house-style"]


def test_a_bad_file_is_explained_and_nothing_is_added(window, dialog, qtbot, tmp_path):
    (tmp_path / "broken.safetensors").write_bytes(b"\x05")
    dialog.add(str(tmp_path / "broken.safetensors"))
    _wait_added(qtbot, dialog)
    assert "broken.safetensors was not added" in dialog.status.text()
    assert "not a readable .safetensors file" in dialog.status.text()
    assert dialog.table.rowCount() == 0 and not dialog.progress.isVisible()


def _answer_pickle_box(button_text):
    def answer():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        assert "pickle file" in box.text()
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(20, answer)


def test_a_pickle_is_added_only_once_the_user_trusts_it(window, dialog, qtbot, tmp_path):
    path = tmp_path / "old-model.ckpt"
    torch.save({"state_dict": {"model.diffusion_model.out.0.weight": torch.ones(2)}}, path)
    _answer_pickle_box("Cancel")
    dialog.add(str(path))
    assert not dialog.pending and dialog.table.rowCount() == 0
    assert "was not added" in dialog.status.text()
    _answer_pickle_box("Trust and add")
    dialog.add(str(path))
    _wait_added(qtbot, dialog)
    (entry,) = dialog.registry.entries()
    assert (entry.name, entry.family, entry.trusted_pickle) == ("old-model", "sd15", True)


def test_rename_in_place_refuses_a_taken_name(window, dialog, qtbot, tmp_path):
    for name in ("a", "b"):
        dialog.add(str(_checkpoint(tmp_path / f"{name}.safetensors")))
        _wait_added(qtbot, dialog)
    window.brief.engine.setCurrentIndex(window.brief.engine.findData("a"))
    dialog.table.item(0, 0).setText("damask house")
    assert [e.name for e in dialog.registry.entries()] == ["damask house", "b"]
    assert window.brief.engine.currentData() == "damask house"  # the Brief keeps its choice
    assert "damask house" in _engines(window) and "a" not in _engines(window)
    dialog.table.item(1, 0).setText("damask house")
    assert "Not renamed" in dialog.status.text() and "already registered" in dialog.status.text()
    assert dialog.table.item(1, 0).text() == "b"  # the cell shows what the registry holds


def test_remove_forgets_the_model_not_its_file_and_undo_puts_it_back(window, dialog, qtbot, tmp_path):
    files = [_checkpoint(tmp_path / f"{name}.safetensors") for name in ("first", "second", "third")]
    for path in files:
        dialog.add(str(path))
    _wait_added(qtbot, dialog)
    before = [e.name for e in dialog.registry.entries()]  # in the order the hashing finished
    assert sorted(before) == ["first", "second", "third"]
    _select(dialog, before.index("second"))
    assert dialog.remove_button.isEnabled()
    dialog.remove_button.click()
    assert [e.name for e in dialog.registry.entries()] == [n for n in before if n != "second"]
    assert files[1].exists() and "second" not in _engines(window)
    assert "untouched" in dialog.status.text() and dialog.undo_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key_Z, Qt.ControlModifier)
    assert [e.name for e in dialog.registry.entries()] == before  # back where it stood
    assert "second" in _engines(window) and not dialog.undo_button.isEnabled()


def test_a_model_whose_files_are_gone_is_marked(window, dialog, qtbot, tmp_path):
    path = _checkpoint(tmp_path / "moved.safetensors")
    dialog.add(str(path))
    _wait_added(qtbot, dialog)
    twin = tmp_path / "copy.safetensors"
    twin.write_bytes(path.read_bytes())
    dialog.add(str(twin))
    _wait_added(qtbot, dialog)
    assert "the same weights as moved" in dialog.status.text()
    path.unlink()
    window.briefs.show_models()  # opening it again looks again
    assert dialog.table.item(0, 4).text().endswith("(missing)")
    assert "gone" in dialog.table.item(0, 4).toolTip()
    window.briefs.load_models()
    assert window.brief.engine.itemText(1) == "moved (SD 1.5, missing)"


def test_stop_cancels_the_hashing_and_registers_nothing(window, dialog, qtbot, tmp_path, monkeypatch):
    from desktop.engine.diffusion import registry as module

    real = module._hash_files

    def slow(paths, progress=None):  # the real hashing, a block at a time, slowly
        def slowed(done, total):
            time.sleep(0.05)
            progress(done, total)
        return real(paths, slowed)

    monkeypatch.setattr(module, "BLOCK", 1024)
    monkeypatch.setattr(module, "_hash_files", slow)
    path = tmp_path / "big.safetensors"
    _checkpoint(path)
    with open(path, "ab") as fh:
        fh.write(bytes(400 * 1024))
    dialog.add(str(path))
    qtbot.waitUntil(lambda: dialog.progress.maximum() == 1000 and "Hashing big" in dialog.progress.format(),
                    timeout=20_000)
    dialog.stop_button.click()
    _wait_added(qtbot, dialog)
    assert "big.safetensors was not added: Cancelled" in dialog.status.text()
    assert dialog.registry.entries() == [] and dialog.table.rowCount() == 0


def test_dropping_files_and_folders_adds_them(window, dialog, qtbot, tmp_path):
    folder = tmp_path / "my-sd15"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768}))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder)), QUrl.fromLocalFile(str(_checkpoint(tmp_path / "x.safetensors")))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    dialog.dropEvent(event)
    _wait_added(qtbot, dialog)
    assert sorted((e.name, e.kind) for e in dialog.registry.entries()) == [
        ("my-sd15", "diffusers-folder"), ("x", "single-file")]


def test_the_brief_advises_on_sizes_far_from_the_models_own(window, dialog, qtbot, tmp_path):
    dialog.add(str(_checkpoint(tmp_path / "classic.safetensors")))
    dialog.add(str(_checkpoint(tmp_path / "big.safetensors", xl=True)))
    _wait_added(qtbot, dialog)
    brief = window.brief
    brief.width_spin.setValue(1024)
    brief.height_spin.setValue(1024)
    assert brief.size_advice.isHidden()  # the procedural engine draws any size
    brief.engine.setCurrentIndex(brief.engine.findData("classic"))
    assert not brief.size_advice.isHidden()
    assert "SD 1.5 was trained at 512 px" in brief.size_advice.text() and "Upscale" in brief.size_advice.text()
    brief.width_spin.setValue(640)
    brief.height_spin.setValue(640)
    assert brief.size_advice.isHidden()
    brief.engine.setCurrentIndex(brief.engine.findData("big"))
    assert "SDXL was trained at 1024 px" in brief.size_advice.text() and "loses detail" in brief.size_advice.text()
    brief.engine.setCurrentIndex(0)
    assert brief.size_advice.isHidden()


def test_a_full_disk_loses_nothing_and_says_so(window, dialog, qtbot, tmp_path, monkeypatch):
    from desktop.engine.diffusion import registry as module

    dialog.add(str(_checkpoint(tmp_path / "kept.safetensors")))
    _wait_added(qtbot, dialog)
    before = (window.paths.config_dir / "models.json").read_bytes()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    real = module.atomic_write_bytes
    monkeypatch.setattr(module, "atomic_write_bytes", full)
    dialog.table.item(0, 0).setText("renamed")
    assert "No space left on device" in dialog.status.text() and "nothing was changed" in dialog.status.text()
    assert dialog.table.item(0, 0).text() == "kept"
    _select(dialog, 0)
    dialog.remove_button.click()
    assert "No space left" in dialog.status.text() and dialog.table.rowCount() == 1
    assert not dialog.undo_button.isEnabled()  # nothing was removed, so nothing to undo
    dialog.add(str(_checkpoint(tmp_path / "new.safetensors")))
    _wait_added(qtbot, dialog)
    assert "new.safetensors was not added" in dialog.status.text() and "No space left" in dialog.status.text()
    assert (window.paths.config_dir / "models.json").read_bytes() == before
    monkeypatch.setattr(module, "atomic_write_bytes", real)  # room again: remove, then undo (failing first)
    _select(dialog, 0)
    dialog.remove_button.click()
    monkeypatch.setattr(module, "atomic_write_bytes", full)
    dialog.undo_remove()
    assert "kept is not back yet" in dialog.status.text() and dialog.undo_button.isEnabled()
    monkeypatch.setattr(module, "atomic_write_bytes", real)
    dialog.undo_remove()
    assert [e.name for e in dialog.registry.entries()] == ["kept"]


def test_loras_made_for_another_family_are_marked_and_refused(window, dialog, qtbot, tmp_path):
    from safetensors.torch import save_file

    dialog.add(str(_checkpoint(tmp_path / "classic.safetensors")))
    _wait_added(qtbot, dialog)
    for name, base in (("xl-deco", "sdxl_base_v1-0"), ("v1-linen", "sd_v1")):
        save_file({"lora_unet_mid_block_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 8)},
                  str(tmp_path / f"{name}.safetensors"), metadata={"ss_base_model_version": base})
    brief = window.brief
    brief.loras.add(str(tmp_path / "xl-deco.safetensors"), 0.8)
    brief.loras.add(str(tmp_path / "v1-linen.safetensors"), 0.5)
    table = brief.loras.table
    assert [table.item(r, 0).text() for r in range(2)] == ["xl-deco (SDXL)", "v1-linen (SD 1.5)"]
    brief.engine.setCurrentIndex(brief.engine.findData("classic"))
    red = [table.item(r, 0).foreground().color().name() == "#e57373" for r in range(2)]
    assert red == [True, False]
    assert "Made for SDXL; the model is SD 1.5, so Generate refuses it" in table.item(0, 0).toolTip()
    brief.prompt.setText("linen")
    brief.request_generate()
    assert "xl-deco is a LoRA for SDXL, and the model is SD 1.5" in brief.error.text()
    brief.engine.setCurrentIndex(0)  # the procedural engine takes no LoRAs: nothing to mark
    assert all(table.item(r, 0).foreground().color().name() != "#e57373" for r in range(2))


def test_the_dialog_says_which_previews_each_family_gets(window, dialog):
    text = dialog.previews.text()
    assert "SD 1.5 previews: the latent colours" in text and "madebyollin/taesd's files in" in text
    folder = window.paths.data_dir / "models" / "taesd"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    window.briefs.show_models()
    assert f"SD 1.5 previews: TAESD from {folder}." in dialog.previews.text()
    assert "SDXL previews: the latent colours" in dialog.previews.text()


def test_the_brief_names_samplers_as_a1111_does(window):
    combo = window.brief.scheduler
    assert [combo.itemText(i) for i in range(combo.count())] == ["DDIM", "Euler", "Euler a", "DPM++ 2M", "PLMS"]
    combo.setCurrentIndex(combo.findText("Euler a"))
    assert window.brief.build_request().diffusion.scheduler == "euler-a"


def test_dropped_files_go_where_they_belong(window, qtbot, tmp_path, shared_textures):
    """On the window: a LoRA joins the Brief's list, a checkpoint goes to the Models dialog, an
    image into the library."""
    import shutil

    from safetensors.torch import save_file

    lora = tmp_path / "gilded.safetensors"
    save_file({"lora_unet_mid_block_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 8)}, str(lora))
    model = _checkpoint(tmp_path / "house.safetensors")
    image = tmp_path / "swatch.png"
    shutil.copy(next(iter(sorted((shared_textures / "seamless").glob("*.png")))), image)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in (lora, model, image)])
    window.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    table = window.brief.loras.table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["gilded"]
    dialog = window.briefs.models_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.pending, timeout=20_000)
    assert [e.name for e in dialog.registry.entries()] == ["house"]
    qtbot.waitUntil(lambda: window.lib.count() == 1, timeout=30_000)
    assert "house" in _engines(window)
    qtbot.waitUntil(lambda: all(j.state.finished for j in window.queue.jobs()), timeout=30_000)  # the import's index
    dialog.close()
