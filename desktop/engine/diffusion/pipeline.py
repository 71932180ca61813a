"""Seamless generation with a diffusers Stable Diffusion pipeline.

One request renders `count` images, one seed each, with repeat padding on the UNet and the
VAE for the whole call (restored afterwards), live previews from the latents at every step
(tiled by the Preview through the repeat geometry), and cancel at the next step (diffusers'
`_interrupt`). `latents=` is accepted as diffusers pipelines accept it. torch and diffusers
are imported here only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.engine.diffusion.metadata import scheduler_key
from desktop.engine.diffusion.padding import repeat_padding
from desktop.engine.diffusion.previews import LatentFactors, PreviewStream
from desktop.errors import UserError
from desktop.repeat import Repeat, check_size, check_steps, parse_repeat


@dataclass
class DiffusionRequest:
    prompt: str
    negative_prompt: str = ""
    repeat: Repeat = Repeat.BASIC  # parsed once, when the request is made
    width: int = 512
    height: int = 512
    steps: int = 30
    guidance_scale: float = 7.0
    seed: int = 0
    count: int = 1
    scheduler: str = "ddim"
    family: str = "sd15"
    axes: str = "xy"  # "x" or "y": wrap one axis only (basic repeat)
    batch_size: int = 1  # images per UNet call; halved when the GPU runs out of memory
    vae_tiling: str = "auto"  # auto (large images, or after running out of memory) | on | off
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.repeat = parse_repeat(self.repeat)


SCHEDULERS = {"ddim": "DDIMScheduler", "euler": "EulerDiscreteScheduler", "euler-a": "EulerAncestralDiscreteScheduler",
              "dpm++": "DPMSolverMultistepScheduler", "pndm": "PNDMScheduler"}


@contextmanager
def diffusers_quiet(level: int) -> Iterator[None]:
    """diffusers' own log at `level` and above only, while Tessera says what happened in one sentence."""
    from diffusers.utils import logging as diffusers_logging

    before = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity(max(before, level))
    try:
        yield
    finally:
        diffusers_logging.set_verbosity(before)


def load_pipeline(location: str | Path, device: str = "cpu", dtype: str = "float32", trust_pickle: bool = False):
    """A diffusers folder (or, when online, a hub id) as a StableDiffusionPipeline, offline first.
    Pickle weights (.bin, .ckpt, ...) are read only from a folder the user trusted, and then with
    safetensors preferred; otherwise only .safetensors are read."""
    import torch
    from diffusers import DiffusionPipeline

    from desktop.config import downloads_allowed

    torch_dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    local = Path(str(location)).exists()
    if local:
        from desktop.engine.diffusion.families import refuse_code, refuse_untrusted_pickles

        refuse_code(Path(str(location)))  # checked when added too; files may have come since
        refuse_untrusted_pickles(Path(str(location)), trust_pickle)
    try:
        with diffusers_quiet(logging.ERROR):  # not "couldn't connect to the Hub" before the message below
            pipe = DiffusionPipeline.from_pretrained(str(location), dtype=torch_dtype,
                                                     use_safetensors=None if trust_pickle else True,
                                                     local_files_only=local or not downloads_allowed())
    except (OSError, ValueError) as exc:
        text = str(exc)
        if not local and ("cached" in text or "connect" in text.lower() or "offline" in text.lower()):
            why = ("downloads are off on this machine (HF_HUB_OFFLINE or TESSERA_OFFLINE)" if not downloads_allowed()
                   else "the Hugging Face Hub cannot be reached")
            raise UserError(f"{location} is not downloaded yet and {why}: connect once to fetch it, or add a "
                            "local copy (a diffusers folder or a .safetensors checkpoint)") from None
        raise UserError(f"could not load the model at {location}: {text.splitlines()[0]}") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def set_scheduler(pipe, name: str) -> None:
    import diffusers

    name = scheduler_key(name)
    if name not in SCHEDULERS:
        raise UserError(f"unknown scheduler '{name}' (choose one of {', '.join(SCHEDULERS)}, or A1111's name for one)")
    # PLMS, as A1111 names it, is PNDM without its Runge-Kutta warm-up (as SD 1.5's own config has it)
    extra = {"skip_prk_steps": True} if name == "pndm" else {}
    pipe.scheduler = getattr(diffusers, SCHEDULERS[name]).from_config(pipe.scheduler.config, **extra)


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def free_memory(pipe) -> None:
    """Drop what a pipeline holds beyond its weights (recorded steps) and hand the memory back."""
    from desktop.engine.diffusion.graphs import graphed

    recorded = graphed(pipe.unet)
    if recorded is not None:  # each recorded step holds its activations
        recorded.invalidate()
    collect_memory()


