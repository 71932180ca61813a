"""Training a style LoRA from seamless tiles (peft), on the GPU, with the repeat kept.

    from desktop.engine.diffusion.training import TrainingRequest, train_lora

    result = train_lora(TrainingRequest(model="my-sd15", name="deco", trigger="tsr deco",
                                        items=[{"file": "a.png", "caption": "gold fans", "repeat": "half-drop"}]))
    result["path"]                      # a kohya .safetensors, read back by Generate like any LoRA

What makes it a pattern trainer rather than a generic one:

- every tile is seen **through its repeat**: the VAE encodes it with repeat padding (so the
  latents wrap), and the UNet trains with the same padding it renders with;
- each step sees the tile from a **random origin on its plane** (a translation along the repeat,
  which a seamless tile allows and a photo does not), so the LoRA learns the motif, not where
  the tile happened to be cut. For half-drop and half-brick the window follows the lattice; a
  mirror repeat is not translated (its half-tiles would not mirror);
- sizes keep each tile's aspect at about the training resolution's area, resized through the
  repeat so they stay seamless.

The text encoders and the VAE are frozen, so each caption is encoded once and each tile's latent
distribution once: a step is the UNet alone. LoRA layers go on the UNet's attention, projection
and feed-forward layers; the loss is min-SNR weighted. On CUDA the frozen weights are in half
precision (bfloat16 where the GPU has it, float16 with a gradient scaler where it has not) and
the LoRA in float32; on the CPU, float32. The result is written once, atomically, as kohya
tensors in float16 with metadata: trigger words, the base model and its sha256, and the tiles'
sha256, so what a LoRA was trained on is never lost. A cancel stops at the next step and
writes no LoRA; the run is saved as it goes and when stopped (`checkpoints`), and `resume` goes
on from there to the weights an unstopped run reaches.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop import __version__
from desktop.engine.diffusion.lora_file import (
    check_space,
    data_url,
    describe,
    save,
    save_sample,
    tag_frequency,
)
from desktop.engine.diffusion.training_knobs import KNOBS, warmup_steps
from desktop.engine.diffusion.training_request import (
    TrainingRequest,
    output_path,
)
from desktop.errors import UserError
from desktop.repeat import Repeat, parse_repeat

log = logging.getLogger("tessera.training")

# the UNet's layers a style LoRA trains: attention, the transformer blocks' projections, feed-forward
TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2")
ADAPTER = "tessera_training"
RESOLUTION = {"sd15": 512, "sdxl": 1024}
# ModelSpec's implementation: the codebase whose names the tensors carry (SD 1.5: diffusers' module paths;
# SDXL: kohya's, which are Stability's generative-models UNet's)
IMPLEMENTATION = {"sd15": "diffusers", "sdxl": "https://github.com/Stability-AI/generative-models"}
BASE_VERSION = {"sd15": ("sd_v1", "stable-diffusion-v1/lora"), "sdxl": ("sdxl_base_v1-0", "stable-diffusion-xl-v1-base/lora")}



def training_size(width: int, height: int, resolution: int, multiple: int | tuple[int, int]) -> tuple[int, int]:
    """The tile's aspect at about resolution² pixels, each side a multiple of `multiple` (one for both
    sides, or (for the width, for the height))."""
    mx, my = (multiple, multiple) if isinstance(multiple, int) else multiple
    scale = resolution / math.sqrt(width * height)
    return max(mx, round(width * scale / mx) * mx), max(my, round(height * scale / my) * my)


def shifted(latents, repeat: Repeat, dx: int, dy: int):
    """The latent tile seen from (dx, dy) on its plane: the same repeat, another origin."""
    from desktop.repeat import window

    h, w = latents.shape[-2:]
    return window(latents, repeat, dx, dy, w, h)


@dataclass
class _Tile:
    mean: Any  # the VAE's latent distribution, already scaled (1x4xhxw, float32)
    std: Any
    caption: int  # index into the encoded captions
    repeat: Repeat
    size: tuple[int, int]  # pixel width, height
    file: str
    sha256: str
    pattern_id: int | None = None  # the library's id, when it came from the library
    caption_text: str = ""
    tags: str = ""  # its own caption, without the trigger (shuffled or dropped at a step when asked)


class LoraTrainer:
    """A LoRA on a loaded pipeline's UNet, and the tiles it learns from, prepared once."""

    def __init__(self, pipe, family: str, request: TrainingRequest, device: str, dtype: str):
        import torch

        self.pipe, self.family, self.request = pipe, family, request
        self.device = torch.device(device)
        # frozen weights in half precision (bfloat16 on the CPU too, when asked): the LoRA in float32, under autocast
        self.half = dtype in ("float16", "bfloat16")
        self.autocast_dtype = getattr(torch, dtype) if self.half else None
        self.scaler = torch.amp.GradScaler("cuda") if self.half and dtype == "float16" and \
            self.device.type == "cuda" else None
        self.tiles: list[_Tile] = []
        self.captions: list[dict[str, Any]] = []
        self.skipped: list[dict[str, str]] = []
        self.generator = torch.Generator("cpu").manual_seed(int(request.seed))
        self.rng = np.random.default_rng(int(request.seed))
        from diffusers import DDPMScheduler

        self.noise = DDPMScheduler.from_config(pipe.scheduler.config)
        self.losses: list[float] = []
        self.optimizer = None
        self.padded: Repeat | None = None  # the repeat the UNet pads through now
        self.notes: list[str] = []  # what was asked and could not be had (8-bit AdamW on the CPU)
        self.encoded: dict[str, dict[str, Any]] = {}  # captions of shuffled or dropped steps, encoded once
        self.scored: dict[str, Any] | None = None  # the style score, when drawn (style_score)

    # preparing -------------------------------------------------------------------------------
    @property
    def multiple(self) -> int:
        """Sides in pixels must be multiples of this: the VAE's scale times the UNet's downsamplings."""
        blocks = len(self.pipe.unet.config.block_out_channels)
        return int(getattr(self.pipe, "vae_scale_factor", 8)) * 2 ** (blocks - 1)

    def multiples(self, repeat: Repeat) -> tuple[int, int]:
        """(width, height) multiples for a tile of this repeat: `multiple`, and for a half-drop's
        height (a half-brick's width) twice that, so the offset is a whole pixel at the UNet's
        coarsest level (desktop.repeat.size_steps)."""
        from desktop.repeat import size_steps

        blocks = len(self.pipe.unet.config.block_out_channels)
        steps = size_steps(repeat, blocks - 1, int(getattr(self.pipe, "vae_scale_factor", 8)))
        return math.lcm(self.multiple, steps[0]), math.lcm(self.multiple, steps[1])

    def prepare(self, ctx=None) -> None:
        """Encode every caption and tile once (frozen encoders), then attach the LoRA."""
        import torch

        from desktop.engine.diffusion.img2img import wrap_resize
        from desktop.engine.diffusion.padding import repeat_padding
        from desktop.engine.images import load_rgb

        request, pipe = self.request, self.pipe
        for part in ("unet", "vae", "text_encoder", "text_encoder_2"):
            module = getattr(pipe, part, None)
            if module is not None:
                module.requires_grad_(False)
        resolution = request.resolution or RESOLUTION.get(self.family, 512)
        texts: dict[str, int] = {}
        vae = pipe.vae
        upcast = vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False)
        if upcast:
            vae.to(torch.float32)  # SDXL's VAE overflows in float16
        for k, item in enumerate(request.items):
            if ctx is not None:
                ctx.check_cancelled()
                ctx.progress(k, len(request.items), f"preparing tile {k + 1} of {len(request.items)}")
            name = Path(str(item.get("file", ""))).name or "?"
            repeat = parse_repeat(item.get("repeat") or "basic")
            try:
                image = load_rgb(item["file"])
                w, h = training_size(image.shape[1], image.shape[0], resolution, self.multiples(repeat))
                image = wrap_resize(image, repeat.value, w, h)  # resized through its repeat
            except (OSError, ValueError, UserError, KeyError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.skipped.append({"file": str(item.get("file", "")), "reason": reason})
                log.warning("training: skipped %s (%s)", name, reason)
                continue
            pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 127.5 - 1
            pixels = pixels.to(self.device, vae.dtype)
            with torch.no_grad(), repeat_padding([vae], repeat):
                dist = vae.encode(pixels).latent_dist
            scale = vae.config.scaling_factor
            shift = getattr(vae.config, "shift_factor", None) or 0.0
            caption = ", ".join(p for p in (request.trigger.strip(), str(item.get("caption") or "").strip()) if p)
            if caption not in texts:
                texts[caption] = len(texts)
                self.captions.append(self._encode(caption))
            # kept in host memory (a few thousand SDXL tiles would take gigabytes of the GPU's)
            self.tiles.append(_Tile(((dist.mean - shift) * scale).float().cpu(), (dist.std * scale).float().cpu(),
                                    texts[caption], repeat, (w, h), str(item["file"]), str(item.get("sha256", "")),
                                    item.get("id"), caption, str(item.get("caption") or "")))
        if upcast:
            vae.to(torch.float16)
        self.groups: dict[tuple[Repeat, tuple[int, int]], list[_Tile]] = {}  # a batch is drawn from one
        for tile in self.tiles:
            self.groups.setdefault((tile.repeat, tile.size), []).append(tile)
        if not self.tiles:
            first = self.skipped[0] if self.skipped else {"file": "", "reason": "no tiles"}
            raise UserError(f"none of the {len(request.items)} tile(s) could be read to train on "
                            f"({Path(first['file']).name}: {first['reason']})")
        self._attach()

    def _encode(self, caption: str | list[str], grad: bool = False) -> dict[str, Any]:
        """A caption (or a batch of them) through the text encoder(s): frozen, once, kept in host memory;
        or, while the encoders train (`grad`), every step, on the device, with their gradients."""
        import torch

        with torch.set_grad_enabled(grad):
            if self.family == "sdxl":
                embeds, _, pooled, _ = self.pipe.encode_prompt(caption, device=self.device, num_images_per_prompt=1,
                                                               do_classifier_free_guidance=False)
                out = {"embeds": embeds, "pooled": pooled}
            else:
                embeds, _ = self.pipe.encode_prompt(caption, self.device, 1, False)
                out = {"embeds": embeds}
        return out if grad else {key: value.cpu() for key, value in out.items()}

    def encoders(self) -> list[tuple[str, Any]]:
        """The text encoders a LoRA trains on too (none unless asked): (kohya's prefix, the model)."""
        if not self.request.train_text_encoder:
            return []
        found = [(name, getattr(self.pipe, name, None)) for name in ("text_encoder", "text_encoder_2")]
        found = [(name, model) for name, model in found if model is not None]
        prefixes = {"text_encoder": "lora_te1_" if len(found) > 1 else "lora_te_", "text_encoder_2": "lora_te2_"}
        return [(prefixes[name], model) for name, model in found]

    def _attach(self) -> None:
        import torch
        from diffusers.training_utils import cast_training_params
        from peft import LoraConfig

        from desktop.engine.diffusion import training_knobs

        request, unet = self.request, self.pipe.unet
        present = {name.rsplit(".", 1)[-1] for name, _ in unet.named_modules()}
        targets = [t for t in TARGETS if t.rsplit(".", 1)[-1] in present]
        # LoCon: the resnets' 3x3 convolutions too, at their own rank (kohya's conv_dim / conv_alpha)
        convs = [name for name, module in unet.named_modules() if request.conv_rank and
                 isinstance(module, torch.nn.Conv2d) and re.search(r"resnets\.\d+\.conv[12]$", name)]
        conv_alpha = float(request.conv_alpha or request.conv_rank)
        config = LoraConfig(r=int(request.rank), lora_alpha=float(request.alpha or request.rank),
                            init_lora_weights="gaussian", target_modules=targets + convs,
                            rank_pattern={name: int(request.conv_rank) for name in convs},
                            alpha_pattern={name: conv_alpha for name in convs})
        unet.add_adapter(config, adapter_name=ADAPTER)
        self.config = config
        if self.half:
            cast_training_params(unet, dtype=torch.float32)
        if request.gradient_checkpointing:
            unet.enable_gradient_checkpointing()
        unet.train()
        self.params = [p for p in unet.parameters() if p.requires_grad]
        groups = [{"params": list(self.params), "base_lr": float(request.learning_rate)}]
        encoder_rate = float(request.text_encoder_lr or request.learning_rate / 2)
        for _, encoder in self.encoders():  # the text encoders' own LoRA, at their own rate
            encoder.add_adapter(LoraConfig(r=int(request.rank), lora_alpha=float(request.alpha or request.rank),
                                           init_lora_weights="gaussian",
                                           target_modules=list(training_knobs.ENCODER_TARGETS)),
                                adapter_name=ADAPTER)
            if self.half:
                cast_training_params(encoder, dtype=torch.float32)
            encoder.train()
            trained = [p for p in encoder.parameters() if p.requires_grad]
            groups.append({"params": trained, "base_lr": encoder_rate})
            self.params += trained
        self.optimizer, note = training_knobs.optimizer(groups, request, self.device)
        self.notes += [note] if note else []
        self.curve = training_knobs.schedule(self.optimizer, request)

    # training --------------------------------------------------------------------------------
    def _batch(self) -> tuple[list[_Tile], Any, dict[str, Any]]:
        """A batch from one (repeat, size) group: its clean latents, each from a random origin."""
        import torch

        tile = self.tiles[int(self.rng.integers(len(self.tiles)))]
        group = self.groups[(tile.repeat, tile.size)]
        chosen = [tile] + [group[int(i)] for i in self.rng.integers(len(group), size=self.request.batch_size - 1)]
        latents = []
        for t in chosen:
            sample = t.mean + t.std * torch.randn(t.mean.shape, generator=self.generator).to(t.mean.device)
            if self.request.shift and t.repeat is not Repeat.MIRROR:
                h, w = sample.shape[-2:]
                sample = shifted(sample, t.repeat, int(self.rng.integers(w)), int(self.rng.integers(h)))
            if self.request.flip and self.rng.random() < 0.5:
                sample = sample.flip(-1)
            latents.append(sample)
        request = self.request
        if request.caption_shuffle or request.caption_dropout:
            from desktop.engine.diffusion.training_knobs import caption_for

            texts = [caption_for(request.trigger, t.tags, self.rng, request.caption_shuffle, request.caption_dropout)
                     for t in chosen]
        else:
            texts = [t.caption_text for t in chosen]
        if request.train_text_encoder:  # the encoders learn too: the batch's captions through them, now
            return chosen, torch.cat(latents), self._encode(texts, grad=True)
        if request.caption_shuffle or request.caption_dropout:
            conditions = [self._encoding(text) for text in texts]
        else:
            conditions = [self.captions[t.caption] for t in chosen]
        cond = {key: torch.cat([c[key] for c in conditions]) for key in conditions[0]}
        return chosen, torch.cat(latents), cond

    def _encoding(self, caption: str) -> dict[str, Any]:
        """A step's caption, encoded once (the text encoders are frozen); at most 128 kept."""
        if caption not in self.encoded:
            if len(self.encoded) >= 128:
                self.encoded.pop(next(iter(self.encoded)))
            self.encoded[caption] = self._encode(caption)
        return self.encoded[caption]

    def _predict(self, noisy, timesteps, cond: dict[str, Any], size: tuple[int, int]):
        import torch

        extra = {}
        if self.family == "sdxl":
            w, h = size
            projection = self.pipe.text_encoder_2.config.projection_dim
            ids = self.pipe._get_add_time_ids((h, w), (0, 0), (h, w), dtype=cond["embeds"].dtype,
                                              text_encoder_projection_dim=projection)
            extra["added_cond_kwargs"] = {"text_embeds": cond["pooled"],
                                          "time_ids": ids.to(self.device).repeat(noisy.shape[0], 1)}
        unet = self.pipe.unet
        dtype = unet.dtype
        with torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.half):
            return unet(noisy.to(dtype), timesteps, cond["embeds"].to(dtype), **extra).sample

    def loss(self, latents, cond: dict[str, Any], repeat: Repeat, size: tuple[int, int], noise=None,
             timesteps=None):
        """The (min-SNR weighted) denoising loss of one batch, with the repeat padding on."""
        import torch

        latents = latents.to(self.device)
        cond = {key: value.to(self.device) for key, value in cond.items()}  # the captions wait in host memory
        if noise is None:
            noise = torch.randn(latents.shape, generator=self.generator)
            if self.request.noise_offset:  # one shift per latent channel: whole tiles darker or lighter
                noise = noise + self.request.noise_offset * torch.randn((*latents.shape[:2], 1, 1),
                                                                        generator=self.generator)
        noise = noise.to(self.device)
        if timesteps is None:
            steps = self.noise.config.num_train_timesteps
            timesteps = torch.randint(0, steps, (latents.shape[0],), generator=self.generator).to(self.device)
        noisy = self.noise.add_noise(latents, noise, timesteps)
        prediction = self.noise.config.prediction_type
        target = self.noise.get_velocity(latents, noise, timesteps) if prediction == "v_prediction" else noise
        self.pad(repeat)
        predicted = self._predict(noisy, timesteps, cond, size).float()
        error = ((predicted - target.float()) ** 2).mean(dim=(1, 2, 3))
        if self.request.snr_gamma:
            from diffusers.training_utils import compute_snr

            snr = compute_snr(self.noise, timesteps)
            capped = torch.minimum(snr, torch.full_like(snr, self.request.snr_gamma))
            error = error * (capped / (snr + 1 if prediction == "v_prediction" else snr))
        return error.mean()

    def pad(self, repeat: Repeat | None) -> None:
        """The UNet's convolutions pad through `repeat` (None: with zeros, as loaded). Kept from
        step to step while the repeat stays the same: patching every convolution costs a step
        about 2 % on the CPU."""
        from desktop.engine.diffusion.padding import apply_repeat_padding, restore_padding

        if repeat is self.padded:
            return
        if repeat is None:
            restore_padding(self.pipe.unet)
        else:
            apply_repeat_padding(self.pipe.unet, repeat)
        self.padded = repeat

    def step(self, k: int) -> float:
        """One optimizer step: `accumulation` batches' gradients added, at the schedule's rate for step k."""
        import torch

        from desktop.engine.diffusion.training_knobs import factor

        request = self.request
        for group in self.optimizer.param_groups:  # the UNet's and the text encoders' rates, on one curve
            group["lr"] = group.get("base_lr", request.learning_rate) * factor(self.curve, k, request.steps)
        self.optimizer.zero_grad(set_to_none=True)
        value = 0.0
        for _ in range(int(request.accumulation)):
            chosen, latents, cond = self._batch()
            loss = self.loss(latents, cond, chosen[0].repeat, chosen[0].size) / int(request.accumulation)
            if not torch.isfinite(loss):
                raise UserError(f"training diverged at step {k + 1} (the loss is {loss.item()}): lower the "
                                "learning rate and train again")
            (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
            value += float(loss.detach())
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.params, 1.0)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            torch.nn.utils.clip_grad_norm_(self.params, 1.0)
            self.optimizer.step()
        self.losses.append(value)
        return value

    def step_fitting(self, k: int, warnings: list[str], ctx=None) -> float:
        """A step that fits in the GPU's memory: when it runs out, train on with gradient
        checkpointing, then with half the batch, before saying what to change."""
        from desktop.engine.diffusion.pipeline import collect_memory, is_out_of_memory, warn

        while True:
            try:
                return self.step(k)
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
            self.optimizer.zero_grad(set_to_none=True)
            collect_memory()
            unet = self.pipe.unet
            if not unet.is_gradient_checkpointing:
                unet.enable_gradient_checkpointing()
                warn(ctx, warnings, "The GPU ran out of memory; training on with gradient checkpointing "
                     "(slower, far smaller).", k, self.request.steps)
            elif self.request.batch_size > 1:
                self.request.batch_size //= 2
                warn(ctx, warnings, f"The GPU ran out of memory; training on with {self.request.batch_size} "
                     "tile(s) a step.", k, self.request.steps)
            else:
                w, h = self.tiles[0].size
                raise UserError(f"the GPU ran out of memory training at {w}x{h}, even one tile a step with "
                                "gradient checkpointing: choose a lower resolution or rank, or close other "
                                "programs using the GPU") from None

    def held_out_loss(self, draws: int = 4, seed: int = 1234) -> float:
        """The mean loss over fixed noise and timesteps for every tile, without a shift: a steady
        measure of how well the UNet (with its LoRA) denoises these tiles."""
        import torch

        generator = torch.Generator("cpu").manual_seed(seed)
        steps = self.noise.config.num_train_timesteps
        total = 0.0
        was_training = self.pipe.unet.training
        self.pipe.unet.eval()
        with torch.no_grad():
            for tile in self.tiles:
                # (while the text encoders learn, their captions' encodings change with them)
                cond = self._encode(tile.caption_text) if self.request.train_text_encoder else self.captions[tile.caption]
                for _ in range(draws):
                    noise = torch.randn(tile.mean.shape, generator=generator)
                    timesteps = torch.randint(0, steps, (1,), generator=generator)
                    total += float(self.loss(tile.mean, cond, tile.repeat, tile.size, noise, timesteps.to(self.device)))
        self.pipe.unet.train(was_training)
        return total / (len(self.tiles) * draws)

    # samples ---------------------------------------------------------------------------------
    def sample_at(self) -> set[int]:
        """The steps (1-based) after which a sample is drawn: evenly spread, the last at the end."""
        n, steps = self.request.samples, self.request.steps
        return {round(steps * (j + 1) / n) for j in range(n)} if n else set()

    def sample(self, ctx=None) -> np.ndarray:
        """A seamless tile drawn with the LoRA as it is now: the trigger and the first caption, at
        the most common training size and repeat, from the same seed every time (so successive
        samples show what the training changed)."""

        repeat, size, group = self.sample_group()
        caption = group[0].caption_text
        image = self.draw(caption, self.request.seed, repeat, size, ctx)
        self.sample_prompt, self.sample_repeat = caption, repeat
        return image

    def sample_group(self) -> tuple[Repeat, tuple[int, int], list[_Tile]]:
        """The repeat samples are drawn in, their size, and the tiles they stand for: the largest group
        of tiles of the asked repeat (of any, when none has it)."""
        wanted = parse_repeat(self.request.sample_repeat) if self.request.sample_repeat else None
        key = max([k for k in self.groups if k[0] is wanted] or list(self.groups), key=lambda k: len(self.groups[k]))
        return wanted or key[0], key[1], self.groups[key]

    def draw(self, prompt: str, seed: int, repeat: Repeat, size: tuple[int, int], ctx=None,
             previews: bool = True) -> np.ndarray:
        """A seamless tile drawn with the pipeline as it is now (its LoRA on, unless switched off); its
        steps show in the Preview unless `previews` is off (the style score's draws are not samples)."""
        from desktop.engine.diffusion.pipeline import DiffusionRequest, generate

        w, h = size
        self.pad(None)  # generate pads through the sample's repeat itself
        unet = self.pipe.unet
        unet.eval()
        try:
            drawn = generate(self.pipe, DiffusionRequest(prompt, repeat=repeat.value, width=w, height=h,
                                                         steps=self.request.sample_steps, guidance_scale=7.0,
                                                         seed=seed, family=self.family),
                             # Stop reaches the sample's steps and their previews show it forming;
                             # the bar stays on the training steps
                             _part(ctx, previews) if ctx is not None else None)
        finally:
            unet.train()
        return drawn[0]["image"]

    def adapters(self, on: bool) -> None:
        """Switch the LoRA (on the UNet and any trained text encoder) on or off, to draw as the base model."""
        for module in [self.pipe.unet, *(encoder for _, encoder in self.encoders())]:
            module.enable_adapters() if on else module.disable_adapters()

    def style_score(self, embedder, ctx=None) -> dict[str, Any]:
        """The style-consistency score (style_score.py): `score_samples` tiles drawn with the LoRA and as many
        with the base model alone, from the same seeds and prompts, against the training tiles, in the
        space `embedder()` gives: (its name, images -> unit vectors)."""
        from desktop.engine.diffusion import style_score
        from desktop.engine.images import load_rgb

        n = int(self.request.score_samples)
        repeat, size, group = self.sample_group()
        prompts = [group[j % len(group)].caption_text for j in range(n)]
        seeds = [int(self.request.seed) + 1000 + j for j in range(n)]
        drawn: dict[bool, list[np.ndarray]] = {True: [], False: []}
        for on in (True, False):
            self.adapters(on)
            try:
                for j, (prompt, seed) in enumerate(zip(prompts, seeds)):
                    if ctx is not None:
                        ctx.progress(len(self.losses), self.request.steps,
                                     f"scoring the style: sample {j + 1 + (0 if on else n)} of {2 * n}")
                    drawn[on].append(self.draw(prompt, seed, repeat, size, ctx, previews=False))
            finally:
                self.adapters(True)
        step = max(1, len(self.tiles) // 64)  # at most 64 of the training tiles stand for the set
        training = [load_rgb(t.file) for t in self.tiles[::step]]
        name, embed = embedder()
        result = style_score.score(embed(training), embed(drawn[True]), embed(drawn[False]))
        return {**result, "embedding": name, "samples": n, "sentence": style_score.sentence(result)}

    # saving ----------------------------------------------------------------------------------
    def tensors(self) -> dict[str, Any]:
        """The trained LoRA as kohya tensors (float16), as Tessera, A1111 and ComfyUI read them."""
        import torch
        from peft.utils import get_peft_model_state_dict

        from desktop.engine.diffusion.loras import peft_state_to_kohya

        state = get_peft_model_state_dict(self.pipe.unet, adapter_name=ADAPTER)
        # SDXL LoRAs in kohya's SDXL names (the original UNet's), as A1111 and ComfyUI expect them
        sdxl = self.pipe.unet.config if self.family == "sdxl" else None
        kohya = peft_state_to_kohya(state, self.config.to_dict(), sdxl_unet=sdxl)
        for prefix, encoder in self.encoders():  # lora_te_ (SD 1.5), lora_te1_ and lora_te2_ (SDXL)
            config = encoder.peft_config[ADAPTER].to_dict()
            kohya.update(peft_state_to_kohya(get_peft_model_state_dict(encoder, adapter_name=ADAPTER), config,
                                             prefix=prefix))
        return {k: v.detach().to("cpu", torch.float16 if v.ndim else torch.float32).contiguous()
                for k, v in kohya.items()}

    def metadata(self, base: dict[str, str], seconds: float, thumbnail: np.ndarray | None = None) -> dict[str, str]:
        """What the file says of itself: Tessera's full record, ModelSpec's keys (title, trigger, resolution,
        a thumbnail of the last sample) and kohya's (tag frequencies, resolution, base model), so A1111's
        and ComfyUI's LoRA browsers show its tags and trigger."""
        request = self.request
        version, architecture = BASE_VERSION.get(self.family, ("", ""))
        trigger = request.trigger.strip()
        resolution = request.resolution or RESOLUTION.get(self.family, 512)
        facts = self.facts(base, seconds)
        return {
            "tessera.trigger_words": trigger, "tessera.training": json.dumps(facts, sort_keys=True),
            "ss_base_model_version": version, "modelspec.architecture": architecture,
            "modelspec.title": request.name, "ss_network_module": "networks.lora",
            "ss_network_dim": str(request.rank), "ss_network_alpha": f"{request.alpha or request.rank:g}",
            "ss_steps": str(len(self.losses)), "ss_learning_rate": f"{request.learning_rate:g}",
            "ss_num_train_images": str(len(self.tiles)), "ss_sd_model_name": base.get("name", ""),
            "ss_new_sd_model_hash": base.get("sha256", ""),
            "ss_output_name": request.name, "ss_resolution": f"({resolution}, {resolution})",
            "ss_tag_frequency": json.dumps({f"1_{request.name}": tag_frequency(t.caption_text for t in self.tiles)}),
            "ss_training_comment": f"trained by Tessera {__version__} on seamless tiles through their repeats",
            "ss_lr_scheduler": request.lr_schedule, "ss_lr_warmup_steps": str(warmup_steps(request)),
            "ss_optimizer": self.optimizer_name(), "ss_noise_offset": f"{request.noise_offset:g}",
            "ss_shuffle_caption": str(bool(request.caption_shuffle)),
            "ss_caption_dropout_rate": f"{request.caption_dropout:g}",
            "ss_gradient_accumulation_steps": str(request.accumulation),
            "ss_gradient_checkpointing": str(bool(request.gradient_checkpointing)),
            "ss_network_train_unet_only": str(not request.train_text_encoder),
            **({"ss_text_encoder_lr": f"{request.text_encoder_lr or request.learning_rate / 2:g}"}
               if request.train_text_encoder else {}),
            **({"ss_network_args": json.dumps({"conv_dim": str(request.conv_rank),
                                               "conv_alpha": f"{request.conv_alpha or request.conv_rank:g}"})}
               if request.conv_rank else {}),
            "modelspec.sai_model_spec": "1.0.0", "modelspec.implementation": IMPLEMENTATION.get(self.family, ""),
            "modelspec.date": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime()),
            "modelspec.resolution": f"{resolution}x{resolution}", "modelspec.trigger_phrase": trigger,
            "modelspec.prediction_type": self.prediction_type(),
            "modelspec.description": describe(request, self.tiles),
            **({"modelspec.thumbnail": data_url(thumbnail)} if thumbnail is not None else {}),
        }

    def facts(self, base: dict[str, str], seconds: float) -> dict[str, Any]:
        """Tessera's record of the run: the base model, the settings, the final loss and every tile."""
        request = self.request
        return {
            "tessera": __version__, "base_model": base, "steps": len(self.losses), "rank": request.rank,
            "alpha": request.alpha or request.rank, "learning_rate": request.learning_rate,
            "batch_size": request.batch_size, "resolution": request.resolution or RESOLUTION.get(self.family, 512),
            "seed": request.seed, "shift": request.shift, "flip": request.flip, "snr_gamma": request.snr_gamma,
            **{knob: getattr(request, knob) for knob in KNOBS},
            "targets": sorted(self.config.target_modules), "seconds": round(seconds, 1),
            **({"style_score": self.scored} if self.scored else {}),
            "final_loss": round(float(np.mean(self.losses[-20:])), 5) if self.losses else None,
            "tiles": [{"id": t.pattern_id, "file": Path(t.file).name, "sha256": t.sha256, "repeat": t.repeat.value,
                       "size": list(t.size), "caption": t.caption_text} for t in self.tiles],
        }

    def optimizer_name(self) -> str:
        kind = type(self.optimizer)
        return f"{kind.__module__}.{kind.__name__}"

    def prediction_type(self) -> str:
        kind = str(getattr(self.pipe.scheduler.config, "prediction_type", "epsilon"))
        return "v" if kind == "v_prediction" else kind

    def detach(self) -> None:
        """Take the LoRA off the UNet again (the pipeline is as it was loaded)."""
        self.pad(None)
        unet = self.pipe.unet
        unet.eval()
        if hasattr(unet, "delete_adapters"):
            unet.delete_adapters(ADAPTER)
        for _, encoder in self.encoders():
            encoder.eval()
            if ADAPTER in (getattr(encoder, "peft_config", None) or {}):
                encoder.delete_adapter(ADAPTER)


