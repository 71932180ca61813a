"""What a style-LoRA training run is asked to do (TrainingRequest: plain data, checked before a model
loads), and where its LoRA goes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.errors import UserError
from desktop.repeat import parse_repeat

_NAME = re.compile(r"[\w][\w .-]{0,79}")


@dataclass
class TrainingRequest:
    """What to train. Plain data: it serialises to JSON and back (the window sends it to its worker)."""

    model: Any  # a registered model's name, a model folder or checkpoint, a Hugging Face id, or a ModelEntry
    name: str  # the LoRA's name: its file is NAME.safetensors
    items: list[dict[str, Any]] = field(default_factory=list)  # {file, caption, repeat[, sha256, id]}
    trigger: str = ""  # put before every caption, and into the file as its trigger words
    rank: int = 16
    alpha: float = 0.0  # 0: the rank (a scale of 1)
    steps: int = 500
    learning_rate: float = 1e-4
    batch_size: int = 1
    resolution: int = 0  # 0: the family's (512 for SD 1.5, 1024 for SDXL)
    seed: int = 0
    shift: bool = True  # a random origin on the tile's plane at every step
    flip: bool = False  # mirror left-right at random too (for motifs without a handedness)
    snr_gamma: float = 5.0  # min-SNR loss weighting; 0: plain MSE
    lr_schedule: str = "constant"  # after the warm-up: constant, cosine, cosine_with_restarts
    warmup_steps: int = -1  # -1: a tenth of the run, up to 100 steps
    restarts: int = 3  # cosine_with_restarts' cycles
    optimizer: str = "adamw"  # adamw, adamw8bit (bitsandbytes, on a CUDA GPU)
    noise_offset: float = 0.0  # kohya's: darker darks and brighter lights (0.05-0.1 for contrasty styles)
    caption_shuffle: bool = False  # the tags after the trigger in a new order every step
    caption_dropout: float = 0.0  # the share of steps trained with no caption at all
    conv_rank: int = 0  # LoCon: the UNet's resnet convolutions too, at this rank (0: not)
    conv_alpha: float = 0.0  # 0: the conv rank
    gradient_checkpointing: bool = False  # much less memory for about a third more time a step
    accumulation: int = 1  # batches whose gradients are added before each optimizer step
    train_text_encoder: bool = False  # a LoRA on the text encoder(s) too: the trigger word learns the style
    text_encoder_lr: float = 0.0  # their learning rate; 0: half the UNet's
    samples: int = 4  # sample tiles drawn with the LoRA as it trains (the last at the end); 0: none
    sample_steps: int = 20
    sample_repeat: str = ""  # "": the repeat most of the tiles have
    score_samples: int = 4  # tiles drawn with the LoRA and as many without for its style score; 0: no score
    out: str = ""  # the file to write; "": the loras folder in Tessera's data folder
    checkpoint_every: int = 100  # save the run's whole state every this many steps (and at a stop); 0: never
    keep_checkpoints: int = 3  # the last this many are kept (in NAME.checkpoints beside the LoRA)
    resume: bool = False  # go on from this run's last checkpoint
    device: str = ""  # "", "cpu", "cuda", "cuda:1"
    precision: str = ""  # "", float16, bfloat16, float32

    def check(self) -> None:
        """Everything that can be said before a model loads."""
        if not self.items:
            raise UserError("there are no tiles to train on: approve some in the library (or choose a set "
                            "that has some)")
        self.check_settings()
        for item in self.items:
            parse_repeat(item.get("repeat") or "basic")

    def check_settings(self) -> None:
        """The name and the numbers (what a dialog can say before the tiles are gathered)."""
        if not _NAME.fullmatch(self.name or ""):
            raise UserError(f"a LoRA name is 1-80 letters, digits, spaces, dots, dashes or underscores, not "
                            f"'{self.name}'")
        limits = (("rank", self.rank, 1, 256), ("steps", self.steps, 1, 200_000),
                  ("batch size", self.batch_size, 1, 64))
        for label, value, low, high in limits:
            if not low <= int(value) <= high:
                raise UserError(f"the {label} must be between {low} and {high}, not {value}")
        if not 0 < self.learning_rate < 1:
            raise UserError(f"the learning rate must be above 0 and below 1, not {self.learning_rate}")
        if self.resolution and not 32 <= self.resolution <= 2048:
            raise UserError(f"the training resolution must be between 32 and 2048, not {self.resolution}")
        if self.alpha < 0 or self.snr_gamma < 0 or self.conv_alpha < 0:
            raise UserError("alpha and the SNR gamma cannot be negative")
        from desktop.engine.diffusion.training_knobs import OPTIMIZERS, SCHEDULES

        if self.lr_schedule not in SCHEDULES:
            raise UserError(f"the learning-rate schedule is one of {', '.join(SCHEDULES)}, not '{self.lr_schedule}'")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"the optimizer is one of {', '.join(OPTIMIZERS)}, not '{self.optimizer}'")
        knobs = (("warm-up", self.warmup_steps, -1, 100_000), ("restarts", self.restarts, 1, 100),
                 ("conv rank", self.conv_rank, 0, 256), ("gradient accumulation", self.accumulation, 1, 256))
        for label, value, low, high in knobs:
            if not low <= int(value) <= high:
                raise UserError(f"the {label} must be between {low} and {high}, not {value}")
        if not 0 <= self.text_encoder_lr < 1:
            raise UserError(f"the text encoder's learning rate must be from 0 (half the UNet's) to under 1, not "
                            f"{self.text_encoder_lr}")
        if not 0 <= self.noise_offset <= 1 or not 0 <= self.caption_dropout < 1:
            raise UserError("the noise offset is between 0 and 1, and the caption dropout from 0 to under 1")
        if not 0 <= int(self.checkpoint_every) <= 200_000 or not 1 <= int(self.keep_checkpoints) <= 100:
            raise UserError("checkpoints are saved every 0 (never) to 200000 steps, and 1 to 100 of them kept")
        if not 0 <= int(self.score_samples) <= 32:
            raise UserError(f"the style score draws 0 (none) to 32 samples, not {self.score_samples}")
        if not 0 <= self.samples <= 100 or not 1 <= self.sample_steps <= 150:
            raise UserError("samples must be between 0 and 100, and their steps between 1 and 150")
        if self.sample_repeat:
            parse_repeat(self.sample_repeat)


def lora_folder() -> Path:
    from desktop.config import resolve_paths

    return resolve_paths().data_dir / "loras"


def output_path(request: TrainingRequest) -> Path:
    """Where the LoRA goes; refused before training when it cannot be written there."""
    path = Path(request.out).expanduser() if request.out else lora_folder() / f"{request.name}.safetensors"
    if path.suffix.lower() != ".safetensors":
        raise UserError(f"a LoRA is written as .safetensors, not {path.name}")
    if path.exists():
        raise UserError(f"there is already a LoRA at {path}: choose another name")
    from desktop.engine.diffusion.checkpoints import folder_for, latest_step

    stopped = latest_step(path)
    if request.resume and stopped is None:
        raise UserError(f"there is no stopped run of {path.stem} to resume (no checkpoint in {folder_for(path)})")
    if not request.resume and stopped is not None:
        raise UserError(f"a run of {path.stem} stopped at step {stopped}: resume it (--resume), or remove "
                        f"{folder_for(path)} to train afresh")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.with_name(f".{path.name}.probe")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write the LoRA to {path.parent}: {exc.strerror or exc}") from None
    return path
