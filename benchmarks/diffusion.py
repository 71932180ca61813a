"""Seamless diffusion cost against stock diffusers, the cost of live previews, and the share of peak.

Both sides run the same pipeline object (random weights: the compute is the same as a trained
model's), the same size, steps and guidance, warm, interleaved round by round, median of --runs:

- stock: the StableDiffusionPipeline call as diffusers runs it by default (fp16 on CUDA, SDPA),
  no padding, no previews; and stock with channels_last too, a stricter baseline;
- tessera: DiffusionEngine.generate as the engine loads a model: repeat padding (half-drop) on
  every UNet and VAE convolution, a live preview at every step, and on CUDA channels_last and
  each UNet step replayed as a CUDA graph;
- tessera without previews (their cost), and on CUDA tessera without CUDA graphs (what the
  padding costs an eager step);
- with --compile, tessera with torch.compile (inductor) instead of CUDA graphs.

Operations dispatched per UNet step are counted for stock and for tessera's eager step: on a
GPU an eager step waits on the host launching them. FLOPs of one generation are counted with
torch.utils.flop_counter; the share of peak divides the achieved rate by a dense matmul's rate
measured in the same run (fp16 on CUDA, fp32 on the CPU). Goals: tessera / stock <= 1.0
(<= 0.7 compiled); previews <= 1.03.

    python benchmarks/diffusion.py                 # CPU: a tiny UNet at 64 px
    python benchmarks/diffusion.py --arch full     # GPU: the full SD 1.5 architecture at 512 px
    sh benchmarks/gpu.sh                           # everything above on a lent GPU, as one run
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
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
    """The pipeline with random weights, made on `device` itself (the full UNet's 860 M weights
    are initialised in moments on a GPU, far longer on the host)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from desktop.engine.diffusion.single_file import config_folder

    folder = config_folder("sd15")
    torch.manual_seed(0)
    with torch.device(device):
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
    return pipe.to(device, dtype)


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
    """Median seconds of each fn, run in turn round after round (so drift hits them all alike).

    A value may be (setup, fn): setup runs untimed before each timed call (CUDA graphs on or off).
    """
    fns = {name: fn if isinstance(fn, tuple) else (lambda: None, fn) for name, fn in fns.items()}
    for setup, fn in fns.values():
        setup()
        fn()  # warm (and, on CUDA, the first recording of each step)
    times: dict = {name: [] for name in fns}
    for _ in range(runs):
        for name, (setup, fn) in fns.items():
            setup()
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def ops_per_step(pipe, size: int, padded: bool) -> int:
    """Operations one UNet step dispatches (a batch of two: guidance), eagerly."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from desktop.engine.diffusion.padding import repeat_padding

    class Count(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.count += 1
            return func(*args, **(kwargs or {}))

    unet = pipe.unet
    param = next(unet.parameters())
    x = torch.randn(2, 4, size // 8, size // 8, device=param.device, dtype=param.dtype)
    if any(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous() for p in unet.parameters()):
        x = x.contiguous(memory_format=torch.channels_last)
    text = torch.randn(2, 77, unet.config.cross_attention_dim, device=param.device, dtype=param.dtype)
    t = torch.tensor(500, device=param.device)
    with torch.no_grad(), repeat_padding([unet] if padded else [], "half-drop"), Count():
        type(unet).forward(unet, x, t, encoder_hidden_states=text, return_dict=False)
    return Count.count


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
    parser.add_argument("--standin", action="store_true",
                        help="on the CPU, take the CUDA path with graphs.ReplayCapture (a smoke test of this script)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    arch = args.arch or ("full" if device == "cuda" else "tiny")
    size = args.size or (512 if arch == "full" else 64)
    steps = args.steps or (20 if device == "cuda" else 4)
    dtype = torch.float16 if device == "cuda" else torch.float32
    cuda = device == "cuda" or args.standin
    pipe = build(arch, device, dtype)  # stock, as diffusers runs it
    # Tessera's own copy of the same weights (a recorded step reads its weights where they lie,
    # so the layouts are not switched back and forth on one pipeline)
    mine = build(arch, device, dtype) if cuda else pipe
    request = DiffusionRequest("an art deco fan pattern, gold on navy", repeat="half-drop", width=size, height=size,
                               steps=steps, guidance_scale=7.0, seed=1)

    def stock(on=pipe):
        on("an art deco fan pattern, gold on navy", width=size, height=size, num_inference_steps=steps,
           guidance_scale=7.0, generator=torch.Generator("cpu").manual_seed(1), output_type="np")

    from desktop.engine.diffusion import graphs
    from desktop.engine.diffusion.engine import EngineOptions

    engine = DiffusionEngine(mine)
    engine._tune(device, EngineOptions())  # what DiffusionEngine.load does here: channels_last, CUDA graphs
    if args.standin and device == "cpu":
        engine.use_graphs(graphs.ReplayCapture())
    recorded = graphs.graphed(mine.unet)

    def graphed(on: bool):
        def setup():
            graphs.detach(mine.unet)
            if on and recorded is not None:
                mine.unet.forward = recorded
        return setup

    sink = PreviewSink()
    variants = {"stock_s": stock,
                "tessera_s": (graphed(True), lambda: engine.generate(request, sink)),
                "tessera_no_previews_s": (graphed(True), lambda: engine.generate(request))}
    if cuda:
        variants["stock_channels_last_s"] = (graphed(False), lambda: stock(mine))
        variants["tessera_no_graphs_s"] = (graphed(False), lambda: engine.generate(request, sink))
    results = interleaved(variants, args.runs, device)
    checks = {}
    if recorded is not None:  # the recorded steps draw what the eager ones draw
        graphed(True)()
        replayed = engine.generate(request)[0]["image"]
        graphed(False)()
        eager = engine.generate(request)[0]["image"]
        checks["graphs_vs_eager_max_diff"] = int(np.abs(replayed.astype(int) - eager).max())
    # previews alone, per step, against one step of the same run
    latents = torch.randn(1, 4, size // 8, size // 8, device=device, dtype=dtype)
    results["preview_ms"] = timed(lambda: latents_to_rgb(latents), 50, device) * 1000
    results["step_ms"] = results["tessera_no_previews_s"] / steps * 1000

    from torch.utils.flop_counter import FlopCounterMode

    graphed(False)()  # counted eagerly: a replayed graph dispatches nothing a counter sees
    from desktop.engine.diffusion import padding

    ops = {"ops_per_step_stock": ops_per_step(pipe, size, padded=False)}
    chosen = padding.use_gather
    try:  # the two ways of making the border (CUDA gathers, the CPU slices)
        for name, gather in (("gather", True), ("slices", False)):
            padding.use_gather = lambda x, gather=gather: gather
            ops[f"ops_per_step_padded_{name}"] = ops_per_step(mine, size, padded=True)
    finally:
        padding.use_gather = chosen
    counter = FlopCounterMode(display=False)
    with counter:
        engine.generate(request)
    flops = counter.get_total_flops()
    peak = matmul_rate(device, dtype)
    out = {
        "benchmark": "diffusion", "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "arch": arch, "size": size, "steps": steps, "dtype": str(dtype).removeprefix("torch."),
        "unet_params": sum(p.numel() for p in pipe.unet.parameters()), "attention": engine.attention,
        "cuda_graphs": recorded is not None, "steps_replayed": recorded.replays if recorded else 0,
        "graphs_failed": list(recorded.failed.values()) if recorded else [],
        "previews_seen": sink.count, **{k: round(v, 4) for k, v in results.items()}, **ops, **checks,
        "ratio_tessera_vs_stock": round(results["tessera_s"] / results["stock_s"], 3),
        "ratio_previews": round(results["tessera_s"] / results["tessera_no_previews_s"], 3),
        "ratio_preview_vs_step": round(results["preview_ms"] / results["step_ms"], 4),
        "gflop_per_image": round(flops / 1e9, 2),
        "achieved_tflops": round(flops / results["tessera_no_previews_s"] / 1e12, 4),
        "matmul_tflops_this_run": round(peak / 1e12, 3),
        "share_of_matmul_peak": round(flops / results["tessera_no_previews_s"] / peak, 3),
        "machine": machine(),
    }
    if "stock_channels_last_s" in results:
        out["ratio_tessera_vs_stock_channels_last"] = round(results["tessera_s"] / results["stock_channels_last_s"], 3)
        out["ratio_no_graphs_vs_stock"] = round(results["tessera_no_graphs_s"] / results["stock_s"], 3)
    print(json.dumps(out, indent=2), flush=True)  # before compiling: a compile that fails or runs out of
    if not args.compile:                          # time leaves these figures standing
        return
    # compiled, and (on CUDA) the compiled kernels replayed as graphs, as the engine does it
    mine.unet = torch.compile(mine.unet)
    compiled = engine.use_graphs(graphs.ReplayCapture() if args.standin and device == "cpu" else None) \
        if cuda else None
    start = time.perf_counter()
    engine.generate(request, sink)  # compiles (and records)
    first_s = time.perf_counter() - start
    compiled_s = timed(lambda: engine.generate(request, sink), args.runs, device)
    stock_s = timed(stock, args.runs, device)  # stock again, beside it: the machine may have drifted
    print(json.dumps({
        "benchmark": "diffusion-compiled", "device": out["device"], "arch": arch, "size": size, "steps": steps,
        "first_call_s": round(first_s, 2), "tessera_compiled_s": round(compiled_s, 4), "stock_s": round(stock_s, 4),
        "ratio_compiled_vs_stock": round(compiled_s / stock_s, 3),
        "compiled_steps_replayed": compiled.replays if compiled else 0,
        "compiled_graphs_failed": list(compiled.failed.values()) if compiled else [],
        "machine": machine()}, indent=2))


if __name__ == "__main__":
    main()
