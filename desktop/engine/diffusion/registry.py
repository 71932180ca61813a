"""The model registry: diffusers folders, single-file .safetensors checkpoints, Hugging Face ids.

Every model is recorded with its family (SD 1.5 or SDXL), its sha256 and where it came from.
Pickle-based files (.ckpt, .pt, .bin) can run code when they are unpickled, so they are
refused unless the user explicitly trusts that one file; even then the loader reads them
with `torch.load(weights_only=True)`, which refuses anything but tensors. Nothing here
imports torch or diffusers: a file's family is read from its safetensors header or config.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.config import atomic_write_bytes
from desktop.errors import UserError

PICKLE_SUFFIXES = {".ckpt", ".pt", ".pth", ".bin"}
HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class ModelEntry:
    name: str
    kind: str  # diffusers-folder | single-file | hf-id
    location: str  # a path, or a Hugging Face id
    family: str  # sd15 | sdxl | unknown
    sha256: str
    source: str
    trusted_pickle: bool = False
    added: str = ""


def _sha256_file(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(block), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_folder(folder: Path) -> str:
    """One hash for a diffusers folder: every file's relative path and content hash, in order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(_sha256_file(path).encode())
    return digest.hexdigest()


def safetensors_header(path: Path) -> tuple[dict[str, Any], int]:
    """A .safetensors file's JSON header and where its tensor data starts, read without loading a
    tensor (or importing torch)."""
    try:
        with open(path, "rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            if size > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(fh.read(size))
        if not isinstance(header, dict):
            raise ValueError("the header is not a table")
    except (OSError, ValueError, struct.error) as exc:
        raise UserError(f"{path.name} is not a readable .safetensors file ({exc})") from None
    return header, 8 + size


def safetensors_keys(path: Path) -> list[str]:
    """The tensor names in a .safetensors header."""
    return [k for k in safetensors_header(path)[0] if k != "__metadata__"]


def family_of_checkpoint(keys: list[str]) -> str:
    if any(k.startswith("conditioner.embedders.1.") for k in keys):
        return "sdxl"
    if any(k.startswith(("model.diffusion_model.", "cond_stage_model.")) for k in keys):
        return "sd15"
    return "unknown"


def family_of_folder(folder: Path) -> str:
    try:
        index = json.loads((folder / "model_index.json").read_text())
    except (OSError, ValueError):
        raise UserError(f"{folder} is not a diffusers model folder (no readable model_index.json)") from None
    if "XL" in str(index.get("_class_name", "")) or "text_encoder_2" in index:
        return "sdxl"
    try:
        unet = json.loads((folder / "unet" / "config.json").read_text())
        return "sdxl" if unet.get("cross_attention_dim") == 2048 else "sd15"
    except (OSError, ValueError):
        return "unknown"


def describe_location(location: str, name: str | None = None, trust_pickle: bool = False) -> ModelEntry:
    """What a model location holds (kind, family, sha256), refusing untrusted pickles."""
    path = Path(location).expanduser()
    if path.is_dir():
        return ModelEntry(name or path.name, "diffusers-folder", str(path.resolve()), family_of_folder(path),
                          _sha256_folder(path), str(path))
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in PICKLE_SUFFIXES and not trust_pickle:
            raise UserError(f"{path.name} is a pickle file, which can run code when it is loaded; "
                            "add it with --trust-pickle only if you trust where it came from "
                            "(it is then read with weights_only=True)")
        if suffix == ".safetensors":
            family = family_of_checkpoint(safetensors_keys(path))
        elif suffix in PICKLE_SUFFIXES:
            family = "unknown"
        else:
            raise UserError(f"{path.name}: models are diffusers folders, .safetensors files, or trusted "
                            f"pickle checkpoints ({', '.join(sorted(PICKLE_SUFFIXES))})")
        return ModelEntry(name or path.stem, "single-file", str(path.resolve()), family, _sha256_file(path),
                          str(path), trusted_pickle=suffix in PICKLE_SUFFIXES)
    if HF_ID.match(location):
        return ModelEntry(name or location.split("/")[-1], "hf-id", location,
                          "sdxl" if "xl" in location.lower() else "sd15", "", "huggingface")
    raise UserError(f"{location}: no such file or folder, and not a Hugging Face id (owner/name)")


class ModelRegistry:
    def __init__(self, path: Path):
        self.path = path

    def entries(self) -> list[ModelEntry]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except ValueError:
            raise UserError(f"the model list {self.path} is damaged; move it aside to start a new one") from None
        return [ModelEntry(**item) for item in raw.get("models", [])]

    def _save(self, entries: list[ModelEntry]) -> None:
        payload = {"schema_version": 1, "models": [dataclasses.asdict(e) for e in entries]}
        atomic_write_bytes(self.path, (json.dumps(payload, indent=2) + "\n").encode())

    def get(self, name: str) -> ModelEntry:
        for entry in self.entries():
            if entry.name == name:
                return entry
        raise UserError(f"no model called '{name}' (see 'tessera models list')")

    def add(self, location: str, name: str | None = None, trust_pickle: bool = False) -> ModelEntry:
        entry = describe_location(location, name, trust_pickle)
        entry.added = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        entries = [e for e in self.entries() if e.name != entry.name]
        self._save([*entries, entry])
        return entry

    def remove(self, name: str) -> None:
        entries = self.entries()
        if not any(e.name == name for e in entries):
            raise UserError(f"no model called '{name}'")
        self._save([e for e in entries if e.name != name])


def verify_trusted_pickle(entry: ModelEntry) -> None:
    """A pickle checkpoint is read only if the user trusted it and it has not changed since."""
    path = Path(entry.location)
    if not entry.trusted_pickle:
        raise UserError(f"{path.name} is a pickle file that was never trusted")
    if _sha256_file(path) != entry.sha256:
        raise UserError(f"{path.name} changed since it was added (its sha256 differs); add it again to use it")


def load_state_dict(entry: ModelEntry) -> dict[str, Any]:
    """A single-file checkpoint's tensors: safetensors directly, a trusted pickle with weights_only=True."""
    path = Path(entry.location)
    if path.suffix.lower() != ".safetensors":
        verify_trusted_pickle(entry)
    elif _sha256_file(path) != entry.sha256:
        raise UserError(f"{path.name} changed since it was added (its sha256 differs); add it again to use it")
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, ValueError) as exc:
        raise UserError(f"{path.name} holds more than tensors and was not loaded ({str(exc).splitlines()[0]})") from None
    return state.get("state_dict", state) if isinstance(state, dict) else state
