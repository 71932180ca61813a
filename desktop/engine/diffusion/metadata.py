"""A1111's `parameters` PNG text chunk, in its exact format, so other tools read Tessera's files.

    <prompt>
    Negative prompt: <negative>
    Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 1234, Size: 1024x1024,
    Model hash: abc123def4, Model: sd15, Lora hashes: "name: hash, name: hash", Tiling: True, Version: Tessera 0.1.0

(the settings are one line). desktop.library.metadata_chunks.parse_a1111 reads it back. The
Sampler is written under A1111's own name for it, which other tools recognise, and read back to
Tessera's scheduler key.
"""

from __future__ import annotations

from typing import Any

# the names A1111 (and so Civitai and every PNG-info reader) gives these samplers, as its
# `parameters` chunk writes them; diffusers' defaults here are DPM++ 2M without Karras sigmas,
# and PNDM skipping its Runge-Kutta steps, which is PLMS
SAMPLER_NAMES = {"ddim": "DDIM", "euler": "Euler", "euler-a": "Euler a", "dpm++": "DPM++ 2M", "pndm": "PLMS"}


def sampler_name(scheduler: str) -> str:
    """A1111's name for a scheduler given by its key or name."""
    return SAMPLER_NAMES.get(scheduler_key(scheduler), scheduler)


def scheduler_key(name: str) -> str:
    """Tessera's key for a scheduler given by its key or by its A1111 sampler name (any case);
    the name itself when it is neither (the caller refuses it)."""
    lowered = name.strip().lower()
    for key, sampler in SAMPLER_NAMES.items():
        if lowered in (key, sampler.lower()):
            return key
    return name


def a1111_parameters(prompt: str, negative_prompt: str = "", *, steps: int, sampler: str, cfg: float, seed: int,
                     width: int, height: int, model_hash: str = "", model: str = "",
                     loras: list[dict[str, Any]] | None = None, tiling: bool = True, version: str = "") -> str:
    settings: list[tuple[str, str]] = [
        ("Steps", str(int(steps))), ("Sampler", sampler), ("CFG scale", f"{float(cfg):g}"), ("Seed", str(int(seed))),
        ("Size", f"{int(width)}x{int(height)}"),
    ]
    if model_hash:
        settings.append(("Model hash", model_hash[:10]))
    if model:
        settings.append(("Model", model))
    if loras:
        listed = ", ".join(f"{lora['name']}: {lora['sha256'][:12]}" for lora in loras)
        settings.append(("Lora hashes", f'"{listed}"'))
    if tiling:
        settings.append(("Tiling", "True"))
    if version:
        settings.append(("Version", version))
    lines = [prompt.strip()]
    if negative_prompt.strip():
        lines.append(f"Negative prompt: {negative_prompt.strip()}")
    lines.append(", ".join(f"{key}: {value}" for key, value in settings))
    return "\n".join(lines)
