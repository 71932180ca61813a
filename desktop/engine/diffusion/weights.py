"""Weights files read without loading a tensor (or importing torch): a .safetensors file's header,
the layout its tensor names are in, and which file suffixes are pickles.

The model registry, the family rules and the LoRA reader all start here, so none of them
imports another to read a header.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from desktop.errors import UserError

PICKLE_SUFFIXES = {".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"}  # unpickling can run code


def safetensors_header(path: Path) -> tuple[dict[str, Any], int]:
    """A .safetensors file's JSON header and where its tensor data starts, read without loading a
    tensor (or importing torch)."""
    try:
        with open(path, "rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            if size > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(fh.read(size))
        if not isinstance(header, dict):
            raise ValueError("the header is not a table")
    except (OSError, ValueError, struct.error) as exc:
        raise UserError(f"{path.name} is not a readable .safetensors file ({exc})") from None
    return header, 8 + size


def layout_of(keys: list[str]) -> str:
    if any(k.startswith(("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")) for k in keys):
        return "kohya"
    if any(k.startswith("base_model.model.") for k in keys):
        return "peft"
    if any(k.startswith(("unet.", "text_encoder.", "text_encoder_2.")) and "lora" in k for k in keys):
        return "diffusers"
    return "unknown"


def is_lora(keys: list[str]) -> bool:
    """Whether these tensor names are a LoRA's: a layout Tessera reads, or LoRA down/up weights."""
    return layout_of(keys) != "unknown" or any(m in k for k in keys for m in (".lora_down.", ".lora_A.", "lora_up."))
