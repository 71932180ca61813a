"""The style-consistency score: how far a LoRA moved its samples towards the tiles it learned from.

After training, a few tiles are drawn with the LoRA and the same number with the base model alone,
from the same seeds and prompts. In an embedding space (CLIP's image vectors when its weights are
here, else the library's built-in descriptor) each sample's mean cosine similarity to the training
tiles is taken:

- ``lora``: the LoRA's samples' mean similarity to the training tiles;
- ``base``: the base model's samples' (the same seeds and prompts);
- ``ceiling``: the training tiles' similarity to one another (each to the others): as alike to the
  set as the set is to itself.

score = (lora − base) ÷ (ceiling − base): 0 is no closer than the base model drew, 1 as close as the
training tiles are to one another; below 0 the LoRA drew further from its set than the base model
did. It is a comparison, not a grade of taste: it says whether the LoRA learned *these* tiles' look.

The embedding is given by the library (`desktop.library.lora_jobs`), which sits above the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Embed = Callable[[list[np.ndarray]], np.ndarray]


def score(train: np.ndarray, lora: np.ndarray, base: np.ndarray) -> dict[str, float]:
    """The score from unit vectors: the training tiles', the LoRA's samples' and the base model's samples'."""
    train, lora, base = (np.asarray(v, np.float64) for v in (train, lora, base))
    to_lora, to_base = float((lora @ train.T).mean()), float((base @ train.T).mean())
    if len(train) > 1:
        among = train @ train.T
        ceiling = float((among.sum() - np.trace(among)) / (len(train) * (len(train) - 1)))
    else:
        ceiling = 1.0
    room = ceiling - to_base
    value = (to_lora - to_base) / room if abs(room) > 1e-6 else 0.0
    return {"score": round(value, 4), "lora": round(to_lora, 4), "base": round(to_base, 4),
            "ceiling": round(ceiling, 4)}


def sentence(result: dict[str, Any]) -> str:
    """What the score means, in one sentence."""
    value = result["score"]
    if value < 0.005:  # (rounds to 0.00 or below)
        return (f"Style consistency {value:.2f}: the LoRA's samples are no closer to its training tiles than the "
                "base model's (train longer, at a higher rate, or on a more consistent set).")
    return (f"Style consistency {value:.2f}: the LoRA moved its samples {value:.0%} of the way from the base "
            "model's towards its training tiles' own likeness to one another.")
