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


def tiny_pipeline(folder: Path, vocab_size: int = 1000):
    """A StableDiffusionPipeline of tiny random parts (its tokenizer files are written to `folder`).

    vocab_size=49408 fits CLIP's real tokenizer (as the bundled single-file configs write it)."""
    import torch
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(**{**TEXT, "vocab_size": vocab_size}))
    return StableDiffusionPipeline(unet=tiny_unet(), vae=tiny_vae(), text_encoder=text_encoder,
                                   tokenizer=tiny_tokenizer(folder / "tokenizer-src"), scheduler=ddim(),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def _unet_to_ldm(state: dict, layers: int, n_blocks: int) -> dict:
    """diffusers UNet keys -> the original (LDM) layout, for a UNet of n_blocks with `layers` per block."""
    resnet = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
              ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection")]
    prefixes = [("time_embedding.linear_1.", "time_embed.0."), ("time_embedding.linear_2.", "time_embed.2."),
                ("conv_in.", "input_blocks.0.0."), ("conv_norm_out.", "out.0."), ("conv_out.", "out.2.")]
    for i in range(n_blocks):
        for j in range(layers):
            prefixes.append((f"down_blocks.{i}.resnets.{j}.", f"input_blocks.{(layers + 1) * i + j + 1}.0."))
            prefixes.append((f"down_blocks.{i}.attentions.{j}.", f"input_blocks.{(layers + 1) * i + j + 1}.1."))
        prefixes.append((f"down_blocks.{i}.downsamplers.0.conv.", f"input_blocks.{(layers + 1) * (i + 1)}.0.op."))
        for j in range(layers + 1):
            prefixes.append((f"up_blocks.{i}.resnets.{j}.", f"output_blocks.{(layers + 1) * i + j}.0."))
            prefixes.append((f"up_blocks.{i}.attentions.{j}.", f"output_blocks.{(layers + 1) * i + j}.1."))
    prefixes += [("mid_block.attentions.0.", "middle_block.1."), ("mid_block.resnets.0.", "middle_block.0."),
                 ("mid_block.resnets.1.", "middle_block.2.")]
    has_attention = {k.split(".")[1] for k in state if k.startswith("up_blocks.") and ".attentions." in k}
    out = {}
    for key, value in state.items():
        new = key
        if key.startswith("up_blocks.") and ".upsamplers.0." in key:
            i = int(key.split(".")[1])
            slot = 2 if str(i) in has_attention else 1
            new = key.replace(f"up_blocks.{i}.upsamplers.0.", f"output_blocks.{(layers + 1) * i + layers}.{slot}.")
        else:
            for ours, theirs in prefixes:
                if key.startswith(ours):
                    new = theirs + key[len(ours):]
                    if ".resnets." in ours or "mid_block.resnets" in ours:
                        for a, b in resnet:
                            new = new.replace(f".{a}.", f".{b}.")
                    break
        out["model.diffusion_model." + new] = value
    return out


def kohya_sdxl_names(unet) -> dict:
    """kohya's SDXL LoRA name of each diffusers UNet module (``lora_unet_input_blocks_…``), through the
    LDM mapping above, which diffusers' own single-file loader checks in the single-file tests."""
    keys = {k: k for k in unet.state_dict() if k.endswith(".weight")}
    ldm = _unet_to_ldm(keys, layers=unet.config.layers_per_block, n_blocks=len(unet.config.block_out_channels))
    return {ours.removesuffix(".weight"): "lora_unet_" + theirs.removeprefix("model.diffusion_model.")
            .removesuffix(".weight").replace(".", "_") for theirs, ours in ldm.items()}


def _vae_to_ldm(state: dict, n_blocks: int) -> dict:
    out = {}
    for key, value in state.items():
        new = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        for i in range(n_blocks):
            new = new.replace(f"encoder.down_blocks.{i}.resnets.", f"encoder.down.{i}.block.")
            new = new.replace(f"encoder.down_blocks.{i}.downsamplers.0.", f"encoder.down.{i}.downsample.")
            new = new.replace(f"decoder.up_blocks.{i}.resnets.", f"decoder.up.{n_blocks - 1 - i}.block.")
            new = new.replace(f"decoder.up_blocks.{i}.upsamplers.0.", f"decoder.up.{n_blocks - 1 - i}.upsample.")
        new = new.replace("mid_block.resnets.0.", "mid.block_1.").replace("mid_block.resnets.1.", "mid.block_2.")
        if "mid_block.attentions.0." in new:
            new = new.replace("mid_block.attentions.0.", "mid.attn_1.")
            for a, b in (("group_norm.", "norm."), ("to_q.", "q."), ("to_k.", "k."), ("to_v.", "v."),
                         ("to_out.0.", "proj_out.")):
                new = new.replace(a, b)
            if new.endswith(".weight") and value.ndim == 2:
                value = value[:, :, None, None]  # the original attention uses 1x1 convolutions
        out["first_stage_model." + new] = value
    return out


def to_single_file(pipe) -> dict:
    """An SD 1.x pipeline's weights in the original single-file layout (as A1111 and Civitai share them)."""
    unet = pipe.unet
    state = _unet_to_ldm(unet.state_dict(), unet.config.layers_per_block, len(unet.config.block_out_channels))
    state.update(_vae_to_ldm(pipe.vae.state_dict(), len(pipe.vae.config.block_out_channels)))
    for key, value in pipe.text_encoder.state_dict().items():
        # original checkpoints say text_model.…; transformers 5.6 flattened CLIPTextModel's own keys
        key = key if key.startswith("text_model.") else "text_model." + key
        state["cond_stage_model.transformer." + key] = value
    return {k: v.contiguous() for k, v in state.items()}


def tiny_sdxl_pipeline(folder: Path):
    """A StableDiffusionXLPipeline of tiny random parts: two text encoders, time-and-size conditioning."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=80,
        cross_attention_dim=64).eval()
    text = dict(TEXT, num_hidden_layers=2, projection_dim=32)
    torch.manual_seed(0)
    first, second = CLIPTextModel(CLIPTextConfig(**text)), CLIPTextModelWithProjection(CLIPTextConfig(**text))
    tokenizer = tiny_tokenizer(folder / "tokenizer-src")
    return StableDiffusionXLPipeline(
        vae=tiny_vae(), text_encoder=first, text_encoder_2=second, tokenizer=tokenizer, tokenizer_2=tokenizer,
        unet=unet, scheduler=EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"))