def _part(ctx, previews: bool):
    """A draw's context: Stop reaches its steps; its previews go to the job's Preview when `previews`; the
    bar stays on the training steps."""
    from desktop.jobs import PartContext

    part = PartContext(ctx, lambda fraction, message: None)
    if not previews:
        part.preview = lambda image: None
    return part


def train_lora(request: TrainingRequest | dict[str, Any], ctx=None, embedder=None) -> dict[str, Any]:
    """Train, write the LoRA, and say what was done. With `embedder` (a function giving (a name, images ->
    unit vectors), made when it is called: `desktop.library.lora_jobs` gives CLIP's or the descriptor's),
    the LoRA gets its style-consistency score. The function a training job runs, through that module."""
    import torch

    from desktop.engine.diffusion import checkpoints, training_log
    from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions
    from desktop.engine.diffusion.registry import ModelEntry
    from desktop.engine.generate import find_model, release_engines
    from desktop.jobs import JobCancelled

    if isinstance(request, dict):
        request = TrainingRequest(**request)
    request.check()
    path = output_path(request)
    started = time.perf_counter()
    if ctx is not None:
        ctx.progress(0, None, "loading the model")
    entry = request.model if isinstance(request.model, ModelEntry) else find_model(str(request.model))
    if entry.family not in RESOLUTION:
        raise UserError(f"LoRAs are trained for SD 1.5 and SDXL models, and {entry.name} is {entry.family}")
    release_engines()  # one model in memory at a time: the one Generate kept goes first
    torch.manual_seed(int(request.seed))
    options = EngineOptions(device=request.device or None, dtype=request.precision or None, cuda_graphs=False)
    engine = DiffusionEngine.load(entry, options)
    pipe = engine.pipe
    device = str(pipe.device)
    dtype = str(pipe.unet.dtype).removeprefix("torch.")
    if device.startswith("cuda") and dtype == "float16" and not request.precision and torch.cuda.is_bf16_supported():
        pipe.to(dtype=torch.bfloat16)  # the same speed as float16, and no loss scaling to go wrong
        dtype = "bfloat16"
    warnings = [w for w in engine.warnings if "CPU" not in w]  # those say "rendering"; this trains
    if device == "cpu" and not request.device:
        warnings.insert(0, "No CUDA GPU found: training on the CPU, which takes hours at full size.")
    trainer = LoraTrainer(pipe, entry.family, request, device, dtype)
    curve, finished = None, False
    try:
        trainer.prepare(ctx)
        warnings += trainer.notes
        check_space(path, trainer)
        run = checkpoints.fingerprint(request, engine.model_hash or entry.name)
        smooth, sample, drawn, start = None, None, 0, 0
        if request.resume:
            saved = checkpoints.load(path, run)
            checkpoints.restore(trainer, saved)
            start, smooth, drawn = saved.step, saved.state.get("smooth"), int(saved.state.get("drawn", 0))
            sample = checkpoints.sample_of(saved)
            log.info("training %s resumed from step %d (%s)", request.name, start, saved.path)
        sample_at = trainer.sample_at()
        every, last_saved = int(request.checkpoint_every), start
        from desktop.engine.diffusion.training_knobs import factor

        def rate(k: int) -> float:
            return request.learning_rate * factor(trainer.curve, k, request.steps)

        curve = training_log.TrainingLog(path, trainer.losses, [rate(k) for k in range(len(trainer.losses))])

        def checkpoint() -> None:
            nonlocal last_saved
            checkpoints.save(trainer, path, run, int(request.keep_checkpoints), {"smooth": smooth, "drawn": drawn},
                             sample)
            last_saved = len(trainer.losses)

        try:
            for k in range(start, request.steps):
                if ctx is not None:
                    ctx.check_cancelled()
                value = trainer.step_fitting(k, warnings, ctx)
                smooth = curve.add(k + 1, value, rate(k))
                message = training_log.step_message(k + 1, request.steps, smooth)
                if k + 1 in sample_at and request.samples:  # (none after running out of memory for one)
                    drawn += 1
                    if ctx is not None:
                        ctx.progress(k + 1, request.steps, f"{message}, drawing sample {drawn} of {len(sample_at)}")
                    sample = _try_sample(trainer, ctx, warnings)
                    if sample is not None and ctx is not None:
                        ctx.preview(sample)
                if every and (k + 1) % every == 0 and k + 1 < request.steps:
                    checkpoint()
                if ctx is not None:
                    ctx.progress(k + 1, request.steps, message)
        except JobCancelled:
            if every and len(trainer.losses) > last_saved:  # a stopped run can be resumed from where it stopped
                try:
                    checkpoint()
                except UserError as exc:
                    log.warning("the stopped run could not be saved: %s", exc)
            raise
        if request.score_samples and embedder is not None:
            trainer.scored = _try_score(trainer, embedder, ctx, warnings)
        if ctx is not None:
            ctx.check_cancelled()
            ctx.progress(request.steps, request.steps, "writing the LoRA")
        seconds = time.perf_counter() - started
        base = {"name": entry.name, "sha256": engine.model_hash or "", "family": entry.family}
        tensors = trainer.tensors()
        sha = save(path, tensors, trainer.metadata(base, seconds, thumbnail=sample))
        curve.settings({**trainer.facts(base, seconds), "lora": path.name, "sha256": sha})
        preview = save_sample(path, sample, trainer, base) if sample is not None else None
        checkpoints.remove(path)  # the run is done: the LoRA is what they were kept for
        finished = True
    finally:
        from desktop.engine.diffusion.pipeline import collect_memory

        if curve is not None and not finished and checkpoints.latest_step(path) is None:
            curve.discard()  # no LoRA and no run to resume: the curve has nothing to go with
        elif curve is not None:
            curve.close()
        trainer.detach()
        trainer.pipe = trainer.optimizer = None
        del engine, pipe  # this copy of the model goes: Generate loads its own again
        collect_memory()
    log.info("trained LoRA %s (%d steps, %d tiles) -> %s", request.name, request.steps, len(trainer.tiles), path)
    return {"name": request.name, "path": str(path), "sha256": sha, "trigger_words": [request.trigger.strip()]
            if request.trigger.strip() else [], "steps": request.steps, "tiles": len(trainer.tiles),
            "layers": sum(k.endswith(".lora_down.weight") for k in tensors),
            "skipped": trainer.skipped, "preview": preview, "loss": trainer.losses[-1] if trainer.losses else None,
            "loss_curve": _thin(trainer.losses), "seconds": round(time.perf_counter() - started, 2),
            "device": device, "precision": dtype, "family": entry.family, "warnings": warnings,
            "resumed_from": start or None, "style_score": trainer.scored,
            "request": {**{k: v for k, v in asdict(request).items() if k not in ("items", "model")},
                        "model": entry.name}}


