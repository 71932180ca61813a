"""Tiny random Stable Diffusion parts built from configs, as diffusers' own tests build them.

Nothing is downloaded: the UNet, VAE and text encoder are random, the tokenizer has a
26-letter vocabulary. The same tiny shapes serve the padding, pipeline, LoRA and
single-file tests.
"""

from __future__ import annotations

import json
from pathlib import Path

UNET = dict(block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32)
VAE = dict(block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4,
           down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2)
TEXT = dict(bos_token_id=0, eos_token_id=1, hidden_size=32, intermediate_size=37, num_attention_heads=4,
            num_hidden_layers=5, vocab_size=1000, max_position_embeddings=77)


def tiny_tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    for ch in "abcdefghijklmnopqrstuvwxyz":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def tiny_unet():
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(**UNET).eval()


def tiny_vae():
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    return AutoencoderKL(**VAE).eval()


def ddim():
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                         set_alpha_to_one=False)


def tiny_pipeline(folder: Path):
    """A StableDiffusionPipeline of tiny random parts (its tokenizer files are written to `folder`)."""
    import torch
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT))
    return StableDiffusionPipeline(unet=tiny_unet(), vae=tiny_vae(), text_encoder=text_encoder,
                                   tokenizer=tiny_tokenizer(folder / "tokenizer-src"), scheduler=ddim(),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
