"""Seamless diffusion cost against stock diffusers, the cost of live previews, and the share of peak.

Both sides run the same pipeline object (random weights: the compute is the same as a trained
model's), the same size, steps and guidance, warm, timed as the median of --runs:

- baseline: the stock StableDiffusionPipeline call, no padding, no previews;
- tessera: DiffusionEngine.generate with repeat padding (half-drop) on every UNet and VAE
  convolution and a live preview at every step (as the window shows them);
- tessera without previews, to isolate their cost;
- with --compile, tessera with torch.compile (inductor) too.

FLOPs of one generation are counted with torch.utils.flop_counter; the share of peak divides
the achieved rate by a dense matmul's rate measured in the same run (fp16 on CUDA, fp32 on the
CPU). Goals: tessera / stock <= 1.0 (<= 0.7 compiled); previews <= 1.03.

    python benchmarks/diffusion.py                 # CPU: a tiny UNet at 64 px
    python benchmarks/diffusion.py --arch full     # GPU: the full SD 1.5 architecture at 512 px
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from timing import machine

from desktop.engine.diffusion.engine import DiffusionEngine
from desktop.engine.diffusion.pipeline import DiffusionRequest
from desktop.engine.diffusion.previews import latents_to_rgb

SMALL_UNET = dict(block_out_channels=(64, 128, 256), layers_per_block=1, sample_size=8, in_channels=4,
                  out_channels=4, down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                  cross_attention_dim=128, attention_head_dim=8)
SMALL_VAE = dict(block_out_channels=[32, 64, 128, 128], in_channels=3, out_channels=3, latent_channels=4,
                 down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4)
SMALL_TEXT = dict(bos_token_id=0, eos_token_id=2, hidden_size=128, intermediate_size=512, num_attention_heads=4,
                  num_hidden_layers=4, vocab_size=49408, max_position_embeddings=77)


def build(arch: str, device: str, dtype):
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from desktop.engine.diffusion.single_file import config_folder

    folder = config_folder("sd15")
    torch.manual_seed(0)
    if arch == "full":
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
    else:
        unet, vae, text = UNet2DConditionModel(**SMALL_UNET), AutoencoderKL(**SMALL_VAE), \
            CLIPTextModel(CLIPTextConfig(**SMALL_TEXT))
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text,
                                   tokenizer=CLIPTokenizer.from_pretrained(folder / "tokenizer"),
                                   scheduler=DDIMScheduler.from_pretrained(folder / "scheduler"), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    pipe = pipe.to(device, dtype)
    if device == "cuda":
        pipe.unet.to(memory_format=torch.channels_last)
    return pipe


class PreviewSink:
    """What the window's job context does with a preview: keep the latest (the bridge shows it)."""

    cancelled = False

    def __init__(self):
        self.latest, self.count = None, 0

    def preview(self, image):
        self.latest, self.count = image, self.count + 1

    def progress(self, step, total=None, message=None):
        pass

    def check_cancelled(self):
        pass


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, runs: int, device: str) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(fns: dict, runs: int, device: str) -> dict:
    """Median seconds of each fn, run in turn round after round (so drift hits them all alike)."""
    for fn in fns.values():
        fn()  # warm
    times: dict = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def matmul_rate(device: str, dtype) -> float:
    """FLOP/s of a dense square matmul, this run's stand-in for the device's peak."""
    n = 4096 if device == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    seconds = timed(lambda: a @ b, 10, device)
    return 2 * n**3 / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", choices=("tiny", "full"), default=None)
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    arch = args.arch or ("full" if device == "cuda" else "tiny")
    size = args.size or (512 if arch == "full" else 64)
    steps = args.steps or (20 if device == "cuda" else 4)
    dtype = torch.float16 if device == "cuda" else torch.float32
    pipe = build(arch, device, dtype)
    request = DiffusionRequest("an art deco fan pattern, gold on navy", repeat="half-drop", width=size, height=size,
                               steps=steps, guidance_scale=7.0, seed=1)

    def stock():
        pipe("an art deco fan pattern, gold on navy", width=size, height=size, num_inference_steps=steps,
             guidance_scale=7.0, generator=torch.Generator("cpu").manual_seed(1), output_type="np")

    engine = DiffusionEngine(pipe)
    sink = PreviewSink()
    results = interleaved({"stock_s": stock, "tessera_s": lambda: engine.generate(request, sink),
                           "tessera_no_previews_s": lambda: engine.generate(request)}, args.runs, device)
    # previews alone, per step, against one step of the same run
    latents = torch.randn(1, 4, size // 8, size // 8, device=device, dtype=dtype)
    results["preview_ms"] = timed(lambda: latents_to_rgb(latents), 50, device) * 1000
    results["step_ms"] = results["tessera_no_previews_s"] / steps * 1000

    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        engine.generate(request)
    flops = counter.get_total_flops()
    peak = matmul_rate(device, dtype)
    if args.compile:
        pipe.unet = torch.compile(pipe.unet)
        results["tessera_compiled_s"] = timed(lambda: engine.generate(request, sink), args.runs, device)
        results["stock_again_s"] = timed(stock, args.runs, device)  # the compiled UNet serves both

    out = {
        "benchmark": "diffusion", "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "arch": arch, "size": size, "steps": steps, "dtype": str(dtype).removeprefix("torch."),
        "unet_params": sum(p.numel() for p in pipe.unet.parameters()), "attention": engine.attention,
        "previews_seen": sink.count, **{k: round(v, 4) for k, v in results.items()},
        "ratio_tessera_vs_stock": round(results["tessera_s"] / results["stock_s"], 3),
        "ratio_previews": round(results["tessera_s"] / results["tessera_no_previews_s"], 3),
        "ratio_preview_vs_step": round(results["preview_ms"] / results["step_ms"], 4),
        "gflop_per_image": round(flops / 1e9, 2),
        "achieved_tflops": round(flops / results["tessera_no_previews_s"] / 1e12, 4),
        "matmul_tflops_this_run": round(peak / 1e12, 3),
        "share_of_matmul_peak": round(flops / results["tessera_no_previews_s"] / peak, 3),
        "machine": machine(),
    }
    if "tessera_compiled_s" in results:
        out["ratio_compiled_vs_stock"] = round(results["tessera_compiled_s"] / results["stock_s"], 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
