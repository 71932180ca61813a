"""Where each tensor of a kohya / A1111 / LyCORIS LoRA goes in a loaded pipeline.

kohya's sd-scripts names a LoRA module after the model's own module path with dots turned into
underscores, behind a prefix: ``lora_unet_`` for the UNet, ``lora_te_`` (SD 1.x/2.x) or
``lora_te1_`` / ``lora_te2_`` (SDXL) for the text encoders, whose paths start at ``text_model.``.
For SD 1.x the UNet paths are diffusers' (``down_blocks_1_attentions_0_proj_in``); for SDXL they
are the original (LDM) ones (``input_blocks_4_1_transformer_blocks_0_attn1_to_q``,
``middle_block_1_…``, ``output_blocks_…``), because sd-scripts trains SDXL on its own copy of
that UNet. LyCORIS's LoCon uses the same names and keys for convolutions (a 3×3 ``lora_down``),
and its CP/Tucker form adds a ``lora_mid`` core.

Instead of guessing where underscores were dots, every name the model could carry is listed
from its modules (``names``), so a key either lands on a module or is named as not fitting.
Each module's ``alpha / rank`` scale is folded into its up weights and a Tucker core into its
down weights, which makes a plain LoRA of it: the result is in diffusers' own layout
(``unet.<path>.lora_A.weight``), which ``load_lora_weights`` takes as it is. Other
LyCORIS algorithms (LoHa, LoKr, OFT, …) are named in the refusal, never reported as a misfit.
"""

from __future__ import annotations

import re
from typing import Any

from desktop.errors import UserError

# kohya's prefix for each pipeline component it trains
PREFIXES = {"unet": ("lora_unet_",), "text_encoder": ("lora_te_", "lora_te1_"), "text_encoder_2": ("lora_te2_",)}

# what a LoRA file that is not a LoRA holds, by the key suffix that gives it away
OTHER_FORMATS = (
    ("hada_w1_a", "LoHa (a LyCORIS Hadamard-product network)"),
    ("lokr_w1", "LoKr (a LyCORIS Kronecker-product network)"),
    ("oft_blocks", "OFT (a LyCORIS orthogonal fine-tune)"),
    ("oft_r", "BOFT (a LyCORIS butterfly orthogonal fine-tune)"),
    ("oft_diag", "OFT (a LyCORIS orthogonal fine-tune)"),
    ("a1.weight", "GLoRA (a LyCORIS generalised LoRA)"),
    ("on_input", "(IA)³ (a LyCORIS activation-scaling network)"),
    ("diff", "a full weight difference (LyCORIS 'full')"),
    ("dora_scale", "DoRA (a weight-decomposed LoRA)"),
)
_LORA_SUFFIXES = {"lora_down.weight", "lora_up.weight", "lora_mid.weight", "alpha"}

_RESNET = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
           ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection"))
_TOP = (("conv_in", "input_blocks.0.0"), ("time_embedding.linear_1", "time_embed.0"),
        ("time_embedding.linear_2", "time_embed.2"), ("add_embedding.linear_1", "label_emb.0.0"),
        ("add_embedding.linear_2", "label_emb.0.2"), ("conv_norm_out", "out.0"), ("conv_out", "out.2"))
_BLOCK = re.compile(r"^(down|up)_blocks\.(\d+)\.(resnets|attentions|downsamplers|upsamplers)\.(\d+)(?:\.(.*))?$")
_MID = re.compile(r"^mid_block\.(resnets|attentions)\.(\d+)(?:\.(.*))?$")


def _resnet_part(rest: str) -> str:
    head, _, tail = rest.partition(".")
    for ours, theirs in _RESNET:
        if head == ours:
            return theirs + ("." + tail if tail else "")
    return rest


def ldm_path(path: str, config: Any) -> str | None:
    """A diffusers UNet module's path in the original (LDM) UNet, as kohya names SDXL layers:
    ``down_blocks.1.attentions.0.proj_in`` -> ``input_blocks.4.1.proj_in`` (two layers a block)."""
    for ours, theirs in _TOP:
        if path == ours or path.startswith(ours + "."):
            return theirs + path[len(ours):]
    per = int(config.layers_per_block if isinstance(config.layers_per_block, int) else config.layers_per_block[0])
    match = _BLOCK.match(path)
    if match:
        side, i, kind, j, rest = match[1], int(match[2]), match[3], int(match[4]), match[5] or ""
        if side == "down":
            if kind == "downsamplers":
                return f"input_blocks.{(per + 1) * (i + 1)}.0.op" if rest == "conv" else None
            slot = f"input_blocks.{(per + 1) * i + j + 1}"
        else:
            if kind == "upsamplers":
                attention = "CrossAttn" in str(config.up_block_types[i])
                return f"output_blocks.{(per + 1) * i + per}.{2 if attention else 1}.{rest}".rstrip(".")
            slot = f"output_blocks.{(per + 1) * i + j}"
        if kind == "resnets":
            return f"{slot}.0" + ("." + _resnet_part(rest) if rest else "")
        return f"{slot}.1" + ("." + rest if rest else "")
    match = _MID.match(path)
    if match:
        kind, j, rest = match[1], int(match[2]), match[3] or ""
        slot = "middle_block.1" if kind == "attentions" else f"middle_block.{0 if j == 0 else 2}"
        return slot + ("." + (_resnet_part(rest) if kind == "resnets" else rest) if rest else "")
    return None