def collect_memory() -> None:
    """Collect cycles (a recorded step refers back to its UNet) and return CUDA's cached blocks."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def enable_memory_savers(pipe) -> bool:
    """Attention slicing and VAE slicing/tiling: slower, much smaller. False if already on."""
    if getattr(pipe, "_tessera_savers", False):
        return False
    pipe.enable_attention_slicing()
    vae = getattr(pipe, "vae", None)
    if vae is not None and hasattr(vae, "enable_slicing"):
        vae.enable_slicing()
    pipe._tessera_savers = True  # and the VAE decodes in windows (see vae_tiling)
    return True


def use_vae_tiling(pipe, request: DiffusionRequest) -> bool:
    from desktop.engine.diffusion.vae_tiling import needs_tiling

    if request.vae_tiling != "auto":
        return request.vae_tiling == "on"
    return getattr(pipe, "_tessera_savers", False) or needs_tiling(request.width, request.height)


def decode_tiled(pipe, latents, request: DiffusionRequest) -> np.ndarray:
    """The pipeline's last step done here: the latents decoded in windows laid on the repeat."""
    import torch

    from desktop.engine.diffusion.vae_tiling import tiled_decode

    vae = pipe.vae
    if vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False):
        vae.to(torch.float32)  # SDXL's VAE overflows in float16
    latents = latents.to(vae.dtype) / vae.config.scaling_factor
    image = tiled_decode(vae, latents, request.repeat)
    return (image / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()


@contextmanager
def cancel_points(pipe, ctx):
    """Cancel inside a step too: each UNet block and each VAE decoder block checks before it runs.

    A step on the CPU, or the final decode, can take many seconds; diffusers itself stops only
    between steps (and then still decodes). Not on a compiled UNet, whose compiled code would be
    recompiled for every new hook; its steps are fast anyway.
    """
    if ctx is None:
        yield
        return

    def check(module, args):
        ctx.check_cancelled()

    models = [pipe.vae.decoder] if getattr(pipe, "vae", None) is not None else []
    if not hasattr(pipe.unet, "_orig_mod"):
        models.append(pipe.unet)
    handles = []
    for model in models:
        blocks = [*getattr(model, "down_blocks", []), getattr(model, "mid_block", None), *getattr(model, "up_blocks", [])]
        handles += [block.register_forward_pre_hook(check) for block in blocks if block is not None]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def warn(ctx, warnings: list[str], message: str, step: int = 0, total: int | None = None) -> None:
    """A warning the user sees: logged, kept with the results, and shown as the job's progress message."""
    logging.getLogger("tessera.diffusion").warning(message)
    if message not in warnings:
        warnings.append(message)
    if ctx is not None:
        ctx.progress(step, total, message)


def unet_halvings(pipe) -> int:
    """How many times the pipeline's UNet halves its latents (one fewer than its resolution levels)."""
    unet = getattr(pipe, "unet", None)
    channels = getattr(getattr(unet, "config", None), "block_out_channels", None)
    return max(0, len(channels) - 1) if channels else 0


def check_request(pipe, request: DiffusionRequest) -> tuple[int, int]:
    """Validate the request against the model; returns the latent size (w, h)."""
    from desktop.engine.diffusion.padding import check_axes

    repeat = request.repeat
    check_size(repeat, request.width, request.height)
    check_axes(repeat, request.axes)
    scale = getattr(pipe, "vae_scale_factor", 8)
    # diffusers itself asks for multiples of 8; an offset repeat asks more of the UNet's coarsest level
    check_steps(repeat, request.width, request.height, unet_halvings(pipe), scale, least=8)
    if request.vae_tiling not in ("auto", "on", "off"):
        raise UserError(f"VAE tiling is auto, on or off, not '{request.vae_tiling}'")
    if not 1 <= request.batch_size <= 64:
        raise UserError(f"batch size must be between 1 and 64, not {request.batch_size}")
    return request.width // scale, request.height // scale


def _derived(pipe, kind: str):
    """The image-to-image or inpainting pipeline sharing this pipeline's modules (and LoRAs), made once."""
    attr = f"_tessera_{kind}"
    cached = getattr(pipe, attr, None)
    if cached is None:
        import diffusers

        auto = {"img2img": "AutoPipelineForImage2Image", "inpaint": "AutoPipelineForInpainting"}[kind]
        cached = getattr(diffusers, auto).from_pipe(pipe)
        cached.set_progress_bar_config(disable=True)
        setattr(pipe, attr, cached)
    return cached


def generate(pipe, request: DiffusionRequest, ctx=None, latents=None, init_image: np.ndarray | None = None,
             strength: float = 0.5, mask: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Render the request; returns one {image (HxWx3 uint8), seed, ms, device, warnings} per image.

    Images are rendered `batch_size` at a time, each from its own seed (seed, seed+1, ...), so a
    batch gives the same pictures as one image at a time. When the GPU runs out of memory the
    batch is halved, then attention and VAE slicing are turned on, before giving up with a
    message that says what to change. With `init_image` (HxWx3 uint8, the request's size) it
    runs image-to-image at `strength`, with the same repeat padding: the VAE encoder sees the
    tile's neighbours too. With a `mask` as well (HxW, nonzero = repaint) it inpaints.
    """
    import torch

    latent_size = check_request(pipe, request)
    set_scheduler(pipe, request.scheduler)
    device = pipe.device
    results: list[dict[str, Any]] = []
    warnings: list[str] = []
    steps = request.steps
    runner, inputs = pipe, {"width": request.width, "height": request.height}
    if init_image is not None:
        if latents is not None:
            raise UserError("image-to-image starts from the image; it takes no latents")
        if init_image.shape[:2] != (request.height, request.width):
            raise UserError(f"the image is {init_image.shape[1]}x{init_image.shape[0]}, "
                            f"the request {request.width}x{request.height}")
        if not 0.0 < strength <= 1.0:
            raise UserError(f"strength must be above 0 and at most 1, not {strength}")
        from PIL import Image

        runner = _derived(pipe, "img2img" if mask is None else "inpaint")
        set_scheduler(runner, request.scheduler)
        inputs = {"image": Image.fromarray(np.ascontiguousarray(init_image[..., :3])), "strength": strength}
        if mask is not None:
            inputs.update(mask_image=Image.fromarray(((np.asarray(mask) > 0) * 255).astype(np.uint8)),
                          width=request.width, height=request.height)
        steps = max(1, int(request.steps * strength))  # img2img runs only the last part of the schedule
    total = request.count * steps
    if latents is not None and latents.shape[0] not in (1, request.count):
        raise UserError(f"latents hold {latents.shape[0]} images; pass 1 or {request.count}")
    batch = min(request.batch_size, request.count)
    done = 0
    while done < request.count:
        seeds = [request.seed + k for k in range(done, min(request.count, done + batch))]
        n = len(seeds)
        chunk = None
        if latents is not None:  # one set for every image, or one per image
            chunk = latents[done:done + n] if latents.shape[0] > 1 else latents.expand(n, -1, -1, -1)

        previews = None if ctx is None else PreviewStream(
            ctx.preview, getattr(pipe, "_tessera_previewer", None) or LatentFactors(request.family))

        def on_step(pipeline, step, timestep, tensors, first=done, n=n, previews=previews):
            if ctx is not None:
                previews.push(tensors["latents"][:1])
                label = "" if request.count == 1 else f"image {first + 1} of {request.count}, " if n == 1 else \
                    f"images {first + 1}-{first + n} of {request.count}, "
                ctx.progress(min(total, first * steps + (step + 1) * n), total,
                             f"{label}step {step + 1} of {steps}")
                if ctx.cancelled:
                    pipeline._interrupt = True
            return tensors

        start = time.perf_counter()
        tiled = use_vae_tiling(pipe, request) and request.axes == "xy"
        try:
            with cancel_points(pipe, ctx):
                with repeat_padding([pipe.unet, pipe.vae], request.repeat, latent_size=latent_size, axes=request.axes):
                    if chunk is not None:
                        inputs["latents"] = chunk
                    out = runner(request.prompt, negative_prompt=request.negative_prompt or None, **inputs,
                                 num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
                                 num_images_per_prompt=n,
                                 generator=[torch.Generator(device="cpu").manual_seed(s) for s in seeds],
                                 output_type="latent" if tiled else "np", callback_on_step_end=on_step,
                                 callback_on_step_end_tensor_inputs=["latents"])
                if previews is not None:
                    previews.flush()  # the last steps' previews
                images = decode_tiled(pipe, out.images, request) if tiled else out.images
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            free_memory(pipe)
            if batch > 1:
                batch = max(1, batch // 2)
                warn(ctx, warnings, f"The GPU ran out of memory; retrying {batch} image(s) at a time.",
                     done * steps, total)
                continue
            if enable_memory_savers(pipe):
                warn(ctx, warnings, "The GPU ran out of memory; retrying with attention and VAE slicing (slower).",
                     done * steps, total)
                continue
            raise UserError(f"the GPU ran out of memory rendering one {request.width}x{request.height} image, even "
                            "with slicing on: choose a smaller size and upscale, close other programs using the GPU, "
                            "or use float16") from None
        if ctx is not None:
            ctx.check_cancelled()
        ms = (time.perf_counter() - start) * 1000 / len(seeds)
        for seed, image in zip(seeds, images):
            pixels = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
            results.append({"image": pixels, "seed": seed, "ms": ms, "device": str(device), "warnings": warnings})
        done += len(seeds)
    return results
