"""Library ▸ Train a style LoRA…: the dialog checks what it can at once, the set is the approved
tiles, training runs in the render process with its steps in the Jobs panel, and the LoRA lands
in the Brief's LoRA list."""

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("peft")


def _tile(style, seed):
    from desktop.engine.generate import GenerateRequest, run_generate

    return run_generate(GenerateRequest(style=style, repeat="half-drop", width=64, height=64, seed=seed))[0]


def test_a_lora_trained_from_the_approved_tiles_lands_in_the_brief(window, qtbot, tmp_path, isolated_home,
                                                                   monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.engine.diffusion.registry import ModelRegistry
    from tiny_sd import tiny_pipeline

    tiny_pipeline(tmp_path / "src").save_pretrained(tmp_path / "tiny-sd")
    ModelRegistry(isolated_home / "config" / "models.json").add(str(tmp_path / "tiny-sd"), name="tiny")
    window.briefs.load_models()
    ids = [window.lib.add_tile(t.image, t.metadata).added[0] for t in (_tile("checks", 1), _tile("stripes", 2))]
    told = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: told.append(text))
    from desktop.ui.training_review import ReviewDialog

    monkeypatch.setattr(ReviewDialog, "exec", lambda self: 1)  # the set looked at and accepted

    dialog = window.training.dialog()
    assert dialog.model.currentData() == "tiny" and dialog.source.count() == 1  # nothing selected
    dialog.name.setText("../bad")
    dialog.accept()
    assert dialog.result() == 0 and "A LoRA name is" in dialog.error.text()  # said at once, dialog kept
    dialog.name.setText("deco")
    dialog.trigger.setText("tsr deco")
    dialog.steps.setValue(3)
    dialog.rank.setValue(2)
    dialog.resolution.setValue(32)
    dialog.samples.setValue(2)
    dialog.accept()
    assert dialog.result() == 1
    window.training.train(dialog)
    qtbot.waitUntil(lambda: bool(told), timeout=10_000)  # no approved tiles yet: one plain message
    assert "no tiles to train on: the approved tiles are none" in told[0]

    window.lib.update(ids[0], status="approved")
    window.training.train(dialog)
    shown = []  # what the Preview showed while it trained: the samples, tiled through their repeat
    real_show = window.preview.show_tile
    monkeypatch.setattr(window.preview, "show_tile", lambda image, repeat, caption="": (
        shown.append((caption, repeat, image.shape)), real_show(image, repeat, caption)))

    def trained_or_failed():  # a failed job says why at once, rather than after the whole wait
        ended = [s for s in window.queue.jobs()
                 if s.kind in ("gather", "train-lora") and s.state in ("failed", "cancelled")]
        return window.brief.loras.table.rowCount() == 1 or bool(ended)

    qtbot.waitUntil(trained_or_failed, timeout=120_000)
    review = window.training.last_review  # the set was shown first: the one approved tile, its caption
    assert review.table.rowCount() == 1 and review.table.item(0, 1).text().startswith("checks pattern")
    failed = [s.error for s in window.queue.jobs() if s.kind in ("gather", "train-lora") and s.state == "failed"]
    assert window.brief.loras.table.rowCount() == 1, f"the training job ended without a LoRA: {failed}"
    assert shown and all(caption.startswith("Training… ") and repeat == "half-drop" for caption, repeat, _ in shown)
    assert shown[-1][2] == (32, 32, 3)  # the last thing shown is the last sample itself
    lora = isolated_home / "data" / "loras" / "deco.safetensors"
    assert window.brief.loras.specs() == [f"{lora}:1"] and lora.is_file()
    row = window.brief.loras.table.item(0, 0)
    assert not row.icon().isNull() and "deco.preview.png" in row.toolTip()  # its last sample beside its name
    trained = next(s for s in window.queue.jobs() if s.kind == "train-lora")
    assert trained.title == "Train LoRA deco (1 tile, 3 steps)" and trained.progress.message == "writing the LoRA"
    assert "Trained deco on 1 tile " in window.statusBar().currentMessage()
    assert window.renderer.starts == 1  # it ran in the render process


def test_the_dialog_offers_to_resume_a_stopped_run_of_the_name_given(window, qtbot, isolated_home):
    """A run stopped (or killed) leaves its checkpoints beside the LoRA it will become: the dialog sees
    them as the name is typed and offers to go on, and starting afresh over them is refused at once."""
    saved = isolated_home / "data" / "loras" / "deco.checkpoints"
    saved.mkdir(parents=True)
    (saved / "step-000040.safetensors").write_bytes(b"")
    (saved / "step-000020.safetensors").write_bytes(b"")

    dialog = window.training.dialog()
    assert dialog.resume.isHidden() and dialog.values()["resume"] is False
    assert dialog.values()["checkpoint_every"] == 100
    dialog.name.setText("deco")
    assert not dialog.resume.isHidden() and dialog.resume.text() == "Resume the run stopped at step 40"
    assert dialog.values()["resume"] is True
    dialog.resume.setChecked(False)
    dialog.accept()
    assert dialog.result() == 0 and "stopped at step 40: resume it, or choose another name" in dialog.error.text()
    dialog.name.setText("deco-2")
    assert dialog.resume.isHidden() and dialog.values()["resume"] is False


