"""The usual knobs of a LoRA trainer, as kohya's and OneTrainer's users know them.

- **Learning-rate schedules**: constant with warm-up (the default), cosine, and cosine with hard
  restarts, all after the same linear warm-up: diffusers' own schedule functions, read as a factor
  of the step (no state of their own, so a resumed run is on the same curve).
- **The optimizer**: AdamW, or 8-bit AdamW (bitsandbytes) on a CUDA GPU when it is installed; asked
  for anywhere else, AdamW with a word.
- **Captions**: the tags after the trigger shuffled at every step (the trigger stays first), and a
  share of steps with no caption at all (caption dropout), so the style holds without its words.

Noise offset, conv layers (LoCon) at their own rank, gradient checkpointing and gradient
accumulation live where they act, in training.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# the settings beyond the basics, written into the LoRA's record (and each a checkpoint's fingerprint)
KNOBS = ("lr_schedule", "warmup_steps", "restarts", "optimizer", "noise_offset", "caption_shuffle",
         "caption_dropout", "conv_rank", "conv_alpha", "gradient_checkpointing", "accumulation",
         "train_text_encoder", "text_encoder_lr")
# the text encoders' layers a LoRA trains when asked (CLIP's attention projections, as kohya's do)
ENCODER_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj")
SCHEDULES = ("constant", "cosine", "cosine_with_restarts")
OPTIMIZERS = ("adamw", "adamw8bit")


def warmup_steps(request) -> int:
    """The warm-up's length: as asked, or a tenth of the run up to 100 steps (at least 1)."""
    if int(request.warmup_steps) >= 0:
        return int(request.warmup_steps)
    return max(1, min(100, int(request.steps) // 10))


def schedule(optimizer, request):
    """The run's learning-rate curve: a torch LambdaLR whose factor at step k is read by `factor`."""
    from diffusers.optimization import (
        get_constant_schedule_with_warmup,
        get_cosine_schedule_with_warmup,
        get_cosine_with_hard_restarts_schedule_with_warmup,
    )

    warm, steps = warmup_steps(request), int(request.steps)
    if request.lr_schedule == "cosine":
        return get_cosine_schedule_with_warmup(optimizer, warm, steps)
    if request.lr_schedule == "cosine_with_restarts":
        return get_cosine_with_hard_restarts_schedule_with_warmup(optimizer, warm, steps,
                                                                  num_cycles=int(request.restarts))
    return get_constant_schedule_with_warmup(optimizer, warm)


def factor(curve, k: int, steps: int) -> float:
    """The learning rate's factor for (0-based) step k, from the schedule's own function: the rate after
    k + 1 updates (so the first step of the warm-up is not at 0), the last step at the one before the
    end (so a cosine's last step is not at 0 either)."""
    return float(curve.lr_lambdas[0](max(1, min(k + 1, steps - 1))))


def optimizer(groups: list[dict[str, Any]], request, device) -> tuple[Any, str | None]:
    """The optimizer for these parameter groups, and a word when the one asked for cannot be had."""
    import torch

    if request.optimizer == "adamw8bit":
        if device.type == "cuda":
            try:
                import bitsandbytes as bnb
            except ImportError:
                note = "8-bit AdamW needs bitsandbytes (pip install bitsandbytes): training with AdamW."
            else:
                return bnb.optim.AdamW8bit(groups, lr=float(request.learning_rate), weight_decay=1e-2), None
        else:
            note = "8-bit AdamW runs on a CUDA GPU only: training with AdamW."
        return torch.optim.AdamW(groups, lr=float(request.learning_rate), weight_decay=1e-2), note
    return torch.optim.AdamW(groups, lr=float(request.learning_rate), weight_decay=1e-2), None


def caption_for(trigger: str, tags: str, rng: np.random.Generator, shuffle: bool, dropout: float) -> str:
    """One step's caption: the trigger, then the tile's tags (shuffled when asked); or, a `dropout`
    share of the time, no caption at all. Draws from `rng` only for what is switched on."""
    if dropout > 0 and rng.random() < dropout:
        return ""
    parts = [p.strip() for p in str(tags).split(",") if p.strip()]
    if shuffle and len(parts) > 1:
        parts = [parts[int(i)] for i in rng.permutation(len(parts))]
    return ", ".join(p for p in [trigger.strip(), *parts] if p)
