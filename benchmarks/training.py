"""The cost of a style-LoRA training step against the plain diffusers LoRA recipe, in one run.

Both sides train a LoRA of the same rank on the same layers of two copies of the same random
UNet (the compute is a trained model's), at the same size and batch, with the same precision:

- plain: a step as diffusers' train_text_to_image_lora example runs it: the VAE encodes the
  batch and the text encoder its captions every step, no padding;
- tessera: LoraTrainer.step: latents and captions encoded once (the encoders are frozen), the
  repeat padding (half-drop) on every UNet convolution, each tile from a random origin on its
  plane, min-SNR weighting;
- tessera without the repeat padding: what the padding costs a training step.

Steps are timed in interleaved rounds (so drift hits all sides alike); the figure is the
median seconds per step, and each is given as a ratio to plain's.

    python benchmarks/training.py                # CPU: the small UNet at 64 px
    python benchmarks/training.py --arch full    # GPU: the full SD 1.5 architecture at 512 px
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from diffusion import build, interleaved, sync
from timing import machine

from desktop.engine.diffusion.training import TARGETS, LoraTrainer, TrainingRequest


def tiles(folder: Path, size: int, n: int) -> list[dict]:
    """n seamless tiles at the training size, made with numpy and PIL alone (a lent GPU machine may
    have no OpenCV): waves of whole periods, so they wrap; the pixels do not change the compute."""
    from desktop.engine.images import save_png

    y, x = np.mgrid[0:size, 0:size] * (2 * np.pi / size)
    made = []
    for k in range(n):
        rgb = [np.sin((k + 1) * x + c) * np.cos((c + 2) * y) for c in range(3)]
        image = ((np.stack(rgb, -1) + 1) * 127.5).astype(np.uint8)
        save_png(folder / f"tile-{k}.png", image, {"repeat": "basic"})
        made.append({"file": str(folder / f"tile-{k}.png"), "caption": "art deco fans, gold on navy",
                     "repeat": "half-drop"})
    return made


class Plain:
    """diffusers' example recipe: encode the batch every step, no padding."""

    def __init__(self, pipe, items, rank: int, batch: int, device: str, dtype):
        from diffusers import DDPMScheduler
        from diffusers.training_utils import cast_training_params
        from peft import LoraConfig

        from desktop.engine.images import load_rgb

        self.pipe, self.batch, self.device = pipe, batch, torch.device(device)
        self.half = dtype != torch.float32
        self.dtype = dtype
        for module in (pipe.unet, pipe.vae, pipe.text_encoder):
            module.requires_grad_(False)
        pipe.unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                                         target_modules=list(TARGETS)))
        if self.half:
            cast_training_params(pipe.unet, dtype=torch.float32)
        pipe.unet.train()
        self.params = [p for p in pipe.unet.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=1e-4, weight_decay=1e-2)
        self.noise = DDPMScheduler.from_config(pipe.scheduler.config)
        images = [torch.from_numpy(np.ascontiguousarray(load_rgb(i["file"]))).permute(2, 0, 1).float() / 127.5 - 1
                  for i in items]
        self.pixels = torch.stack(images).to(self.device, dtype)
        self.ids = pipe.tokenizer([i["caption"] for i in items], padding="max_length", truncation=True,
                                  max_length=pipe.tokenizer.model_max_length, return_tensors="pt").input_ids
        self.k = 0

    def step(self) -> float:
        pipe = self.pipe
        pick = [(self.k + j) % len(self.pixels) for j in range(self.batch)]
        self.k += self.batch
        with torch.no_grad():
            latents = pipe.vae.encode(self.pixels[pick]).latent_dist.sample() * pipe.vae.config.scaling_factor
            text = pipe.text_encoder(self.ids[pick].to(self.device))[0]
        noise = torch.randn_like(latents)
        t = torch.randint(0, self.noise.config.num_train_timesteps, (latents.shape[0],), device=self.device)
        noisy = self.noise.add_noise(latents, noise, t)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.half):
            predicted = pipe.unet(noisy, t, text).sample
        loss = torch.nn.functional.mse_loss(predicted.float(), noise.float())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.optimizer.step()
        return float(loss.detach())


@contextlib.contextmanager
def no_padding(trainer: LoraTrainer):
    """The trainer's steps with the UNet padding with zeros (what the repeat padding costs)."""
    real = trainer.pad
    trainer.pad(None)
    trainer.pad = lambda repeat: None
    try:
        yield
    finally:
        trainer.pad = real


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", choices=("small", "full"), default=None)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--steps", type=int, default=None, help="steps per side per round")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    arch = args.arch or ("full" if device == "cuda" else "small")
    size = args.size or (512 if arch == "full" else 64)
    batch = args.batch or (4 if device == "cuda" else 2)
    steps = args.steps or (10 if device == "cuda" else 3)
    cuda_bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    dtype = (torch.bfloat16 if cuda_bf16 else torch.float16) if device == "cuda" else torch.float32
    name = str(dtype).removeprefix("torch.")
    with tempfile.TemporaryDirectory() as tmp:
        items = tiles(Path(tmp), size, 8)
        plain = Plain(build(arch, device, dtype), items, args.rank, batch, device, dtype)
        request = TrainingRequest(model="bench", name="bench", items=items, rank=args.rank, steps=10_000,
                                  batch_size=batch, resolution=size)
        pipe = build(arch, device, dtype)
        start = time.perf_counter()
        trainer = LoraTrainer(pipe, "sd15", request, device, name)
        trainer.prepare()  # the 8 tiles and their caption encoded once, the LoRA attached
        sync(device)
        prepare_s = time.perf_counter() - start
        k = [0]

        def ours():
            trainer.step(k[0])
            k[0] += 1

        def unpadded():
            with no_padding(trainer):
                ours()

        sides = {"plain": plain.step, "tessera": ours, "tessera_no_padding": unpadded}
        # a round runs `steps` steps of each side in turn (diffusion.py's interleaving)
        rounds = {n: (lambda fn=fn: [fn() for _ in range(steps)]) for n, fn in sides.items()}
        median = {n: seconds / steps for n, seconds in interleaved(rounds, args.runs, device).items()}
    out = {
        "machine": machine(), "device": device,
        "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
        "arch": arch, "size": size, "batch": batch, "rank": args.rank, "precision": name,
        "runs": args.runs, "steps_per_round": steps,
        "s_per_step": {n: round(v, 5) for n, v in median.items()},
        "tessera_over_plain": round(median["tessera"] / median["plain"], 3),
        "padding_cost": round(median["tessera"] / median["tessera_no_padding"], 3),
        "tessera_prepare_s": round(prepare_s, 2),
        "prepare_in_plain_steps": round(prepare_s / median["plain"], 1),
    }
    if device == "cuda":
        out["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