def _layers(model):
    import torch

    for path, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)) and "lora_" not in path:
            # a layer another LoRA wraps already answers by its own path (peft keeps it as base_layer)
            yield path.removesuffix(".base_layer"), module


def names(pipe) -> dict[str, tuple[str, str, Any]]:
    """Every kohya module name this pipeline's layers answer to -> (component, module path, module)."""
    table: dict[str, tuple[str, str, Any]] = {}
    unet = getattr(pipe, "unet", None)
    if unet is not None:
        for path, module in _layers(unet):
            table["lora_unet_" + path.replace(".", "_")] = ("unet", path, module)
            ldm = ldm_path(path, unet.config)
            if ldm:
                table.setdefault("lora_unet_" + ldm.replace(".", "_"), ("unet", path, module))
    for component in ("text_encoder", "text_encoder_2"):
        encoder = getattr(pipe, component, None)
        if encoder is None:
            continue
        for path, module in _layers(encoder):
            # kohya's paths start at text_model. (transformers 5 flattened CLIPTextModel's own)
            full = path if path.startswith("text_model.") else "text_model." + path
            for prefix in PREFIXES[component]:
                table[prefix + full.replace(".", "_")] = (component, path, module)
    return table


def other_format(keys) -> str:
    """The name of a non-LoRA network format these keys are in; "" for LoRA / LoCon."""
    for key in keys:
        suffix = key.partition(".")[2]
        for marker, name in OTHER_FORMATS:
            if suffix.startswith(marker):
                return name
    return ""


def _shape_for(module, tensor, down: bool):
    """The tensor shaped as peft's lora_A / lora_B for this module, or None when it cannot be."""
    import torch

    if isinstance(module, torch.nn.Linear):
        if tensor.ndim == 4 and tensor.shape[2:] == (1, 1):
            tensor = tensor[:, :, 0, 0]
        if tensor.ndim != 2:
            return None
        size = module.in_features if down else module.out_features
        return tensor if tensor.shape[1 if down else 0] == size else None
    if tensor.ndim == 2:
        tensor = tensor[:, :, None, None]
    if tensor.ndim != 4:
        return None
    if down:
        ok = tensor.shape[1] == module.in_channels // module.groups and tuple(tensor.shape[2:]) == tuple(module.kernel_size)
    else:
        ok = tensor.shape[0] == module.out_channels and tuple(tensor.shape[2:]) == (1, 1)
    return tensor if ok else None


def to_diffusers(state: dict[str, Any], pipe, lora_name: str, model_name: str) -> dict[str, Any]:
    """A kohya / A1111 / LoCon state dict as diffusers' LoRA layout for this pipeline, with each
    module's alpha folded in. Raises UserError naming the format, or the first layer that does not fit."""
    import torch

    keys = list(state)
    fmt = other_format(keys)
    if fmt:
        raise UserError(f"{lora_name} is {fmt}, which Tessera does not load: it reads LoRA and LoCon files "
                        "(kohya, A1111, LyCORIS LoCon, diffusers, peft)")
    modules: dict[str, dict[str, Any]] = {}
    for key, tensor in state.items():
        module, _, suffix = key.partition(".")
        if suffix not in _LORA_SUFFIXES:
            raise UserError(f"{lora_name} has a tensor Tessera cannot place ({key})")
        modules.setdefault(module, {})[suffix] = tensor
    table = names(pipe)
    out: dict[str, Any] = {}
    for module, parts in modules.items():
        if "lora_down.weight" not in parts or "lora_up.weight" not in parts:
            raise UserError(f"{lora_name} is damaged: layer {module} lacks its "
                            f"{'down' if 'lora_down.weight' not in parts else 'up'} weights")
        place = table.get(module)
        if place is None:
            raise UserError(f"{lora_name} does not fit this {model_name} model: it has a layer {module} "
                            "that the model does not have, so it was made for another kind of model")
        component, path, target = place
        down = parts["lora_down.weight"].float()
        up = parts["lora_up.weight"].float()
        rank = down.shape[0]
        if "lora_mid.weight" in parts:  # LoCon's Tucker form: a 1x1 down, a kxk core, a 1x1 up
            mid = parts["lora_mid.weight"].float()
            down = torch.einsum("rskl,si->rikl", mid, down.reshape(down.shape[0], -1))
            rank = mid.shape[0]
        alpha = parts.get("alpha")
        scale = float(alpha) / rank if alpha is not None and rank else 1.0
        a, b = _shape_for(target, down, True), _shape_for(target, up * scale, False)
        if a is None or b is None or b.shape[1] != a.shape[0]:
            raise UserError(f"{lora_name} does not fit this {model_name} model: its layers have other sizes "
                            f"(first at {module}), so it was made for another kind of model")
        # a text encoder's layers in diffusers' older names: its loader converts those for every layer, while
        # peft's names it recognises only with an attention projection beside them (not an MLP alone)
        down_key, up_key = ("lora_linear_layer.down", "lora_linear_layer.up") if component != "unet" \
            else ("lora_A", "lora_B")
        out[f"{component}.{path}.{down_key}.weight"] = a.contiguous()
        out[f"{component}.{path}.{up_key}.weight"] = b.contiguous()
    return out
