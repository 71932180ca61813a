"""Seamless generation with a diffusers Stable Diffusion pipeline.

One request renders `count` images, one seed each, with repeat padding on the UNet and the
VAE for the whole call (restored afterwards), live previews from the latents at every step
(tiled by the Preview through the repeat geometry), and cancel at the next step (diffusers'
`_interrupt`). `latents=` is accepted as diffusers pipelines accept it. torch and diffusers
are imported here only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.engine.diffusion.padding import repeat_padding
from desktop.engine.diffusion.previews import latents_to_rgb
from desktop.errors import UserError
from desktop.repeat import check_size, parse_repeat


@dataclass
class DiffusionRequest:
    prompt: str
    negative_prompt: str = ""
    repeat: str = "basic"
    width: int = 512
    height: int = 512
    steps: int = 30
    guidance_scale: float = 7.0
    seed: int = 0
    count: int = 1
    scheduler: str = "ddim"
    family: str = "sd15"
    extra: dict[str, Any] = field(default_factory=dict)


SCHEDULERS = {"ddim": "DDIMScheduler", "euler": "EulerDiscreteScheduler", "euler-a": "EulerAncestralDiscreteScheduler",
              "dpm++": "DPMSolverMultistepScheduler", "pndm": "PNDMScheduler"}


def load_pipeline(location: str | Path, device: str = "cpu", dtype: str = "float32"):
    """A diffusers folder (or, when online, a hub id) as a StableDiffusionPipeline, offline first."""
    import torch
    from diffusers import DiffusionPipeline

    torch_dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    try:
        pipe = DiffusionPipeline.from_pretrained(str(location), torch_dtype=torch_dtype,
                                                 local_files_only=Path(str(location)).exists())
    except (OSError, ValueError) as exc:
        raise UserError(f"could not load the model at {location}: {str(exc).splitlines()[0]}") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def set_scheduler(pipe, name: str) -> None:
    import diffusers

    if name not in SCHEDULERS:
        raise UserError(f"unknown scheduler '{name}' (choose one of {', '.join(SCHEDULERS)})")
    pipe.scheduler = getattr(diffusers, SCHEDULERS[name]).from_config(pipe.scheduler.config)


def generate(pipe, request: DiffusionRequest, ctx=None, latents=None) -> list[dict[str, Any]]:
    """Render the request; returns one {image (HxWx3 uint8), seed, ms} per image."""
    import torch

    repeat = parse_repeat(request.repeat)
    check_size(repeat, request.width, request.height)
    scale = getattr(pipe, "vae_scale_factor", 8)
    multiple = max(8, scale)  # diffusers itself asks for multiples of 8
    if request.width % multiple or request.height % multiple:
        raise UserError(f"width and height must be multiples of {multiple} for this model")
    latent_size = (request.width // scale, request.height // scale)
    set_scheduler(pipe, request.scheduler)
    device = pipe.device
    results = []
    total = request.count * request.steps

    for k in range(request.count):
        seed = request.seed + k
        done_before = k * request.steps

        def on_step(pipeline, step, timestep, tensors, k=k, done_before=done_before):
            if ctx is not None:
                ctx.preview(latents_to_rgb(tensors["latents"], request.family))
                ctx.progress(done_before + step + 1, total, f"Image {k + 1} of {request.count}, step {step + 1}")
                if ctx.cancelled:
                    pipeline._interrupt = True
            return tensors

        generator = torch.Generator(device="cpu").manual_seed(seed)
        start = time.perf_counter()
        with repeat_padding([pipe.unet, pipe.vae], repeat, latent_size=latent_size):
            out = pipe(request.prompt, negative_prompt=request.negative_prompt or None, width=request.width,
                       height=request.height, num_inference_steps=request.steps,
                       guidance_scale=request.guidance_scale, generator=generator, latents=latents,
                       output_type="np", callback_on_step_end=on_step,
                       callback_on_step_end_tensor_inputs=["latents"])
        if ctx is not None:
            ctx.check_cancelled()
        image = (np.clip(out.images[0], 0, 1) * 255 + 0.5).astype(np.uint8)
        results.append({"image": image, "seed": seed, "ms": (time.perf_counter() - start) * 1000, "device": str(device)})
    return results
