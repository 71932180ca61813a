"""Generation requests and the function a generate Job runs.

A request is validated completely before anything is drawn or written, so bad input
never leaves half a batch behind; each PNG is written atomically.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop import __version__
from desktop.engine import procedural
from desktop.engine.images import save_png, to_uint8
from desktop.errors import UserError
from desktop.palettes import Palette, parse_palette
from desktop.repeat import check_size, parse_repeat

MAX_COUNT = 1000


@dataclass
class GenerateRequest:
    """What to generate. Plain data: it serialises to JSON and back."""

    style: str = "stripes"
    params: dict[str, Any] = field(default_factory=dict)
    repeat: str = "basic"
    width: int = 1024
    height: int = 1024
    palette: str = "indigo-dye"  # a palette name or "#hex,#hex,..."
    seed: int = 0
    count: int = 1
    out_dir: str | None = None  # None: keep the tiles in memory only
    engine: str = "procedural"
    dpi: int = 150
    qa_profile: str = "default"
    qa_overrides: dict[str, Any] = field(default_factory=dict)  # a brief's own thresholds
    auto_correct: bool = False  # retry failed tiles: mend, recolour or reseed
    max_attempts: int = 4
    # diffusion engines (engine = a registered model's name)
    prompt: str = ""
    negative_prompt: str = ""
    steps: int = 30
    guidance: float = 7.0
    scheduler: str = "ddim"

    def validated(self) -> ValidRequest:
        """Check everything up front; raises UserError with one clear sentence."""
        repeat = parse_repeat(self.repeat)
        check_size(repeat, int(self.width), int(self.height))
        model = None
        if self.engine != "procedural":
            from desktop.config import resolve_paths
            from desktop.engine.diffusion.pipeline import SCHEDULERS
            from desktop.engine.diffusion.registry import ModelRegistry

            model = ModelRegistry(resolve_paths().config_dir / "models.json").get(self.engine)
            if not self.prompt.strip():
                raise UserError("a diffusion model needs a prompt")
            if int(self.width) % 8 or int(self.height) % 8:
                raise UserError("diffusion sizes must be multiples of 8")
            if self.scheduler not in SCHEDULERS:
                raise UserError(f"unknown scheduler '{self.scheduler}' (choose one of {', '.join(SCHEDULERS)})")
            if not 1 <= int(self.steps) <= 200:
                raise UserError(f"steps must be between 1 and 200, not {self.steps}")
        style = procedural.get_style(self.style)
        params = style.resolve(self.params)
        if params.get("motif_path"):
            from desktop.engine.images import load_rgba

            load_rgba(params["motif_path"])  # raises a clear error for a file that is not an image
        palette = parse_palette(self.palette)
        from desktop.engine.qa import load_profile

        load_profile(self.qa_profile, self.qa_overrides)  # an unknown profile is bad input, reported now
        if not 1 <= int(self.max_attempts) <= 20:
            raise UserError(f"max attempts must be between 1 and 20, not {self.max_attempts}")
        if not 1 <= int(self.count) <= MAX_COUNT:
            raise UserError(f"count must be between 1 and {MAX_COUNT}, not {self.count}")
        if not 0 <= int(self.seed) < 2**63:
            raise UserError(f"seed must be a whole number from 0, not {self.seed}")
        if self.out_dir is not None:
            out = Path(self.out_dir)
            if out.exists() and not out.is_dir():
                raise UserError(f"{out} exists and is not a folder")
        return ValidRequest(self, style, params, repeat.value, palette, model)


@dataclass(frozen=True)
class ValidRequest:
    request: GenerateRequest
    style: procedural.Style
    params: dict[str, Any]
    repeat: str
    palette: Palette
    model: Any = None  # a registry ModelEntry for diffusion engines


@dataclass
class Tile:
    """One generated tile: the pixels (uint8 RGB), where it was written, and its facts."""

    image: np.ndarray
    metadata: dict[str, Any]
    path: str | None = None

    def summary(self) -> dict[str, Any]:
        return {"path": self.path, **self.metadata}


def tile_metadata(valid: ValidRequest, seed: int, elapsed_s: float) -> dict[str, Any]:
    req = valid.request
    if valid.model is not None:
        model = valid.model
        return {
            "tessera": __version__, "engine": "diffusion", "model": model.name, "model_hash": model.sha256,
            "model_family": model.family, "prompt": req.prompt, "negative_prompt": req.negative_prompt,
            "steps": int(req.steps), "cfg": float(req.guidance), "scheduler": req.scheduler,
            "repeat": valid.repeat, "size": [int(req.width), int(req.height)], "seed": int(seed),
            "palette": valid.palette.as_dict(), "dpi": int(req.dpi), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "render_ms": round(elapsed_s * 1000, 1),
        }
    return {
        "tessera": __version__,
        "engine": req.engine,
        "style": valid.style.name,
        "params": valid.params,
        "repeat": valid.repeat,
        "size": [int(req.width), int(req.height)],
        "seed": int(seed),
        "palette": valid.palette.as_dict(),
        "dpi": int(req.dpi),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "render_ms": round(elapsed_s * 1000, 1),
    }


def _free_name(folder: Path, stem: str) -> Path:
    path = folder / f"{stem}.png"
    k = 2
    while path.exists():
        path = folder / f"{stem}-{k}.png"
        k += 1
    return path


def run_generate(request: GenerateRequest, ctx=None) -> list[Tile]:
    """Render `count` tiles (seeds seed, seed+1, ...), writing them if `out_dir` is set.

    `ctx` is a jobs.JobContext (progress, preview, cancel) or None.
    """
    valid = request.validated()
    out = Path(request.out_dir) if request.out_dir is not None else None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    total = int(request.count) * 100
    tiles: list[Tile] = []
    for k in range(int(request.count)):
        seed = int(request.seed) + k
        label = valid.model.name if valid.model is not None else valid.style.label
        message = f"{label} {k + 1} of {request.count}"

        def progress(fraction: float, k=k, message=message) -> None:
            if ctx is not None:
                ctx.progress(k * 100 + int(fraction * 95), total, message)

        progress(0.0)
        start = time.perf_counter()
        pixels, final_seed, qa_meta = _render_checked(valid, seed, progress, ctx)
        meta = tile_metadata(valid, final_seed, time.perf_counter() - start)
        meta.update(qa_meta)
        if final_seed != seed:
            meta["requested_seed"] = seed
        tile = Tile(pixels, meta)
        if out is not None:
            stem = valid.model.name if valid.model is not None else valid.style.name
            path = _free_name(out, f"{stem}-{valid.repeat}-{request.width}x{request.height}-s{seed}")
            text = {"Software": f"Tessera {__version__}"}
            if valid.model is not None:
                from desktop.engine.diffusion.metadata import a1111_parameters

                text["parameters"] = a1111_parameters(
                    request.prompt, request.negative_prompt, steps=request.steps, sampler=request.scheduler,
                    cfg=request.guidance, seed=meta["seed"], width=request.width, height=request.height,
                    model_hash=valid.model.sha256, model=valid.model.name, version=f"Tessera {__version__}")
            try:
                save_png(path, pixels, meta, text=text, dpi=int(request.dpi))
            except OSError as exc:
                raise UserError(f"could not write {path}: {exc.strerror or exc}") from None
            tile.path = os.fspath(path)
        tiles.append(tile)
        if ctx is not None:
            ctx.preview(pixels)
            ctx.progress((k + 1) * 100, total, message)
    return tiles


def _render_checked(valid: ValidRequest, seed: int, progress, ctx) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Render and QA one tile; with auto-correct, run the self-correcting loop on it."""
    from desktop.engine.qa import run_qa
    from desktop.engine.qa.loop import self_correct

    req = valid.request

    def generate(s: int, settings: dict) -> np.ndarray:
        if valid.model is not None:
            return _diffuse(valid, s, float(settings.get("guidance_scale", req.guidance)), ctx)
        image = procedural.render(valid.style, valid.params, valid.repeat, int(req.width), int(req.height),
                                  valid.palette, s, progress)
        return to_uint8(image)

    from desktop.engine.qa.report import merge

    overrides = merge({}, req.qa_overrides)
    if valid.model is None and valid.style.family == "noise":
        overrides = merge(overrides, {"sharpness": {
            "skip_reason": f"Soft by design: {valid.style.label} is made of smooth gradients."}})

    def qa(image: np.ndarray):
        return run_qa(image, valid.repeat, valid.palette, req.qa_profile, overrides)

    if not req.auto_correct:
        pixels = generate(seed, {})
        report = qa(pixels)
        return pixels, seed, {"qa": report.as_dict()}
    result = self_correct(generate, qa, seed, valid.repeat, valid.palette, int(req.max_attempts),
                          can_guide=valid.model is not None,
                          check_cancelled=ctx.check_cancelled if ctx is not None else None)
    return result.image, result.seed, {"qa": result.report.as_dict(),
                                       "attempts": [a.as_dict() for a in result.attempts]}


_PIPELINES: dict[str, Any] = {}  # loaded diffusion pipelines, by model location (loading is slow)


def _diffuse(valid: ValidRequest, seed: int, guidance: float, ctx) -> np.ndarray:
    from desktop.engine.diffusion.pipeline import DiffusionRequest, generate, load_pipeline

    model, req = valid.model, valid.request
    if model.kind == "single-file":
        raise UserError(f"{model.name} is a single-file checkpoint; loading those offline needs the bundled "
                        "model configs, which are not part of Tessera yet. Convert it to a diffusers folder.")
    if model.location not in _PIPELINES:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = "float16" if device == "cuda" else "float32"
        _PIPELINES[model.location] = load_pipeline(model.location, device=device, dtype=dtype)
    request = DiffusionRequest(req.prompt, req.negative_prompt, valid.repeat, int(req.width), int(req.height),
                               int(req.steps), guidance, seed, 1, req.scheduler, model.family)
    return generate(_PIPELINES[model.location], request, ctx)[0]["image"]


def request_from_dict(raw: dict[str, Any]) -> GenerateRequest:
    known = {f.name for f in dataclasses.fields(GenerateRequest)}
    return GenerateRequest(**{k: v for k, v in raw.items() if k in known})
