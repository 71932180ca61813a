"""The diffusion engine: one loaded model with its LoRAs, on its device. Also Tessera's Python API.

    from desktop.engine.diffusion import DiffusionEngine, DiffusionRequest

    engine = DiffusionEngine.load("~/models/my-sd15")           # a folder, a .safetensors, an HF id
    engine.set_loras(["~/loras/deco.safetensors:0.8"])           # PATH[:WEIGHT], several at once
    tiles = engine.generate(DiffusionRequest("gold damask on navy", repeat="half-drop",
                                             width=768, height=768, seed=7, steps=30))
    tiles[0]["image"]                                            # HxWx3 uint8, seamless
    engine.vary(tiles[0]["image"], request, strength=0.5)        # variations, keeping the repeat
    engine.upscale(tiles[0]["image"], request, factor=2)         # seamless upscale

On CUDA the model runs in float16 (bfloat16 on request), with PyTorch's scaled-dot-product
attention (diffusers' default processor), channels_last, each UNet step replayed as a CUDA
graph (graphs.py), and, when asked, torch.compile (whose kernels the graphs then replay).
Without CUDA it falls back to the CPU, in float32, with a warning. LoRAs attach before the
repeat padding, so their convolutions pad through the repeat too. Heavy imports stay inside.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.engine.diffusion import lora_keys
from desktop.engine.diffusion import loras as lora_files
from desktop.engine.diffusion.families import FAMILY_NAMES
from desktop.engine.diffusion.pipeline import DiffusionRequest, diffusers_quiet, generate, load_pipeline
from desktop.errors import UserError

log = logging.getLogger("tessera.diffusion")
DTYPES = ("float16", "bfloat16", "float32")


@dataclass
class EngineOptions:
    device: str | None = None  # "cuda", "cuda:1", "cpu"; None: CUDA when there is one
    dtype: str | None = None  # float16 | bfloat16 | float32; None: float16 on CUDA, float32 on the CPU
    channels_last: bool = True
    compile: bool | str = False  # torch.compile the UNet (True, or a backend name); the first image pays
    cuda_graphs: bool = True  # on CUDA, replay each UNet step as a CUDA graph (see graphs.py), compiled or not
    config: str | None = None  # single-file checkpoints: a diffusers config folder (default: the bundled one)


def resolve_device(options: EngineOptions) -> tuple[str, str, list[str]]:
    """(device, dtype, warnings) for these options on this machine."""
    import torch

    warnings: list[str] = []
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        warnings.append("No CUDA GPU is available, so this renders on the CPU: expect minutes per image.")
        device = "cpu"
    elif device == "cpu" and options.device is None:
        warnings.append("No CUDA GPU found: rendering on the CPU, which takes minutes per image.")
    dtype = options.dtype or ("float16" if device.startswith("cuda") else "float32")
    if dtype not in DTYPES:
        raise UserError(f"unknown precision '{dtype}' (choose one of {', '.join(DTYPES)})")
    if device == "cpu" and dtype == "float16":
        warnings.append("float16 is for GPUs; the CPU renders in float32.")
        dtype = "float32"
    if device.startswith("cuda") and dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        warnings.append("This GPU has no bfloat16; rendering in float16.")
        dtype = "float16"
    return device, dtype, warnings


def _current_hash(entry: Any) -> Any:
    """The entry with its files' sha256 as they are now, so provenance names the weights that drew."""
    from desktop.config import resolve_paths
    from desktop.engine.diffusion.registry import ModelRegistry, up_to_date

    try:
        fresh = ModelRegistry(resolve_paths().config_dir / "models.json").refresh(entry)
    except UserError as exc:  # a damaged or locked list: the hash is still right, just not written back
        log.warning("%s", exc)
        fresh = up_to_date(entry)
    if fresh.sha256 != entry.sha256 and entry.sha256:
        log.warning("%s changed since it was added; its sha256 is now %s", entry.name, fresh.sha256[:12])
    return fresh


