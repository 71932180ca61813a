"""Library ▸ Train a style LoRA…: a LoRA from the approved archive (or the selected tiles, or a
collection), trained in the render process with progress and Stop in the Jobs panel, then
added to the Brief's LoRA list, ready to draw with."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import JobSnapshot, Lane
from desktop.ui.theme import error_label

if TYPE_CHECKING:
    from desktop.ui.host import WindowHost

TRAINABLE = ("sd15", "sdxl")


def tiles(n: int) -> str:
    return f"{n} tile" if n == 1 else f"{n} tiles"


class TrainDialog(QDialog):
    """What to train: the base model, the LoRA's name and trigger word, the tiles, and how long."""

    def __init__(self, models: list[tuple[str, str]], selected: int, collections: list[str], current_model: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Train a style LoRA")
        self.model = QComboBox()
        for name, family in models:
            self.model.addItem(f"{name} ({'SDXL' if family == 'sdxl' else 'SD 1.5'})", name)
        self.model.setCurrentIndex(max(0, self.model.findData(current_model)))
        self.name = QLineEdit(f"style-{time.strftime('%Y%m%d')}")
        self.trigger = QLineEdit()
        self.trigger.setPlaceholderText("a rare word, like tsr-deco (put before every caption)")
        self.source = QComboBox()
        self.source.addItem("The approved tiles (published ones too)", ("approved", None))
        if selected:
            self.source.addItem(f"The {selected} selected tile(s)", ("selected", None))
        for name in collections:
            self.source.addItem(f"The approved tiles in {name}", ("collection", name))
        self.tag = QLineEdit()
        self.tag.setPlaceholderText("optional: only tiles with this tag")
        self.steps = QSpinBox()
        self.steps.setRange(1, 200_000)
        self.steps.setValue(500)
        self.steps.setSingleStep(100)
        self.rank = QSpinBox()
        self.rank.setRange(1, 256)
        self.rank.setValue(16)
        self.rank.setToolTip("Higher learns more detail and makes a larger file")
        self.rate = QDoubleSpinBox()
        self.rate.setDecimals(6)
        self.rate.setRange(0.000001, 0.1)
        self.rate.setSingleStep(0.00005)
        self.rate.setValue(0.0001)
        self.resolution = QSpinBox()
        self.resolution.setRange(0, 2048)
        self.resolution.setSingleStep(64)
        self.resolution.setSpecialValueText("the model's own (512 SD 1.5, 1024 SDXL)")
        self.resolution.setSuffix(" px")
        self.resolution.setToolTip("Tiles are resized through their repeat to about this many pixels squared")
        self.samples = QSpinBox()
        self.samples.setRange(0, 20)
        self.samples.setValue(4)
        self.samples.setSpecialValueText("none")
        self.samples.setToolTip("Sample tiles drawn with the LoRA as it trains, shown tiled in the Preview; "
                                "the last is kept beside the LoRA as NAME.preview.png")
        self.shift = QCheckBox("See each tile from a random origin on its repeat")
        self.shift.setChecked(True)
        self.shift.setToolTip("A seamless tile has no edges: every step moves its origin along the repeat, "
                              "so the LoRA learns the motif, not where the tile was cut")
        self.flip = QCheckBox("Mirror tiles left-right at random")
        self.checkpoint_every = QSpinBox()
        self.checkpoint_every.setRange(0, 200_000)
        self.checkpoint_every.setValue(100)
        self.checkpoint_every.setSingleStep(50)
        self.checkpoint_every.setSpecialValueText("never")
        self.checkpoint_every.setSuffix(" steps")
        self.checkpoint_every.setToolTip("Save the whole run this often (and when it is stopped), so it can be "
                                         "resumed after a stop or a crash; the last 3 are kept beside the LoRA")
        self.resume = QCheckBox()  # shown when the name is a run that was stopped
        self.resume.setChecked(True)
        self.resume.setToolTip("Go on from the run's last checkpoint, to the weights an unstopped run reaches "
                               "(the same tiles and settings)")
        self.name.textChanged.connect(self._stopped_run)
        from desktop.ui.training_knobs import TrainingKnobs

        self.knobs = TrainingKnobs()
        self.error = error_label()
        form = QFormLayout()
        form.addRow("Base model", self.model)
        form.addRow("LoRA name", self.name)
        form.addRow("Trigger word", self.trigger)
        form.addRow("Tiles", self.source)
        form.addRow("Tag", self.tag)
        form.addRow("Steps", self.steps)
        form.addRow("Rank", self.rank)
        form.addRow("Learning rate", self.rate)
        form.addRow("Resolution", self.resolution)
        form.addRow("Samples", self.samples)
        form.addRow("", self.shift)
        form.addRow("", self.flip)
        form.addRow("Checkpoint every", self.checkpoint_every)
        form.addRow("", self.resume)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Train")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Train on this machine's GPU from library tiles; the device and precision "
                                "are the Settings'. Stop in the Jobs panel keeps the run to resume."))
        layout.addLayout(form)
        layout.addWidget(self.knobs)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._stopped_run()

    def _stopped_run(self) -> None:
        """Offer to resume when the name is a LoRA whose run was stopped (its checkpoints are there)."""
        from desktop.engine.diffusion.checkpoints import latest_step
        from desktop.engine.diffusion.training_request import lora_folder

        name = self.name.text().strip()
        step = latest_step(lora_folder() / f"{name}.safetensors") if name else None
        self.stopped_at = step
        self.resume.setVisible(step is not None)
        if step is not None:
            self.resume.setText(f"Resume the run stopped at step {step}")

    def accept(self) -> None:
        from desktop.engine.diffusion.training_request import TrainingRequest
        from desktop.errors import UserError, as_sentence

        if self.stopped_at is not None and not self.resume.isChecked():
            self.error.setText(f"A run of {self.name.text().strip()} stopped at step {self.stopped_at}: resume it, or "
                               "choose another name.")
            return
        if self.model.count() == 0:
            self.error.setText("Add an SD 1.5 or SDXL model first (Generate ▸ Models…).")
            return
        try:  # what can be said now is said here, not after the set is gathered
            TrainingRequest(**self.values()).check_settings()
        except UserError as exc:
            self.error.setText(as_sentence(exc))
            return
        super().accept()

    def values(self) -> dict[str, Any]:
        return {"model": self.model.currentData(), "name": self.name.text().strip(),
                "trigger": self.trigger.text().strip(), "steps": self.steps.value(), "rank": self.rank.value(),
                "learning_rate": self.rate.value(), "resolution": self.resolution.value(),
                "samples": self.samples.value(), "shift": self.shift.isChecked(), "flip": self.flip.isChecked(),
                "checkpoint_every": self.checkpoint_every.value(),
                "resume": self.stopped_at is not None and self.resume.isChecked(), **self.knobs.values()}

    def tile_set(self) -> dict[str, Any]:
        kind, collection = self.source.currentData()
        tag = self.tag.text().strip() or None
        return {"kind": kind, "collection": collection, "tag": tag}


