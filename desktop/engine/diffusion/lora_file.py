"""A trained LoRA's file: written once, atomically, as kohya tensors with what it says of itself (its
ModelSpec description and thumbnail, kohya's tag frequencies), and its last sample beside it."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from desktop import __version__
from desktop.errors import UserError

log = logging.getLogger("tessera.training")


def tag_frequency(captions) -> dict[str, int]:
    """How often each comma-separated tag occurs in the captions, as kohya's ss_tag_frequency counts."""
    counts: dict[str, int] = {}
    for caption in captions:
        for tag in (t.strip() for t in str(caption).split(",")):
            if tag:
                counts[tag] = counts.get(tag, 0) + 1
    return counts


def describe(request, tiles) -> str:
    """The ModelSpec description: what it is, its trigger, what it learned from (markdown, as the spec asks)."""
    repeats = sorted({t.repeat.value for t in tiles})
    text = (f"A style LoRA trained by Tessera on {len(tiles)} seamless pattern tile{'s' * (len(tiles) != 1)} "
            f"({', '.join(repeats)}), each seen through its repeat, so it draws motifs rather than where a tile "
            "was cut.")
    if request.trigger.strip():
        text += f"\n\nTrigger: `{request.trigger.strip()}`"
    return text


def data_url(image: np.ndarray, side: int = 256) -> str:
    """A small JPEG of an image as a data URL (ModelSpec's thumbnail: 256 px at most, a few kB)."""
    import base64
    import io

    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image[..., :3]).astype(np.uint8))
    picture.thumbnail((side, side))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def preview_path(path: Path) -> Path:
    """Where a LoRA's sample goes: NAME.preview.png beside it, as A1111 and ComfyUI look for it."""
    return path.with_name(f"{path.stem}.preview.png")


def save_sample(path: Path, image: np.ndarray, trainer, base: dict[str, str]) -> str | None:
    from desktop.engine.images import save_png

    target = preview_path(path)
    meta = {"tessera": __version__, "engine": "diffusion", "model": base.get("name", ""),
            "model_hash": base.get("sha256", ""), "prompt": trainer.sample_prompt,
            "repeat": trainer.sample_repeat.value, "size": [int(image.shape[1]), int(image.shape[0])],
            "seed": trainer.request.seed, "steps": trainer.request.sample_steps, "lora_sample": trainer.request.name}
    try:
        save_png(target, image, meta)
    except OSError as exc:  # the LoRA is what matters: it is written already
        log.warning("the sample of %s could not be written to %s (%s)", trainer.request.name, target, exc)
        return None
    return str(target)


def check_space(path: Path, trainer) -> None:
    need = sum(p.numel() for p in trainer.params) * 2 + (1 << 20)
    free = shutil.disk_usage(path.parent).free
    if free < 2 * need:
        raise UserError(f"{path.parent} has {free / 2**20:.0f} MB free, and the LoRA needs about "
                        f"{need / 2**20:.0f} MB: free some space first")


def save(path: Path, tensors: dict[str, Any], metadata: dict[str, str]) -> str:
    """Write the LoRA atomically (a full disk leaves no file); returns its sha256."""
    import hashlib

    from safetensors.torch import save as to_bytes

    from desktop.config import atomic_write_bytes

    data = to_bytes(tensors, metadata=metadata)
    # ModelSpec's hash is of the tensor data after the header (A1111's LoRA hash too): the same bytes
    # whatever the metadata says, so it is taken once and the file written with it
    header = 8 + int.from_bytes(data[:8], "little")
    digest = hashlib.sha256(memoryview(data)[header:]).hexdigest()
    data = to_bytes(tensors, metadata={**metadata, "modelspec.hash_sha256": "0x" + digest})
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise UserError(f"could not write the LoRA to {path}: {exc.strerror or exc}; nothing was written") from None
    return hashlib.sha256(data).hexdigest()
