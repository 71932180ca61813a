"""Single-file checkpoints (A1111/Civitai .safetensors, trusted .ckpt), loaded offline.

diffusers converts an original-layout checkpoint to its own modules from a diffusers config
folder. Tessera bundles those folders for SD 1.5 and SDXL base in `resources/diffusion/`
(model_index, scheduler, UNet, VAE and text encoder configs: small JSON files), and writes
the CLIP tokenizer files (vocab.json and merges.txt) from the CLIP BPE merges that open_clip
ships (the same file OpenAI published), so nothing is fetched from the Hub. The assembled
folder is kept in the cache and rebuilt when the bundled configs change.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

from desktop.errors import UserError
from desktop.resources import resources_dir

FAMILIES = {"sd15": "StableDiffusionPipeline", "sdxl": "StableDiffusionXLPipeline"}
CLIP_MERGES = 49152 - 256 - 2  # the merges CLIP's tokenizer uses from its BPE file
SPECIALS = ("<|startoftext|>", "<|endoftext|>")


def clip_bpe_file() -> Path:
    spec = importlib.util.find_spec("open_clip")  # found, not imported (it would import torch)
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the CLIP vocabulary comes with open_clip, which is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"
    if not path.is_file():
        raise UserError(f"the CLIP vocabulary file is missing from open_clip ({path})")
    return path


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible byte -> printable character table (as GPT-2's)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def write_clip_tokenizer(folder: Path, pad_token: str = "<|endoftext|>") -> None:
    """vocab.json, merges.txt and the tokenizer configs of CLIP's tokenizer, in Hugging Face's layout."""
    with gzip.open(clip_bpe_file()) as fh:
        lines = fh.read().decode("utf-8").split("\n")[1:CLIP_MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    symbols = list(_bytes_to_unicode().values())
    vocab = [*symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in merges), *SPECIALS]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}, ensure_ascii=False),
                                       encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n",
                                       encoding="utf-8")
    specials = {"bos_token": SPECIALS[0], "eos_token": SPECIALS[1], "unk_token": SPECIALS[1], "pad_token": pad_token}
    (folder / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True, "errors": "replace",
         "add_prefix_space": False, **specials}, indent=2))


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.json")):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def config_folder(family: str, cache_dir: Path | None = None) -> Path:
    """The complete diffusers config folder for a family, assembled once in the cache."""
    if family not in FAMILIES:
        raise UserError(f"Tessera cannot tell whether this checkpoint is SD 1.5 or SDXL (its keys match "
                        f"neither; family '{family}'); convert it to a diffusers folder and add that")
    bundled = resources_dir() / "diffusion" / family
    if not (bundled / "model_index.json").is_file():
        raise UserError(f"the bundled {family} model configs are missing from {bundled}")
    if cache_dir is None:
        from desktop.config import resolve_paths

        cache_dir = resolve_paths().cache_dir
    target = cache_dir / "diffusion-configs" / f"{family}-{_digest(bundled)}"
    if (target / ".complete").exists():
        return target
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(bundled, staging)
    index = json.loads((bundled / "model_index.json").read_text())
    for name in ("tokenizer", "tokenizer_2"):
        if name in index:  # SDXL's second tokenizer pads with "!" (token 0), as OpenCLIP did
            write_clip_tokenizer(staging / name, "!" if name == "tokenizer_2" else SPECIALS[1])
    (staging / ".complete").write_text("ok\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def load_single_file(entry: Any, device: str = "cpu", dtype: str = "float32", config: str | Path | None = None):
    """A registry entry of kind single-file as a pipeline, offline, through the bundled configs."""
    import diffusers
    import torch

    path = Path(entry.location)
    if not path.is_file():
        raise UserError(f"the checkpoint {path} is gone; add it again")
    if path.suffix.lower() != ".safetensors":
        from desktop.engine.diffusion.registry import verify_trusted_pickle

        verify_trusted_pickle(entry)  # diffusers then reads it with torch.load(weights_only=True)
    folder = Path(config) if config else config_folder(entry.family)
    index = json.loads((folder / "model_index.json").read_text())
    pipeline_class = getattr(diffusers, index.get("_class_name", FAMILIES.get(entry.family, "")), None)
    if pipeline_class is None:
        raise UserError(f"unknown pipeline in {folder / 'model_index.json'}")
    torch_dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    try:
        pipe = pipeline_class.from_single_file(str(path), config=str(folder), local_files_only=True,
                                               torch_dtype=torch_dtype, safety_checker=None,
                                               requires_safety_checker=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise UserError(f"could not load {path.name} as a {entry.family} checkpoint: "
                        f"{str(exc).splitlines()[0][:300]}") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)
