"""Latent previews and A1111 metadata: the parts of the diffusion engine that need no model."""

import numpy as np
import pytest

from desktop.engine.diffusion.metadata import a1111_parameters
from desktop.engine.diffusion.previews import latents_to_rgb
from desktop.library.metadata_chunks import parse_a1111
from desktop.repeat import repeat_view


def test_latent_preview_is_a_small_rgb_tile_that_repeats():
    rng = np.random.default_rng(0)
    latents = rng.standard_normal((1, 4, 16, 12)).astype(np.float32)
    rgb = latents_to_rgb(latents, "sd15")
    assert rgb.shape == (16, 12, 3) and rgb.dtype == np.uint8
    assert not np.array_equal(rgb, latents_to_rgb(latents, "sdxl"))
    assert repeat_view(rgb, "half-drop", 3, 3).shape == (48, 36, 3)
    with pytest.raises(ValueError):
        latents_to_rgb(np.zeros((3, 8, 8)))


def test_latent_preview_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    latents = torch.zeros(1, 4, 8, 8)
    assert latents_to_rgb(latents).shape == (8, 8, 3)


def test_a1111_parameters_round_trip():
    text = a1111_parameters("a damask wallpaper, gold on navy", "blurry, text", steps=30, sampler="DPM++ 2M Karras",
                            cfg=7.5, seed=1234, width=1024, height=768, model_hash="abcdef0123456789",
                            model="sd15-base", loras=[{"name": "deco", "sha256": "f" * 64, "weight": 0.8}],
                            version="Tessera 0.1.0")
    lines = text.splitlines()
    assert lines[0] == "a damask wallpaper, gold on navy"
    assert lines[1] == "Negative prompt: blurry, text"
    assert lines[2].startswith("Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 1234, Size: 1024x768, "
                               "Model hash: abcdef0123, Model: sd15-base, Lora hashes: \"deco: ffffffffffff\"")
    assert "Tiling: True" in lines[2]
    parsed = parse_a1111(text)
    assert (parsed["prompt"], parsed["negative_prompt"]) == ("a damask wallpaper, gold on navy", "blurry, text")
    assert (parsed["steps"], parsed["seed"], parsed["cfg"], parsed["size"]) == (30, 1234, 7.5, [1024, 768])
    assert parsed["model_hash"] == "abcdef0123" and parsed["settings"]["Lora hashes"] == "deco: ffffffffffff"


class SlowCopies:
    """Stands in for CudaCopies: a copy arrives only after `lag` later pushes have looked at it."""

    def __init__(self, lag):
        self.lag, self.started, self.waited = lag, 0, 0

    def start(self, tensor):
        self.started += 1
        return {"array": tensor.cpu().numpy(), "looks": 0}

    def arrived(self, copy):
        copy["looks"] += 1
        return copy["looks"] > self.lag

    def take(self, copy):
        if copy["looks"] <= self.lag:
            self.waited += 1  # CudaCopies would wait on its event here
        return copy["array"]


@pytest.mark.parametrize("lag", [0, 1, 5])
def test_previews_arrive_in_order_each_once_and_at_most_depth_late(lag):
    torch = pytest.importorskip("torch")
    from desktop.engine.diffusion.previews import LatentFactors, PreviewStream

    delivered, steps = [], [torch.full((1, 4, 4, 4), float(k) / 10) for k in range(7)]
    copies = SlowCopies(lag)
    stream = PreviewStream(delivered.append, LatentFactors(), depth=2, copies=copies)
    for k, latents in enumerate(steps):
        stream.push(latents)
        assert len(delivered) >= k + 1 - 2  # never more than two behind
    stream.flush()
    expected = [latents_to_rgb(s.numpy()) for s in steps]
    assert len(delivered) == 7 and all(np.array_equal(a, b) for a, b in zip(delivered, expected))
    # copies that had arrived were taken without waiting; only a full ring or the flush waits
    assert copies.started == 7 and (copies.waited == 0 if lag == 0 else copies.waited > 0)


def test_previews_off_cuda_are_delivered_at_once():
    torch = pytest.importorskip("torch")
    from desktop.engine.diffusion.previews import LatentFactors, PreviewStream

    delivered = []
    stream = PreviewStream(delivered.append, LatentFactors("sdxl"))
    stream.push(torch.zeros(2, 4, 3, 5, dtype=torch.bfloat16))  # bfloat16 too: the factors take float32
    assert len(delivered) == 1 and delivered[0].shape == (3, 5, 3) and not stream.pending


def test_each_scheduler_is_what_its_a1111_name_says(tmp_path):
    pytest.importorskip("diffusers")
    from desktop.engine.diffusion.pipeline import set_scheduler
    from tiny_sd import tiny_pipeline

    pipe = tiny_pipeline(tmp_path)
    set_scheduler(pipe, "PLMS")  # PNDM without its Runge-Kutta warm-up, whatever the model's own config
    assert type(pipe.scheduler).__name__ == "PNDMScheduler" and pipe.scheduler.config.skip_prk_steps
    set_scheduler(pipe, "DPM++ 2M")
    config = pipe.scheduler.config
    assert (config.algorithm_type, config.solver_order, config.use_karras_sigmas) == ("dpmsolver++", 2, False)
    set_scheduler(pipe, "euler-a")
    assert type(pipe.scheduler).__name__ == "EulerAncestralDiscreteScheduler"
