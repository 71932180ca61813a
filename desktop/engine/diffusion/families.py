"""Which model a file or folder holds: SD 1.5 or SDXL (what Tessera draws with), or what else
it is, told from its tensor names and shapes (or its model_index.json) without loading a
tensor. Files that people often take for a checkpoint are named in the refusal, so the message
says what to do: a LoRA, a VAE, an embedding, one part of a diffusers model, and checkpoints
of other families (SD 2, SD 3, FLUX, the SDXL refiner, inpainting and instruct UNets)."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.engine.diffusion.weights import PICKLE_SUFFIXES, is_lora, safetensors_header
from desktop.errors import UserError

FAMILY_NAMES = {"sd15": "SD 1.5", "sdxl": "SDXL", "unknown": "unknown family", "sd2": "SD 2", "sd3": "SD 3",
                "flux": "FLUX"}
TRAINED_SIDE = {"sd15": 512, "sdxl": 1024}  # the image side each family was trained at
SUPPORTED = "Tessera draws with SD 1.5 and SDXL checkpoints"
FIRST_CONV = "model.diffusion_model.input_blocks.0.0.weight"  # its input channels: 4 for text-to-image


def _refuse(name: str, what: str, advice: str = SUPPORTED) -> UserError:
    return UserError(f"{name} looks like {what}, not a model Tessera can draw with; {advice}")


def family_of_weights(name: str, shapes: dict[str, list[int]]) -> str:
    """'sd15' or 'sdxl' for a single-file checkpoint's tensors (name -> shape); otherwise a
    UserError saying what the file seems to be."""
    keys = list(shapes)
    if is_lora(keys):
        raise _refuse(name, "a LoRA", "add it in the Brief's LoRA list (or with --lora) instead")
    if {"emb_params", "string_to_param"} & set(keys) or (keys and set(keys) <= {"clip_l", "clip_g"}):
        raise _refuse(name, "an embedding (textual inversion)")
    if any("double_blocks." in k for k in keys):
        raise _refuse(name, "a FLUX checkpoint")
    if any("joint_blocks." in k for k in keys):
        raise _refuse(name, "a Stable Diffusion 3 checkpoint")
    channels = (shapes.get(FIRST_CONV) or [0, 4])[1:2]
    if channels and channels[0] != 4:
        raise _refuse(name, f"an inpainting or instruct checkpoint (its UNet takes {channels[0]} channels, not 4)")
    if any(k.startswith("conditioner.embedders.1.") for k in keys):
        return "sdxl"
    if any(k.startswith("conditioner.embedders.0.model.") for k in keys):
        raise _refuse(name, "the SDXL refiner", "use an SDXL base checkpoint")
    if any(k.startswith("cond_stage_model.model.") for k in keys):
        raise _refuse(name, "a Stable Diffusion 2 checkpoint")
    if any(k.startswith(("model.diffusion_model.", "cond_stage_model.")) for k in keys):
        return "sd15"
    if keys and all(k.startswith(("encoder.", "decoder.", "quant_conv.", "post_quant_conv.", "first_stage_model."))
                    for k in keys):
        raise _refuse(name, "a VAE on its own")
    if any(k.startswith(("down_blocks.", "conv_in.", "text_model.")) for k in keys):
        raise _refuse(name, "one part of a diffusers model (a UNet, VAE or text encoder)",
                      "add the whole model folder, the one with model_index.json")
    raise UserError(f"Tessera cannot tell whether {name} is an SD 1.5 or SDXL checkpoint (its tensor names "
                    "match neither); convert it to a diffusers folder and add that")


def dropped_kind(path: Path) -> str:
    """What a file or folder dropped on the window is for: 'model' (a diffusers folder, a
    checkpoint), 'lora', or 'other' (an image, say): read from its name and safetensors header."""
    if path.is_dir():
        return "model" if (path / "model_index.json").is_file() else "other"
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        return "model"
    if suffix != ".safetensors":
        return "other"
    try:
        keys = [k for k in safetensors_header(path)[0] if k != "__metadata__"]
    except UserError:
        return "model"  # adding it says what is wrong with it
    return "lora" if is_lora(keys) else "model"




def pickle_message(name: str) -> str:
    return (f"{name} is a pickle file, which can run code when it is loaded; add it with --trust-pickle "
            "only if you trust where it came from (it is then read with weights_only=True)")


def folder_pickles(folder: Path) -> list[Path]:
    """The pickle files anywhere in a model folder (every component's weights, links included)."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in PICKLE_SUFFIXES and p.is_file())


def refuse_untrusted_pickles(folder: Path, trusted: bool) -> bool:
    """Refuse a folder with pickle weights that the user did not trust, as a pickle file is refused;
    whether it holds any."""
    found = folder_pickles(folder)
    if found and not trusted:
        raise UserError(pickle_message(f"{folder.name}/{found[0].relative_to(folder)}"))
    return bool(found)


def refuse_code(folder: Path) -> None:
    """A model folder that ships Python (a custom pipeline or component) is refused: loading it
    would mean running that code, and Tessera runs no code that comes with a model."""
    found = next(iter(sorted(folder.rglob("*.py"))), None)
    if found is not None:
        raise UserError(f"{folder.name} holds Python code ({found.relative_to(folder)}) that loading it would run; "
                        "Tessera never runs code that comes with a model")


def family_of_folder(folder: Path) -> str:
    """'sd15' or 'sdxl' for a diffusers folder, from its model_index.json and UNet config."""
    refuse_code(folder)
    try:
        index = json.loads((folder / "model_index.json").read_text())
    except (OSError, ValueError):
        raise UserError(f"{folder} is not a diffusers model folder (no readable model_index.json)") from None
    pipeline = str(index.get("_class_name", ""))
    if (pipeline and not pipeline.startswith("StableDiffusion")) or "StableDiffusion3" in pipeline:
        raise _refuse(folder.name, f"a {pipeline} model")
    try:
        unet = json.loads((folder / "unet" / "config.json").read_text())
    except (OSError, ValueError):
        unet = {}
    if unet.get("in_channels", 4) != 4:
        raise _refuse(folder.name, f"an inpainting or instruct model (its UNet takes {unet['in_channels']} "
                                   "channels, not 4)")
    if "XL" in pipeline or "text_encoder_2" in index or unet.get("cross_attention_dim") == 2048:
        return "sdxl"
    return "sd15" if unet else "unknown"


# How many times each family's UNet halves its latents (SD 1.5: 4 resolution levels, SDXL: 3).
UNET_HALVINGS = {"sd15": 3, "sdxl": 2}
VAE_SCALE = 8


def _config(location: str, part: str) -> dict:
    try:
        config = json.loads((Path(location) / part / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return {}
    return config if isinstance(config, dict) else {}


def model_levels(family: str, location: str = "") -> tuple[int, int] | None:
    """(how many times the UNet halves its latents, the VAE's scale) of a model: from a diffusers
    folder's configs (cheap, nothing loaded), else its family's; None when neither says."""
    unet, vae = _config(location, "unet"), _config(location, "vae")
    try:
        halvings = max(0, len(unet["block_out_channels"]) - 1)
    except (KeyError, TypeError):
        halvings = UNET_HALVINGS.get(family)
    if halvings is None:
        return None
    try:
        scale = 2 ** max(0, len(vae["block_out_channels"]) - 1)
    except (KeyError, TypeError):
        scale = VAE_SCALE
    return halvings, scale


def check_model_size(family: str, location: str, repeat: str, width: int, height: int) -> None:
    """Refuse, in one sentence, a size at which the model's UNet cannot keep the repeat exact."""
    from desktop.repeat import check_steps

    levels = model_levels(family, location)
    if levels is not None:
        check_steps(repeat, width, height, *levels, FAMILY_NAMES.get(family, "this model"), least=8)


def size_advice(family: str, width: int, height: int) -> str:
    """A sentence when a tile's size is far from what the family draws well at; "" when it is fine."""
    side = TRAINED_SIDE.get(family)
    if side is None:
        return ""
    name = FAMILY_NAMES[family]
    if max(width, height) > 1.5 * side:
        return (f"{name} was trained at {side} px: much larger, it tends to draw the motif several times in "
                f"one tile. Draw at {side}–{int(1.5 * side)} px and use Tile ▸ Upscale for print size.")
    if max(width, height) < 0.75 * side:
        return f"{name} was trained at {side} px: much smaller, it loses detail."
    return ""
