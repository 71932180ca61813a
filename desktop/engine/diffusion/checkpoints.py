"""Training checkpoints: a LoRA run saved as it goes, resumed to the same weights.

A checkpoint is one safetensors file, written atomically (a temporary file renamed over, then
synced), so a process killed while saving leaves the checkpoint before it whole and a stray
temporary file, which the next save or resume removes. It holds everything the next step depends
on: the LoRA's weights (float32, by their parameter names), the optimizer's state, the gradient
scaler's, both random generators (torch's for noise and timesteps, numpy's for the tiles, origins
and flips), the batch size and gradient checkpointing as the run left them (running out of memory
changes both), the losses so far and the last sample. No pickle: tensors in safetensors, the rest
as JSON in its metadata.

Checkpoints live beside the LoRA they will become, in NAME.checkpoints/, one file a save
(step-000100.safetensors), the last `keep` of them kept. A run resumes only from a checkpoint of
the same training: same model, tiles, captions and settings (`fingerprint`); a run that finishes
removes its checkpoints (the LoRA is what they were for).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.errors import UserError

log = logging.getLogger("tessera.training")

_FILE = re.compile(r"step-(\d{6,})\.safetensors")
KEY = "tessera.checkpoint"
FORMAT = 1
# the request's fields that decide the run's steps: a checkpoint of another run is not resumed
TRAJECTORY = ("trigger", "rank", "alpha", "steps", "learning_rate", "batch_size", "resolution", "seed",
              "shift", "flip", "snr_gamma")


def folder_for(lora_path: Path) -> Path:
    """Where a LoRA's checkpoints go: NAME.checkpoints beside NAME.safetensors."""
    return lora_path.with_name(f"{lora_path.stem}.checkpoints")


def fingerprint(request, model_sha256: str) -> str:
    """What a run is, as a hash: the base model, each tile (its file's sha256 or path, caption and repeat)
    and every setting that changes a step. Samples and the device do not change what is learned."""
    items = [[str(i.get("sha256") or i.get("file", "")), str(i.get("caption") or ""), str(i.get("repeat") or "basic")]
             for i in request.items]
    from desktop.engine.diffusion.training_knobs import KNOBS

    decisive = [*TRAJECTORY, *(k for k in KNOBS if k != "gradient_checkpointing")]  # (the same sums, less memory)
    facts = {"model": model_sha256, "items": items, **{k: getattr(request, k) for k in decisive}}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Checkpoint:
    path: Path
    step: int
    state: dict[str, Any]  # the JSON part
    tensors: dict[str, Any]  # name -> torch tensor


def _strays(folder: Path) -> None:
    """Temporary files a killed save left behind."""
    for stray in folder.glob(".step-*.tmp"):
        with contextlib.suppress(OSError):
            stray.unlink()