def test_more_settings_hold_the_usual_knobs_with_a_style_loras_defaults(window):
    from desktop.engine.diffusion.training import TrainingRequest

    dialog = window.training.dialog()
    knobs = dialog.knobs
    assert knobs.body.isHidden()  # folded away until asked for
    knobs.toggle.setChecked(True)
    assert not knobs.body.isHidden()
    defaults = TrainingRequest(model="m", name="n")
    values = dialog.values()
    assert {k: values[k] for k in knobs.values()} == {k: getattr(defaults, k) for k in knobs.values()}
    assert not knobs.restarts.isEnabled()
    knobs.schedule.setCurrentIndex(knobs.schedule.findData("cosine_with_restarts"))
    assert knobs.restarts.isEnabled()
    knobs.conv_rank.setValue(8)
    knobs.accumulate.setValue(4)
    knobs.batch.setValue(2)
    knobs.noise_offset.setValue(0.05)
    knobs.shuffle.setChecked(True)
    knobs.dropout.setValue(0.1)
    knobs.checkpointing.setChecked(True)
    knobs.optimizer.setCurrentIndex(1)
    assert not knobs.text_encoder_lr.isEnabled()
    knobs.text_encoder.setChecked(True)
    assert knobs.text_encoder_lr.isEnabled()
    knobs.text_encoder_lr.setValue(0.00003)
    values = dialog.values()
    assert values["train_text_encoder"] and values["text_encoder_lr"] == 0.00003
    assert (values["lr_schedule"], values["conv_rank"], values["accumulation"], values["batch_size"]) == \
        ("cosine_with_restarts", 8, 4, 2)
    assert (values["noise_offset"], values["caption_shuffle"], values["caption_dropout"]) == (0.05, True, 0.1)
    assert values["gradient_checkpointing"] and values["optimizer"] == "adamw8bit"
    TrainingRequest(**values).check_settings()  # every value the dialog gives is one the trainer takes


def test_a_training_jobs_row_draws_its_loss_against_its_step_as_it_trains(qtbot):
    """The Jobs panel's row of a training job plots the smoothed loss each step reports; other jobs' rows
    have no plot (and pyqtgraph is not loaded for them)."""
    import dataclasses
    import time

    from desktop.engine.diffusion.training_log import step_message
    from desktop.jobs import JobQueue, JobSnapshot, JobState, Lane, Progress
    from desktop.ui.jobs_panel import JobsPanel

    queue = JobQueue(io_workers=1)
    try:
        panel = JobsPanel(queue)
        qtbot.addWidget(panel)
        snap = JobSnapshot(7, "train-lora", "Train LoRA deco", Lane.COMPUTE, 0, JobState.RUNNING,
                           Progress(0, 10, "preparing tile 1 of 3"), None, None, None, None, 1, time.time(),
                           time.time(), None, False)
        panel.on_job_updated(snap)
        curve = panel.rows[7].curve
        assert curve is not None and curve.steps == []
        for step, loss in ((1, 0.5), (2, 0.45), (2, 0.45), (5, 0.3), (9, 0.2)):
            panel.on_job_updated(dataclasses.replace(snap, progress=Progress(step, 10, step_message(step, 10, loss))))
        panel.on_job_updated(dataclasses.replace(snap, progress=Progress(9, 10, step_message(9, 10, 0.2) +
                                                                         ", drawing sample 2 of 2")))
        assert curve.steps == [1, 2, 5, 9] and curve.losses == [0.5, 0.45, 0.3, 0.2]
        xs, ys = curve.line.getData()
        assert list(xs) == [1, 2, 5, 9] and list(ys) == [0.5, 0.45, 0.3, 0.2]
        other = dataclasses.replace(snap, id=8, kind="generate", title="Generate")
        panel.on_job_updated(other)
        assert panel.rows[8].curve is None
    finally:
        queue.shutdown(timeout=1.0)


def test_the_set_is_shown_before_training_with_its_flags_and_can_go_without_the_flagged(qtbot):
    from desktop.ui.training_review import ReviewDialog

    reviewed = [{"id": 1, "caption": "fans, gold", "repeat": "half-drop", "file": "a.png", "flags": []},
                {"id": 2, "caption": "fans, gold", "repeat": "half-drop", "file": "b.png",
                 "flags": ["the same design as #1 (0.97 alike): the LoRA learns it twice"]},
                {"id": 3, "caption": "stripes", "repeat": "basic", "file": "c.png", "flags": ["failed QA (seam)"]}]
    dialog = ReviewDialog("deco", reviewed, {}, None)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 3 and dialog.table.item(2, 3).text() == "failed QA (seam)"
    assert dialog.summary.text().startswith("3 tile(s) to train on; 2 with something to look at")
    assert [i["id"] for i in dialog.chosen()] == [1, 2, 3] and "flags" not in dialog.chosen()[0]
    assert dialog.without.text() == "Train on the 1 not flagged"
    dialog.without.click()
    assert dialog.result() == 1 and [i["id"] for i in dialog.chosen()] == [1]
