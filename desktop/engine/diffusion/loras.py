"""Style LoRAs: reading kohya/A1111, diffusers and peft files, their trigger words and hashes.

A LoRA is named on the command line or in a brief as ``PATH[:WEIGHT]``. Three layouts are
read, all as safetensors (a LoRA is never unpickled):

- kohya / A1111 / LyCORIS LoCon (``lora_unet_…`` / ``lora_te_…`` / ``lora_te1_…`` keys with
  ``lora_down``/``lora_up``/``alpha``), placed on the model's layers by ``lora_keys``;
- diffusers (``unet.…lora_A.weight``, as ``save_lora_weights`` writes);
- peft (an ``adapter_model.safetensors`` beside ``adapter_config.json``, as ``save_pretrained``
  writes for a UNet): its keys are renamed to kohya's and its scale (``lora_alpha``/``r``, rsLoRA,
  per-module patterns) is carried as kohya ``alpha`` tensors, so the output is the same.

Trigger words come from the file's metadata (``tessera.trigger_words``, ``modelspec.trigger_phrase``,
``ss_trigger_words``, else the most frequent training tag in ``ss_tag_frequency``) or from a
sidecar beside it (``NAME.txt``, or ``NAME.json`` / ``NAME.civitai.info`` with ``activation text``,
``trigger_words`` or ``trainedWords``). Each LoRA's sha256 goes into provenance, and its A1111
short hash (the sha256 of the tensor data after the header, as A1111 and Civitai compute it)
into the ``parameters`` chunk. Nothing here imports torch until a LoRA's tensors are read.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.engine.diffusion.families import FAMILY_NAMES, family_of_weights
from desktop.engine.diffusion.weights import layout_of, safetensors_header
from desktop.errors import UserError

MAX_LORAS = 8
_WEIGHT = re.compile(r"^(?P<path>.+?):(?P<weight>[-+]?\d*\.?\d+)$")


@dataclass
class LoraSpec:
    """One LoRA as the user named it, resolved to a file with its facts."""

    path: Path
    weight: float = 1.0
    name: str = ""
    sha256: str = ""
    a1111_hash: str = ""
    layout: str = ""  # kohya | diffusers | peft
    trigger_words: list[str] = field(default_factory=list)
    family: str = ""  # the model family it was made for (sd15, sdxl, sd2, ...), "" when it does not say

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "weight": self.weight, "sha256": self.sha256,
                "a1111_hash": self.a1111_hash, "layout": self.layout, "trigger_words": self.trigger_words,
                "family": self.family}


def parse_lora_arg(text: str) -> tuple[str, float]:
    """'style.safetensors:0.8' -> (path, 0.8); a bare path has weight 1.0."""
    text = text.strip()
    match = _WEIGHT.match(text)
    if match and not Path(text).exists():
        weight = float(match["weight"])
        if not -4.0 <= weight <= 4.0:
            raise UserError(f"a LoRA weight must be between -4 and 4, not {weight}")
        return match["path"], weight
    return text, 1.0


def _hashes(path: Path, data_offset: int) -> tuple[str, str]:
    """(sha256 of the file, sha256 of the tensor data after the header, as A1111 'Lora hashes' use)."""
    whole, data = hashlib.sha256(), hashlib.sha256()
    seen = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            whole.update(chunk)
            start = max(0, data_offset - seen)
            if start < len(chunk):
                data.update(chunk[start:])
            seen += len(chunk)
    return whole.hexdigest(), data.hexdigest()


def _from_metadata(meta: dict[str, str]) -> list[str]:
    for key in ("tessera.trigger_words", "modelspec.trigger_phrase", "ss_trigger_words"):
        value = meta.get(key)
        if value:
            return split_words(value)
    raw = meta.get("ss_tag_frequency")
    if raw:
        try:
            counts: dict[str, int] = {}
            for tags in json.loads(raw).values():
                for tag, n in tags.items():
                    counts[tag.strip()] = counts.get(tag.strip(), 0) + int(n)
            if counts:
                return [max(counts, key=lambda t: (counts[t], t))]
        except (ValueError, AttributeError, TypeError):
            return []
    return []


# what trainers write of the base model (kohya's ss_base_model_version, the modelspec's architecture)
_BASES = (("flux", "flux"), ("sd3", "sd3"), ("stable-diffusion-3", "sd3"), ("xl", "sdxl"), ("v2", "sd2"),
          ("v1", "sd15"))
# the width of the text features a LoRA's cross-attention keys and values read: the family's text encoder
_CONTEXT = {768: "sd15", 1024: "sd2", 2048: "sdxl"}


def family_of_lora(header: dict[str, Any]) -> str:
    """The family a LoRA was made for: from its metadata, else from its tensors' names and shapes
    (a second text encoder's weights, or the width of its cross-attention inputs); "" if neither says."""
    meta = header.get("__metadata__") or {}
    declared = " ".join(str(meta.get(k, "")) for k in ("modelspec.architecture", "ss_base_model_version")).lower()
    for marker, family in _BASES:
        if marker in declared:
            return family
    keys = [k for k in header if k != "__metadata__"]
    if any(k.startswith(("lora_te2_", "text_encoder_2.")) for k in keys):
        return "sdxl"
    for key in keys:
        down = any(m in key for m in ("lora_down", "lora_A", "lora.down"))
        if down and "attn2" in key and ("to_k" in key or "to_v" in key):
            shape = (header[key] or {}).get("shape") or []
            if len(shape) == 2:
                return _CONTEXT.get(int(shape[1]), "")
    return ""


def _refuse_a_model(path: Path, header: dict[str, Any]) -> None:
    """A whole checkpoint given as a LoRA: say where it belongs."""
    shapes = {k: list(v.get("shape", [])) for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}
    try:
        family = family_of_weights(path.name, shapes)
    except UserError:
        return
    raise UserError(f"{path.name} is a whole {FAMILY_NAMES[family]} model, not a LoRA: add it in Generate ▸ "
                    "Models… (or 'tessera models add') and choose it as the engine")


def check_families(model_family: str, loras: list[LoraSpec]) -> None:
    """Refuse a LoRA made for another family than the model's, before anything loads."""
    for lora in loras:
        if lora.family and model_family in ("sd15", "sdxl") and lora.family != model_family:
            made, model = (FAMILY_NAMES.get(f, f.upper()) for f in (lora.family, model_family))
            raise UserError(f"{lora.name} is a LoRA for {made}, and the model is {model}: choose a LoRA made "
                            f"for {model}, or an {made} model")


def _from_sidecar(path: Path) -> list[str]:
    stem = path.with_suffix("")
    text = stem.with_suffix(".txt")
    if text.is_file():
        return split_words(text.read_text(encoding="utf-8", errors="replace"))
    for candidate in (stem.with_suffix(".json"), Path(f"{stem}.civitai.info")):
        if candidate.is_file():
            try:
                info = json.loads(candidate.read_text(encoding="utf-8"))
            except ValueError:
                continue
            for key in ("activation text", "trigger_words", "trainedWords"):
                value = info.get(key) if isinstance(info, dict) else None
                if value:
                    return split_words(value if isinstance(value, str) else ", ".join(map(str, value)))
    return []


def split_words(value: str | list[str]) -> list[str]:
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return [w.strip() for w in str(value).replace("\n", ",").split(",") if w.strip()]


def glance(path: str | Path) -> tuple[list[str], str]:
    """A LoRA's trigger words and the family it was made for, from its header and sidecar only
    (no hashing: cheap enough for the UI); nothing for an unreadable file (resolve says why)."""
    path = Path(path)
    if path.is_dir():
        path = path / "adapter_model.safetensors"
    try:
        header, _ = safetensors_header(path)
    except UserError:
        return [], ""
    return _from_metadata(header.get("__metadata__") or {}) or _from_sidecar(path), family_of_lora(header)


def training_facts(path: str | Path) -> dict[str, Any] | None:
    """What trained a LoRA, from its header, when Tessera trained it (tessera.training): the base
    model, the tiles with their library ids, the settings. None for any other file."""
    path = Path(path)
    if path.is_dir():
        path = path / "adapter_model.safetensors"
    try:
        header, _ = safetensors_header(path)
        raw = (header.get("__metadata__") or {}).get("tessera.training")
        facts = json.loads(raw) if raw else None
    except (UserError, ValueError):
        return None
    return facts if isinstance(facts, dict) else None


def resolve(text_or_path: str | Path, weight: float | None = None) -> LoraSpec:
    """Read a LoRA's header, hashes and trigger words; raises UserError for anything unusable."""
    if weight is None and isinstance(text_or_path, str):
        location, weight = parse_lora_arg(text_or_path)
    else:
        location, weight = str(text_or_path), 1.0 if weight is None else float(weight)
    path = Path(location).expanduser()
    if path.is_dir():  # a peft save_pretrained folder
        path = path / "adapter_model.safetensors"
    if not path.is_file():
        raise UserError(f"no LoRA file at {location}")
    if path.suffix.lower() != ".safetensors":
        raise UserError(f"{path.name}: LoRAs are read from .safetensors files only (a pickle file can run code)")
    header, offset = safetensors_header(path)
    keys = [k for k in header if k != "__metadata__"]
    layout = layout_of(keys)
    if layout == "unknown":
        _refuse_a_model(path, header)
        raise UserError(f"{path.name} holds no LoRA weights Tessera recognises (kohya, diffusers or peft keys)")
    meta = header.get("__metadata__") or {}
    sha, short = _hashes(path, offset)
    name = path.parent.name if path.name == "adapter_model.safetensors" else path.stem
    words = _from_metadata(meta) or _from_sidecar(path)
    return LoraSpec(path, float(weight), name, sha, short[:12], layout, words, family_of_lora(header))


def prompt_with_triggers(prompt: str, loras: list[LoraSpec]) -> str:
    """The prompt with every LoRA's trigger words that it does not already contain, appended."""
    lowered = prompt.lower()
    extra = []
    for lora in loras:
        for word in lora.trigger_words:
            if word.lower() not in lowered and word not in extra:
                extra.append(word)
    return ", ".join([prompt.strip(), *extra]) if extra else prompt


def peft_to_kohya(state: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A peft UNet adapter saved with save_pretrained (its config beside it) as kohya tensors."""
    try:
        config = json.loads((folder / "adapter_config.json").read_text())
    except (OSError, ValueError):
        config = {}
    return peft_state_to_kohya(state, config)


def peft_state_to_kohya(state: dict[str, Any], config: dict[str, Any], sdxl_unet: Any = None,
                        prefix: str = "lora_unet_") -> dict[str, Any]:
    """A peft UNet adapter's tensors as kohya keys, with peft's scale carried as kohya ``alpha``.

    peft scales a LoRA by lora_alpha / r (lora_alpha / sqrt(r) with rsLoRA); kohya by alpha / rank,
    so alpha = scale x rank keeps the output the same. `config` is the adapter's LoraConfig as a
    dict (r, lora_alpha, use_rslora, rank/alpha patterns). With `sdxl_unet` (the UNet's config) the
    names are kohya's SDXL ones, the original UNet's (``lora_unet_input_blocks_4_1_…``). A text
    encoder's adapter goes under its own `prefix` (``lora_te_``, or ``lora_te1_`` / ``lora_te2_`` for
    SDXL), its paths from ``text_model.`` as kohya names them.
    """
    import torch

    from desktop.engine.diffusion.lora_keys import ldm_path

    out: dict[str, Any] = {}
    for key, tensor in state.items():
        name = key.removeprefix("base_model.model.")
        for part in ("lora_A", "lora_B"):
            name = name.replace(f".{part}.default.", f".{part}.")
        if ".lora_A." not in name and ".lora_B." not in name:
            raise UserError(f"unexpected tensor {key} in a peft adapter")
        module, _, rest = name.partition(".lora_")
        if prefix != "lora_unet_":  # a text encoder: kohya's paths start at text_model. (transformers 5 dropped it)
            path = module if module.startswith("text_model.") else "text_model." + module
        else:
            path = ldm_path(module, sdxl_unet) if sdxl_unet is not None else module
        if path is None:
            raise UserError(f"the UNet layer {module} has no name in kohya's SDXL layout")
        kohya = prefix + path.replace(".", "_")
        if rest.startswith("A"):
            rank = int((config.get("rank_pattern") or {}).get(module, config.get("r", tensor.shape[0])))
            alpha = float((config.get("alpha_pattern") or {}).get(module, config.get("lora_alpha", rank)))
            scale = alpha / (rank ** 0.5) if config.get("use_rslora") else alpha / rank
            out[f"{kohya}.lora_down.weight"] = tensor
            out[f"{kohya}.alpha"] = torch.tensor(scale * tensor.shape[0])
        else:
            out[f"{kohya}.lora_up.weight"] = tensor
    return out


def read_state(spec: LoraSpec) -> dict[str, Any]:
    """The LoRA's tensors in a layout diffusers' load_lora_weights accepts."""
    from safetensors.torch import load_file

    try:
        state = load_file(str(spec.path))
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise UserError(f"{spec.path.name} could not be read ({str(exc).splitlines()[0]})") from None
    if spec.layout == "peft":
        state = peft_to_kohya(state, spec.path.parent)
    return state