class LoraTraining:
    """The menu item, the dialog, gathering the set on the I/O lane, and the training job."""

    def __init__(self, window: WindowHost):
        self.window = window  # (Library ▸ Train a style LoRA… is declared in actions.py)
        self.last_review = None  # the set's review shown before the last training

    def _models(self) -> list[tuple[str, str]]:
        from desktop.engine.diffusion.registry import ModelRegistry
        from desktop.errors import UserError

        try:
            entries = ModelRegistry(self.window.paths.config_dir / "models.json").entries()
        except UserError:
            return []
        return [(e.name, e.family) for e in entries if e.family in TRAINABLE]

    def start(self) -> TrainDialog | None:
        """Open the dialog; train when it is accepted."""
        dialog = self.dialog()
        if dialog.exec() == QDialog.Accepted:
            self.train(dialog)
        return dialog

    def dialog(self) -> TrainDialog:
        window = self.window
        selected = [e.pattern_id for e in window.library.selected_entries() if e.pattern_id]
        combo = window.library.collection_filter
        collections = [combo.itemData(i) for i in range(combo.count()) if combo.itemData(i)]
        dialog = TrainDialog(self._models(), len(selected), collections, window.brief.engine.currentData() or "",
                             window)
        dialog.selected_ids = selected
        return dialog

    def train(self, dialog: TrainDialog) -> None:
        """Gather the set (I/O lane), then train (the render process), then offer the LoRA."""
        window, lib = self.window, self.window.catalogue.lib
        if lib is None:
            QMessageBox.information(window, "Library", "The library is still opening; try again in a moment.")
            return
        values, chosen = dialog.values(), dialog.tile_set()
        ids = dialog.selected_ids if chosen["kind"] == "selected" else None

        def gather(ctx):
            from desktop.library.training_set import review, training_items

            items = training_items(lib, status=None if ids else "approved", tag=chosen["tag"], ids=ids,
                                   collection=chosen["collection"])
            if not items:
                return [], {}
            # the set with its near-duplicates and failed QA flagged, and each tile's thumbnail, for a look first
            reviewed = review(lib, items, ctx)
            thumbs = {}
            for item in reviewed:
                with contextlib.suppress(OSError):  # a tile with no thumbnail is listed without one
                    thumbs[item["id"]] = str(lib.thumbnail(item, side=96))
            return reviewed, thumbs

        def gathered(snap: JobSnapshot) -> None:
            from desktop.library.training_set import describe_set
            from desktop.ui.training_review import ReviewDialog

            reviewed, thumbs = snap.result or ([], {})
            if not reviewed:
                where = describe_set(None if ids else "approved", chosen["tag"], chosen["collection"], ids)
                QMessageBox.information(window, "Nothing to train on",
                                        f"There are no tiles to train on: {where} are none. Approve some "
                                        "(Tile ▸ Approve) and train again.")
                return
            look = ReviewDialog(values["name"], reviewed, thumbs, window)
            self.last_review = look
            if look.exec() == QDialog.Accepted:
                self._submit(values, look.chosen())

        window.submit("gather", gather, lane=Lane.IO, title="Gathering the tiles to train on", on_done=gathered)

    def _submit(self, values: dict[str, Any], items: list[dict[str, Any]]) -> None:
        from desktop.engine.diffusion.registry import ModelRegistry
        from desktop.engine.diffusion.training_request import TrainingRequest
        from desktop.errors import UserError, as_sentence

        window, settings = self.window, self.window.settings
        try:  # the entry itself goes to the render process, as a generate request's does
            values = dict(values, model=ModelRegistry(window.paths.config_dir / "models.json").get(values["model"]))
        except UserError as exc:
            QMessageBox.information(window, "Train a style LoRA", as_sentence(exc))
            return
        request = TrainingRequest(**values, items=items, device="" if settings.device == "auto" else settings.device,
                                  precision="" if settings.precision == "auto" else settings.precision)

        from collections import Counter

        request.sample_repeat = Counter(i["repeat"] or "basic" for i in items).most_common(1)[0][0]

        def run(ctx):
            return window.renderer.call(ctx, "desktop.library.lora_jobs:train_lora", request)

        resumed = ", resumed" if request.resume else ""
        job = window.submit("train-lora", run, request, title=f"Train LoRA {request.name} ({tiles(len(items))}, "
                            f"{request.steps} steps{resumed})", on_done=self._trained)
        if job is not None:
            window.generation.live_job = job.id  # its samples show in the Preview, tiled, as it trains
        window.statusBar().showMessage(f"Training {request.name} on {tiles(len(items))}…", 5000)

    def _trained(self, snap: JobSnapshot) -> None:
        result = snap.result or {}
        window = self.window
        window.brief.loras.add(result["path"])
        skipped = len(result.get("skipped") or [])
        scored = f"; style consistency {result['style_score']['score']:.2f}" if result.get("style_score") else ""
        window.statusBar().showMessage(
            f"Trained {result['name']} on {tiles(result['tiles'])} (final loss {result['loss']:.4f}{scored}"
            + (f", {skipped} unreadable skipped" if skipped else "") + f"); it is in the Brief's LoRAs: "
            f"{result['path']}", 15_000)