def saved(folder: Path) -> list[tuple[int, Path]]:
    """The complete checkpoints in a folder, (step, path), oldest first."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _FILE.fullmatch(p.name))]
    return sorted(found)


def latest_step(lora_path: Path) -> int | None:
    """The step of the last checkpoint of the LoRA that would be written at `lora_path` (None: none)."""
    found = saved(folder_for(lora_path))
    return found[-1][0] if found else None


def save(trainer, lora_path: Path, fingerprint_: str, keep: int, extra: dict[str, Any] | None = None,
         sample: np.ndarray | None = None) -> Path:
    """Write the trainer's state after its last step as a checkpoint, atomically; keep the last `keep`."""
    import torch
    from safetensors.torch import save as to_bytes

    from desktop.config import atomic_write_bytes

    folder = folder_for(lora_path)
    step = len(trainer.losses)
    tensors: dict[str, Any] = {}
    for part, module in _trained(trainer):
        for name, param in module.named_parameters():
            if param.requires_grad:
                tensors[f"lora.{part}.{name}"] = param.detach().to("cpu", torch.float32).contiguous()
    optimizer = trainer.optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in optimizer["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    tensors["rng.torch"] = trainer.generator.get_state()
    if sample is not None:
        tensors["sample"] = torch.from_numpy(np.ascontiguousarray(sample[..., :3]).astype(np.uint8))
    unet = trainer.pipe.unet
    state = {
        "format": FORMAT, "fingerprint": fingerprint_, "step": step, "losses": trainer.losses,
        "rng_numpy": trainer.rng.bit_generator.state, "optimizer_groups": optimizer["param_groups"],
        "optimizer_scalars": scalars, "scaler": trainer.scaler.state_dict() if trainer.scaler is not None else None,
        "batch_size": trainer.request.batch_size,
        "gradient_checkpointing": bool(getattr(unet, "is_gradient_checkpointing", False)),
        **(extra or {}),
    }
    data = to_bytes(tensors, metadata={KEY: json.dumps(state)})
    need = len(data) + (1 << 20)
    folder.mkdir(parents=True, exist_ok=True)
    _strays(folder)
    if shutil.disk_usage(folder).free < need:
        raise UserError(f"{folder} has no room for a checkpoint of {need / 2**20:.0f} MB: free some space, or "
                        "train without checkpoints (--checkpoint-every 0)")
    path = folder / f"step-{step:06d}.safetensors"
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise UserError(f"could not write a checkpoint to {folder}: {exc.strerror or exc}") from None
    for _, old in saved(folder)[:-max(1, keep)]:
        with contextlib.suppress(OSError):
            old.unlink()
    log.info("training checkpoint at step %d: %s", step, path)
    return path


def load(lora_path: Path, fingerprint_: str) -> Checkpoint:
    """The last checkpoint of this run, or one sentence saying why there is none to resume."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = folder_for(lora_path)
    if folder.is_dir():
        _strays(folder)
    found = saved(folder)
    if not found:
        raise UserError(f"there is no checkpoint to resume in {folder}: train without --resume")
    for step, path in reversed(found):  # the newest readable one
        try:
            from desktop.engine.diffusion.weights import safetensors_header

            header = safetensors_header(path)[0]
            state = json.loads(header.get("__metadata__", {}).get(KEY, "null"))
            tensors = load_file(str(path))
        except (OSError, ValueError, SafetensorError, UserError) as exc:
            log.warning("checkpoint %s cannot be read (%s); trying the one before", path, exc)
            continue
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            log.warning("checkpoint %s is not one this version reads; trying the one before", path)
            continue
        if state.get("fingerprint") != fingerprint_:
            raise UserError(f"the checkpoint in {folder} is of another training (other tiles, model or settings): "
                            "train again with the same ones to resume, or remove that folder to start afresh")
        return Checkpoint(path, step, state, tensors)
    raise UserError(f"no checkpoint in {folder} can be read: remove that folder and train afresh")


def restore(trainer, checkpoint: Checkpoint) -> None:
    """Put a checkpoint's state back into a prepared trainer (LoRA attached, optimizer made)."""
    import torch

    state, tensors = checkpoint.state, checkpoint.tensors
    unet = trainer.pipe.unet
    params = {f"lora.{part}.{name}": p for part, module in _trained(trainer) for name, p in module.named_parameters()}
    names = [k for k in tensors if k.startswith("lora.")]
    missing = [n for n, p in params.items() if p.requires_grad and n not in tensors]
    if missing or any(n not in params for n in names):
        raise UserError(f"the checkpoint {checkpoint.path.name} does not fit this model's LoRA layers: remove "
                        f"{checkpoint.path.parent} and train afresh")
    with torch.no_grad():
        for name in names:
            params[name].copy_(tensors[name].to(params[name].device, params[name].dtype))
    optimizer_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            optimizer_state.setdefault(int(index), {})[name] = value
    for index, entries in state.get("optimizer_scalars", {}).items():
        optimizer_state.setdefault(int(index), {}).update(entries)
    trainer.optimizer.load_state_dict({"state": optimizer_state, "param_groups": state["optimizer_groups"]})
    trainer.generator.set_state(tensors["rng.torch"])
    trainer.rng.bit_generator.state = state["rng_numpy"]
    if trainer.scaler is not None and state.get("scaler"):
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.request.batch_size = int(state["batch_size"])
    if state.get("gradient_checkpointing") and not getattr(unet, "is_gradient_checkpointing", False):
        unet.enable_gradient_checkpointing()
    trainer.losses = [float(v) for v in state["losses"]]


def _trained(trainer) -> list[tuple[str, Any]]:
    """The modules a run trains a LoRA on, by a name of their own: the UNet, and its text encoders when
    they train too."""
    return [("unet", trainer.pipe.unet), *((prefix.strip("_"), encoder) for prefix, encoder in trainer.encoders())]


def sample_of(checkpoint: Checkpoint) -> np.ndarray | None:
    sample = checkpoint.tensors.get("sample")
    return None if sample is None else sample.numpy()


def remove(lora_path: Path) -> None:
    """A finished run's checkpoints (and their folder, when nothing else is in it)."""
    folder = folder_for(lora_path)
    for _, path in saved(folder):
        with contextlib.suppress(OSError):
            path.unlink()
    if folder.is_dir():
        _strays(folder)
        with contextlib.suppress(OSError):
            folder.rmdir()
