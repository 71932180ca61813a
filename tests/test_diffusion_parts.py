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
