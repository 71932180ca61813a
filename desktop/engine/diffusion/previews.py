"""Live previews from latents, cheaply: a fixed linear map from the latent channels to RGB.

SD 1.5 uses keturn's published least-squares fit; SDXL the fit ComfyUI ships (with a bias).

The factors are the well-known least-squares fits for each model family's VAE latent space
(SD 1.5/2.x: 4 channels; SDXL: 4 channels, a different space). It costs one 4x3 matrix
product per pixel of the latent (1/64 of the image), far below a UNet step. The Preview
tiles the result through the repeat geometry like any other tile.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

TAESD = {"sd15": ("taesd", "madebyollin/taesd"), "sdxl": ("taesdxl", "madebyollin/taesdxl")}

# rows: latent channels; columns: R, G, B (then a bias per colour)
FACTORS = {
    "sd15": (np.array([[0.298, 0.207, 0.208], [0.187, 0.286, 0.173],
                       [-0.158, 0.189, 0.264], [-0.184, -0.271, -0.473]], np.float32),
             np.array([0.0, 0.0, 0.0], np.float32)),
    "sdxl": (np.array([[0.3651, 0.4232, 0.4341], [-0.2533, -0.0042, 0.1068],
                       [0.1076, 0.1111, -0.0362], [-0.3165, -0.2492, -0.2188]], np.float32),
             np.array([0.1084, -0.0175, -0.0011], np.float32)),
}


def latents_to_rgb(latents, family: str = "sd15") -> np.ndarray:
    """(4, h, w) or (1, 4, h, w) latents (numpy or torch) to an (h, w, 3) uint8 preview."""
    if type(latents).__module__.split(".")[0] == "torch":
        latents = latents.detach().float().cpu().numpy()
    arr = np.asarray(latents, np.float32)
    if arr.ndim == 4:
        arr = arr[0]
    if arr.shape[0] != 4:
        raise ValueError(f"expected 4 latent channels, got {arr.shape[0]}")
    weights, bias = FACTORS[family]
    rgb = np.tensordot(arr, weights, axes=([0], [0])) + bias  # (h, w, 3) in about -1..1
    return ((np.clip(rgb, -1, 1) + 1) * 127.5 + 0.5).astype(np.uint8)


def find_taesd(family: str, data_dir: Path | None = None) -> str | None:
    """A TAESD decoder for the family: TESSERA_TAESD, <data>/models/taesd[xl]/, or the Hugging Face cache."""
    override = os.environ.get("TESSERA_TAESD")
    if override:
        return override if Path(override).is_dir() else None
    folder, repo = TAESD.get(family, (None, None))
    if folder is None:
        return None
    if data_dir is not None and (data_dir / "models" / folder / "config.json").is_file():
        return str(data_dir / "models" / folder)
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo, "config.json")
    return str(Path(found).parent) if isinstance(found, str) else None


class TaesdPreview:
    """Full-resolution previews from TAESD, a tiny distilled VAE decoder (when its weights are present)."""

    def __init__(self, location: str, device, dtype):
        from diffusers import AutoencoderTiny

        self.decoder = AutoencoderTiny.from_pretrained(location, local_files_only=True).to(device, dtype).eval()

    def on_device(self, latents):
        """The preview as an (H, W, 3) uint8 tensor, still on the GPU."""
        import torch

        with torch.no_grad():
            image = self.decoder.decode(latents[:1].to(self.decoder.dtype)).sample[0]  # about -1..1
        rgb = ((image.float().clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8)
        return rgb.permute(1, 2, 0)

    def on_host(self, array: np.ndarray) -> np.ndarray:
        return array


class LatentFactors:
    """The linear preview split as PreviewStream takes it: the latent travels, the host does the rest."""

    def __init__(self, family: str = "sd15"):
        self.family = family

    def on_device(self, latents):
        return latents[:1].detach().float()  # float32: numpy has no bfloat16

    def on_host(self, array: np.ndarray) -> np.ndarray:
        return latents_to_rgb(array, self.family)


class PreviewStream:
    """Previews handed over without stopping the GPU.

    Reading a step's preview back at once (``.cpu()``) makes the host wait for the GPU to finish
    that step, and then the GPU waits for the host to queue the next one: a pause at every
    step. Here each step's preview is copied to the host behind the work already queued
    (`CudaCopies`) and handed to `deliver` once it has arrived: when a later step finds it
    there, when `depth` copies are in flight, or at `flush` (the end of the generation). Every
    step's preview is delivered, in order, at most `depth` steps late. A tensor off CUDA is
    delivered at once.
    """

    def __init__(self, deliver, previewer, depth: int = 2, copies=None):
        self.deliver, self.previewer, self.depth = deliver, previewer, depth
        self.copies = copies
        self.pending: list = []  # copies in flight, oldest first

    def push(self, latents) -> None:
        tensor = self.previewer.on_device(latents)
        if self.copies is None and not tensor.is_cuda:
            self.deliver(self.previewer.on_host(tensor.cpu().numpy()))
            return
        if self.copies is None:
            self.copies = CudaCopies()
        if len(self.pending) >= self.depth:
            self._hand_over()
        self.pending.append(self.copies.start(tensor))
        while self.pending and self.copies.arrived(self.pending[0]):  # those that came in meanwhile
            self._hand_over()

    def flush(self) -> None:
        while self.pending:
            self._hand_over()

    def _hand_over(self) -> None:
        self.deliver(self.previewer.on_host(self.copies.take(self.pending.pop(0))))


class CudaCopies:
    """Device-to-host copies into pinned buffers, each marked with an event; buffers are reused."""

    def __init__(self):
        self.free: list = []

    def start(self, tensor):
        import torch

        buffer = next((b for b in self.free if b.shape == tensor.shape and b.dtype == tensor.dtype), None)
        if buffer is None:
            buffer = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
        else:
            self.free.remove(buffer)
        buffer.copy_(tensor, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        return buffer, event

    def arrived(self, copy) -> bool:
        return copy[1].query()

    def take(self, copy) -> np.ndarray:
        buffer, event = copy
        event.synchronize()
        array = buffer.numpy().copy()  # the buffer goes back to be reused
        self.free.append(buffer)
        return array
