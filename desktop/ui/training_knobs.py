"""The training dialog's "More settings": the usual LoRA knobs, folded away until asked for, each
with the default a style LoRA wants and a tooltip in the words kohya's and OneTrainer's users know."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

SCHEDULES = (("Constant, after a warm-up", "constant"), ("Cosine, falling to zero", "cosine"),
             ("Cosine with restarts", "cosine_with_restarts"))


def _spin(low: int, high: int, value: int, special: str = "", tip: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    box.setToolTip(tip)
    return box


def _fraction(value: float, high: float, step: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(3)
    box.setRange(0.0, high)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class TrainingKnobs(QWidget):
    """A "More settings" toggle and, under it, the knobs (hidden until it is pressed)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setText("More settings")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(self.toggle.toolButtonStyle().ToolButtonTextBesideIcon)
        self.toggle.setArrowType(self.toggle.arrowType().RightArrow)
        self.toggle.toggled.connect(self._fold)
        self.body = QWidget()
        self.schedule = QComboBox()
        for label, key in SCHEDULES:
            self.schedule.addItem(label, key)
        self.schedule.setToolTip("The learning rate after the warm-up (kohya: lr_scheduler)")
        self.warmup = _spin(-1, 100_000, -1, "a tenth of the run (up to 100)", "Steps of linear warm-up")
        self.restarts = _spin(1, 100, 3, tip="Cycles of the cosine with restarts")
        self.batch = _spin(1, 64, 1, tip="Tiles a step (of one repeat and size)")
        self.accumulate = _spin(1, 256, 1, tip="Batches whose gradients are added before each step: a batch "
                                "this many times larger in the memory of one (gradient_accumulation_steps)")
        self.noise_offset = _fraction(0.0, 1.0, 0.01, "Darker darks and brighter lights: 0.05-0.1 for contrasty "
                                      "styles (noise_offset)")
        self.shuffle = QCheckBox("Shuffle each caption's tags at every step (the trigger stays first)")
        self.dropout = _fraction(0.0, 0.95, 0.05, "The share of steps with no caption at all, so the style holds "
                                 "without its words (caption_dropout_rate)")
        self.conv_rank = _spin(0, 256, 0, "off", "LoCon: the UNet's resnet convolutions too, at this rank "
                               "(conv_dim); larger files, more texture")
        self.text_encoder = QCheckBox("Train the text encoder too (the trigger word learns the style)")
        self.text_encoder_lr = QDoubleSpinBox()
        self.text_encoder_lr.setDecimals(6)
        self.text_encoder_lr.setRange(0.0, 0.1)
        self.text_encoder_lr.setSingleStep(0.00001)
        self.text_encoder_lr.setSpecialValueText("half the UNet's")
        self.text_encoder_lr.setToolTip("The text encoders' learning rate (text_encoder_lr)")
        self.text_encoder.toggled.connect(self.text_encoder_lr.setEnabled)
        self.text_encoder_lr.setEnabled(False)
        self.score_samples = _spin(0, 32, 4, "no score", "After training, tiles drawn with the LoRA and as many with "
                                   "the base model (same seeds and prompts), for its style-consistency score")
        self.checkpointing = QCheckBox("Gradient checkpointing: far less memory, about a third more time a step")
        self.optimizer = QComboBox()
        self.optimizer.addItem("AdamW", "adamw")
        self.optimizer.addItem("8-bit AdamW (bitsandbytes, CUDA)", "adamw8bit")
        self.optimizer.setToolTip("8-bit AdamW keeps the optimizer's state in a quarter of the memory; without "
                                  "a CUDA GPU and bitsandbytes, AdamW is used (and the Jobs panel says so)")
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Schedule", self.schedule)
        form.addRow("Warm-up", self.warmup)
        form.addRow("Restarts", self.restarts)
        form.addRow("Batch size", self.batch)
        form.addRow("Accumulate", self.accumulate)
        form.addRow("Noise offset", self.noise_offset)
        form.addRow("", self.shuffle)
        form.addRow("Caption dropout", self.dropout)
        form.addRow("Conv rank", self.conv_rank)
        form.addRow("", self.text_encoder)
        form.addRow("Encoder rate", self.text_encoder_lr)
        form.addRow("", self.checkpointing)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Score samples", self.score_samples)
        self.schedule.currentIndexChanged.connect(self._restarts_shown)
        self._restarts_shown()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)
        self.body.setVisible(False)

    def _fold(self, shown: bool) -> None:
        self.body.setVisible(shown)
        self.toggle.setArrowType(self.toggle.arrowType().DownArrow if shown else self.toggle.arrowType().RightArrow)

    def _restarts_shown(self) -> None:
        self.restarts.setEnabled(self.schedule.currentData() == "cosine_with_restarts")

    def values(self) -> dict[str, Any]:
        """The knobs as TrainingRequest's fields."""
        return {"lr_schedule": self.schedule.currentData(), "warmup_steps": self.warmup.value(),
                "restarts": self.restarts.value(), "batch_size": self.batch.value(),
                "accumulation": self.accumulate.value(), "noise_offset": round(self.noise_offset.value(), 3),
                "caption_shuffle": self.shuffle.isChecked(), "caption_dropout": round(self.dropout.value(), 3),
                "conv_rank": self.conv_rank.value(), "gradient_checkpointing": self.checkpointing.isChecked(),
                "train_text_encoder": self.text_encoder.isChecked(), "score_samples": self.score_samples.value(),
                "text_encoder_lr": round(self.text_encoder_lr.value(), 6),
                "optimizer": self.optimizer.currentData()}