def _try_score(trainer: LoraTrainer, embedder, ctx, warnings: list[str]) -> dict[str, Any] | None:
    """The style score, or None with a warning when it cannot be had (the LoRA is written all the same)."""
    return _drawn_or_said(trainer, warnings, lambda: trainer.style_score(embedder, ctx),
                          "No style score ({}); the LoRA is written without one.",
                          "The GPU ran out of memory drawing the style score's samples; the LoRA is written "
                          "without one.", errors=(UserError, OSError))


def _try_sample(trainer: LoraTrainer, ctx, warnings: list[str]) -> np.ndarray | None:
    """A sample, or None with a warning when it cannot be drawn (the training goes on)."""
    def no_more_samples() -> None:
        trainer.request.samples = 0

    return _drawn_or_said(trainer, warnings, lambda: trainer.sample(ctx),
                          "No sample could be drawn ({}); the training goes on.",
                          "The GPU ran out of memory drawing a sample; the training goes on without samples.",
                          after_oom=no_more_samples)


def _drawn_or_said(trainer: LoraTrainer, warnings: list[str], draw, failed: str, out_of_memory: str,
                   errors: tuple[type[BaseException], ...] = (UserError,), after_oom=None):
    """`draw()`, or None with a warning (once) when it fails in one sentence or runs out of GPU memory."""
    from desktop.engine.diffusion.pipeline import free_memory, is_out_of_memory

    try:
        return draw()
    except errors as exc:
        message = failed.format(exc)
    except RuntimeError as exc:
        if not is_out_of_memory(exc):
            raise
        free_memory(trainer.pipe)
        message = out_of_memory
        if after_oom is not None:
            after_oom()
    log.warning(message)
    if message not in warnings:
        warnings.append(message)
    return None


def _thin(losses: list[float], points: int = 50) -> list[float]:
    """The loss curve in at most `points` averaged buckets (for a plot or a log, not every step)."""
    if len(losses) <= points:
        return [round(v, 5) for v in losses]
    buckets = np.array_split(np.asarray(losses), points)
    return [round(float(b.mean()), 5) for b in buckets]
