"""Training a style LoRA as the window and `tessera lora train` run it: the engine's trainer, given the
library's embedding for the LoRA's style-consistency score (CLIP's image vectors when its weights are
here, else the built-in descriptor). The library sits above the engine, so the embedding is handed
down rather than imported by it."""

from __future__ import annotations

from typing import Any

import numpy as np


def style_embedder() -> tuple[str, Any]:
    """(its name, images -> unit vectors): CLIP when its weights are found, else the built-in descriptor.
    Called once training is done, so CLIP is not in memory while the LoRA trains."""
    from desktop.config import resolve_paths
    from desktop.library import clip
    from desktop.library.descriptor import MODEL, describe_many, small_copies

    found, _ = clip.load_if_available(resolve_paths().data_dir)
    if found is not None:
        def with_clip(images: list[np.ndarray]) -> np.ndarray:
            vectors = np.asarray(found.embed_images(list(images)), np.float32)
            return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

        return found.model_id(), with_clip
    return MODEL, lambda images: describe_many(small_copies(list(images)))


def train_lora(request, ctx=None) -> dict[str, Any]:
    """desktop.engine.diffusion.training.train_lora, with the style score's embedding."""
    from desktop.engine.diffusion.training import train_lora as train

    return train(request, ctx, embedder=style_embedder)