class DiffusionEngine:
    """A loaded pipeline and what was done to it: device, precision, LoRAs."""

    def __init__(self, pipe: Any, family: str = "sd15", name: str = "", model_hash: str = "",
                 device_warnings: list[str] | None = None):
        self.pipe = pipe
        self.family = family
        self.name = name
        self.model_hash = model_hash
        self.loras: list[lora_files.LoraSpec] = []
        self.warnings = list(device_warnings or [])
        self.compiled = False

    # loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, model: Any, options: EngineOptions | None = None) -> DiffusionEngine:
        """Load a model: a registry entry or name, a diffusers folder, a single-file checkpoint, an HF id."""
        from desktop.engine.diffusion.registry import ModelEntry, ModelRegistry, available, describe_location

        options = options or EngineOptions()
        if isinstance(model, ModelEntry):
            entry = model
        else:
            text = str(model)
            path = Path(text).expanduser()
            if path.exists() or "/" in text or text.endswith((".safetensors", ".ckpt")):
                entry = describe_location(text)
            else:
                from desktop.config import resolve_paths

                entry = ModelRegistry(resolve_paths().config_dir / "models.json").get(text)
        if not available(entry):
            raise UserError(f"the files of the model {entry.name} are gone from {entry.location}; add it again "
                            "from where it now is (Generate ▸ Models…, or 'tessera models add')")
        entry = _current_hash(entry)
        device, dtype, warnings = resolve_device(options)
        for message in warnings:
            log.warning(message)
        _quiet_loaders()
        if entry.kind == "single-file":
            from desktop.engine.diffusion.single_file import load_single_file

            pipe = load_single_file(entry, device=device, dtype=dtype, config=options.config)
        else:
            if entry.trusted_pickle:  # a folder with pickle weights: trusted when added, and unchanged since
                from desktop.engine.diffusion.registry import verify_trusted_pickle

                verify_trusted_pickle(entry)
            pipe = load_pipeline(entry.location, device=device, dtype=dtype, trust_pickle=entry.trusted_pickle)
        engine = cls(pipe, entry.family, entry.name, entry.sha256, warnings)
        engine._tune(device, options)
        engine.use_taesd()
        return engine

    def use_taesd(self, location: str | None = None) -> bool:
        """Preview through TAESD when its weights are found (else the linear latent factors)."""
        from desktop.engine.diffusion.previews import TaesdPreview, find_taesd

        if location is None:
            from desktop.config import resolve_paths

            location = find_taesd(self.family, resolve_paths().data_dir)
        if location is None:
            return False
        try:
            self.pipe._tessera_previewer = TaesdPreview(location, self.pipe.device, self.pipe.unet.dtype)
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("TAESD at %s could not be loaded (%s); previews use the latent factors", location, exc)
            return False
        return True

    def _tune(self, device: str, options: EngineOptions) -> None:
        import torch

        if device.startswith("cuda") and options.channels_last:
            self.pipe.unet.to(memory_format=torch.channels_last)
        if options.compile:
            backend = options.compile if isinstance(options.compile, str) else "inductor"
            self.pipe.unet = torch.compile(self.pipe.unet, backend=backend, fullgraph=False)
            self.compiled = True
        if device.startswith("cuda") and options.cuda_graphs:
            # compiled too: the compiled kernels are recorded once a shape has compiled (its first
            # call) and warmed (the recording's own warm-up), as torch.compile's reduce-overhead does
            self.use_graphs()

    def use_graphs(self, capture=None):
        """Replay the UNet's steps as graphs (CUDA's, unless `capture` stands in for them)."""
        from desktop.engine.diffusion import graphs
        from desktop.engine.diffusion.padding import padding_state

        unet = self.pipe.unet
        if getattr(unet, "_hf_hook", None) is not None:  # offloaded weights move between steps
            return None
        return graphs.attach(unet, capture, state=lambda: padding_state(unet))

    @property
    def attention(self) -> str:
        """Which attention the UNet runs: 'sdpa' for PyTorch's fused kernels."""
        procs = {type(p).__name__ for p in self.pipe.unet.attn_processors.values()}
        return "sdpa" if procs and all("2_0" in name for name in procs) else ", ".join(sorted(procs))

    # LoRAs -----------------------------------------------------------------------------------
    def set_loras(self, specs: list[lora_files.LoraSpec | str]) -> list[lora_files.LoraSpec]:
        """Attach these LoRAs (replacing any attached before), each at its own weight."""
        resolved = [s if isinstance(s, lora_files.LoraSpec) else lora_files.resolve(s) for s in specs]
        lora_files.check_families(self.family, resolved)
        if len(resolved) > lora_files.MAX_LORAS:
            raise UserError(f"at most {lora_files.MAX_LORAS} LoRAs at once")
        names = [f"lora{k}_{spec.sha256[:8]}" for k, spec in enumerate(resolved)]
        self._weights_changed()  # before any change, so a failure halfway cannot leave a stale graph
        if self.loras:
            self.pipe.unload_lora_weights()
            self.loras = []
        for name, spec in zip(names, resolved):
            model = FAMILY_NAMES.get(self.family, self.family)
            try:
                # diffusers reads its own files (their metadata carries the LoRA's alpha); kohya, A1111,
                # LoCon and peft tensors are placed on this model's own layers first
                state = (str(spec.path) if spec.layout == "diffusers"
                         else lora_keys.to_diffusers(lora_files.read_state(spec), self.pipe, spec.name, model))
                with diffusers_quiet(logging.CRITICAL):  # it logs every mismatched layer; one sentence says it
                    self.pipe.load_lora_weights(state, adapter_name=name)
            except UserError:
                self.pipe.unload_lora_weights()
                raise
            except (ValueError, KeyError, RuntimeError) as exc:
                self.pipe.unload_lora_weights()
                log.debug("LoRA %s did not load: %s", spec.path, exc)
                sizes = "size mismatch" in str(exc)
                raise UserError(f"{spec.name} does not fit this {model} model"
                                + (": its layers have other sizes, so it was made for another kind of model"
                                   if sizes else f" ({str(exc).splitlines()[0][:200]})")) from None
        if resolved:
            self.pipe.set_adapters(names, adapter_weights=[spec.weight for spec in resolved])
        self.loras = resolved
        return resolved

    def _weights_changed(self) -> None:
        """A recorded step holds the old LoRAs (their weights are numbers in it): record again."""
        from desktop.engine.diffusion.graphs import graphed

        recorded = graphed(self.pipe.unet)
        if recorded is not None:
            recorded.invalidate()

    def provenance(self) -> dict[str, Any]:
        return {"model": self.name, "model_hash": self.model_hash, "model_family": self.family,
                "loras": [spec.as_dict() for spec in self.loras]}

    def _with_triggers(self, request: DiffusionRequest) -> DiffusionRequest:
        from dataclasses import replace

        prompt = lora_files.prompt_with_triggers(request.prompt, self.loras)
        return replace(request, prompt=prompt, family=self.family)

    def _finish(self, results: list[dict[str, Any]], request: DiffusionRequest) -> list[dict[str, Any]]:
        for result in results:
            result["prompt"] = request.prompt
            result["warnings"] = [*self.warnings, *result.get("warnings", [])]
        return results

    # rendering -------------------------------------------------------------------------------
    def generate(self, request: DiffusionRequest, ctx=None, latents=None) -> list[dict[str, Any]]:
        request = self._with_triggers(request)
        return self._finish(generate(self.pipe, request, ctx, latents=latents), request)

    def vary(self, image: np.ndarray, request: DiffusionRequest, strength: float = 0.5,
             ctx=None) -> list[dict[str, Any]]:
        """Variations of a tile: img2img at `strength`, with the repeat padding on."""
        from desktop.engine.diffusion.img2img import vary

        request = self._with_triggers(request)
        return self._finish(vary(self.pipe, image, request, strength, ctx), request)

    def upscale(self, image: np.ndarray, request: DiffusionRequest, factor: float = 2.0, strength: float = 0.3,
                ctx=None) -> list[dict[str, Any]]:
        """A seamless upscale: a wrap-padded resize, then an img2img refine with the repeat padding."""
        from desktop.engine.diffusion.img2img import upscale

        request = self._with_triggers(request)
        return self._finish(upscale(self.pipe, image, request, factor, strength, ctx), request)

    def inpaint(self, image: np.ndarray, mask: np.ndarray, request: DiffusionRequest, strength: float = 1.0,
                ctx=None) -> list[dict[str, Any]]:
        """Repaint where `mask` is set, with the repeat padding on (so a mask may cross the wrap)."""
        from dataclasses import replace

        from desktop.engine.diffusion.pipeline import generate as run

        h, w = image.shape[:2]
        request = self._with_triggers(replace(request, width=w, height=h))
        return self._finish(run(self.pipe, request, ctx, init_image=image, strength=strength, mask=mask), request)

    def repair_seam(self, image: np.ndarray, request: DiffusionRequest, band: int | None = None,
                    strength: float = 0.8, ctx=None) -> np.ndarray:
        """Mend the wrap seams with the diffusion inpainter: repaint a band along the tile's edges.

        With the repeat padding on, the model sees across each seam, so it paints the band as
        one piece with the tile's neighbours; the result is blended back with a ramp that is
        symmetric about the seam, so what lies outside the band is kept exactly and the tile
        still wraps.
        """
        from desktop.repeat import Repeat

        if request.repeat is Repeat.MIRROR:
            return image.copy()  # a mirror repeat meets itself at every edge
        h, w = image.shape[:2]
        band = band or max(4, min(w, h) // 16)
        ramp = seam_ramp(h, w, band)
        painted = self.inpaint(image, ramp > 0, request, strength, ctx)[0]["image"].astype(np.float32)
        out = image[..., :3].astype(np.float32) * (1 - ramp[..., None]) + painted * ramp[..., None]
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _quiet_loaders() -> None:
    """No progress bars of diffusers' and transformers' own on the terminal: the job's progress
    (the window's bar, the command line's own) is the one that tells."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def seam_ramp(h: int, w: int, band: int) -> np.ndarray:
    """1 at the tile's edges (the seams), falling to 0 at `band` pixels in; symmetric about each seam."""
    ys, xs = np.arange(h), np.arange(w)
    dy = np.minimum(ys, h - 1 - ys)[:, None].astype(np.float32)
    dx = np.minimum(xs, w - 1 - xs)[None, :].astype(np.float32)
    d = np.minimum(dx, dy)
    return np.clip((band - d) / max(1.0, band / 2), 0.0, 1.0)
