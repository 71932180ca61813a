"""Generation requests and the function a generate Job runs.

A request is validated completely before anything is drawn or written, so bad input
never leaves half a batch behind; each PNG is written atomically.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from desktop import __version__
from desktop.engine import procedural
from desktop.engine.images import save_png, to_uint8
from desktop.errors import UserError
from desktop.jobs import JobCancelled, PartContext
from desktop.palettes import DEFAULT_PALETTE, Palette, parse_palette
from desktop.repeat import Repeat, check_size, parse_repeat

MAX_COUNT = 1000


DEVICE = re.compile(r"|cpu|cuda(:\d+)?")


@dataclass
class ModelSettings:
    """What a diffusion model needs beyond the brief's words: which model, its LoRAs, how it samples,
    and which axes wrap. The procedural engine reads none of it."""

    model: str = ""  # engine "diffusion": a registered model's name, a model path or a Hugging Face id
    loras: list[str] = field(default_factory=list)  # "PATH[:WEIGHT]"
    steps: int = 30
    guidance: float = 7.0
    scheduler: str = "ddim"
    tiling: str = "xy"  # "x" or "y": wrap one axis only (basic repeat)


@dataclass
class Machine:
    """How this machine renders: the Settings dialog's (or the command's flags), never a brief's."""

    device: str = ""  # cpu | cuda | cuda:N; "" = CUDA when there is one
    precision: str = ""  # float16 | bfloat16 | float32; "" = the device's default
    batch_size: int = 1
    compile: bool = False  # torch.compile the UNet (worth it for long batches on a GPU)

    @classmethod
    def from_settings(cls, settings) -> Machine:
        """This machine's part from the app's Settings ("auto" is the default, "")."""
        return cls(device="" if settings.device == "auto" else settings.device,
                   precision="" if settings.precision == "auto" else settings.precision,
                   batch_size=max(1, int(settings.batch_size)), compile=bool(settings.compile_unet))


PARTS = {"diffusion": ModelSettings, "machine": Machine}


@dataclass
class GenerateRequest:
    """What to generate, in three parts: what the brief says (these fields, with this run's seed,
    output and source image), what a diffusion model needs (`diffusion`) and what this machine uses
    (`machine`). The repeat is parsed once, here. Plain data: `flat()` and `from_dict` are its JSON,
    one level deep as saved briefs and older jobs wrote it."""

    style: str = "stripes"
    params: dict[str, Any] = field(default_factory=dict)
    repeat: Repeat = Repeat.BASIC
    width: int = 1024
    height: int = 1024
    palette: str = DEFAULT_PALETTE  # a palette name or "#hex,#hex,..."; "" with a source: none (no palette check)
    seed: int = 0
    count: int = 1
    out_dir: str | None = None  # None: keep the tiles in memory only
    engine: str = "procedural"  # or "diffusion" (with diffusion.model), or a registered model's name
    dpi: int = 150
    qa_profile: str = "default"
    qa_overrides: dict[str, Any] = field(default_factory=dict)  # a brief's own thresholds
    auto_correct: bool = False  # retry failed tiles: mend, recolour or reseed
    max_attempts: int = 4
    prompt: str = ""
    negative_prompt: str = ""
    # start from an image: variations (a diffusion model, at `strength`) or an upscale by `upscale` x
    source: str = ""  # the image's path
    parent_id: int | None = None  # its library id, when it came from the library
    strength: float = 0.5
    upscale: float = 0.0  # 0: off
    diffusion: ModelSettings = field(default_factory=ModelSettings)
    machine: Machine = field(default_factory=Machine)

    def __post_init__(self) -> None:
        self.repeat = parse_repeat(self.repeat)  # an unknown name is bad input, said in one sentence

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> GenerateRequest:
        """A request from its JSON: flat (a saved brief, an older job) or with its parts nested;
        names it does not know are passed over."""
        own = {f.name for f in dataclasses.fields(cls)} - set(PARTS)
        parts = {}
        for name, part in PARTS.items():
            names = {f.name for f in dataclasses.fields(part)}
            nested = raw.get(name) if isinstance(raw.get(name), dict) else {}
            parts[name] = part(**{k: v for k, v in {**raw, **nested}.items() if k in names})
        return cls(**{k: v for k, v in raw.items() if k in own}, **parts)

    def flat(self) -> dict[str, Any]:
        """Every field by its own name, the parts' too: the request as saved briefs and the command
        line name its settings."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in PARTS}
        for name in PARTS:
            out.update(dataclasses.asdict(getattr(self, name)))
        out["repeat"] = self.repeat.value
        return out

    def with_flat(self, **changes: Any) -> GenerateRequest:
        """A copy with these fields changed, whichever part holds them."""
        return GenerateRequest.from_dict({**self.flat(), **changes})

    def validated(self) -> ValidRequest:
        """Check everything up front; raises UserError with one clear sentence."""
        if self.source:
            return _validated_from_source(self)
        repeat, settings, machine = parse_repeat(self.repeat), self.diffusion, self.machine  # (set since, maybe)
        check_size(repeat, int(self.width), int(self.height))
        model, loras = None, []
        if self.engine != "procedural":
            from desktop.engine.diffusion import loras as lora_files
            from desktop.engine.diffusion.families import check_model_size
            from desktop.engine.diffusion.metadata import scheduler_key
            from desktop.engine.diffusion.padding import check_axes
            from desktop.engine.diffusion.pipeline import SCHEDULERS

            if not DEVICE.fullmatch(machine.device):
                raise UserError(f"unknown device '{machine.device}' (choose auto, cpu, cuda or cuda:N)")
            model = find_model(settings.model if self.engine == "diffusion" else self.engine)
            loras = [lora_files.resolve(text) for text in settings.loras]
            lora_files.check_families(model.family, loras)
            check_axes(repeat, settings.tiling)
            if not 1 <= int(machine.batch_size) <= 64:
                raise UserError(f"batch size must be between 1 and 64, not {machine.batch_size}")
            if machine.precision and machine.precision not in ("float16", "bfloat16", "float32"):
                raise UserError(f"unknown precision '{machine.precision}' (float16, bfloat16 or float32)")
            if not self.prompt.strip():
                raise UserError("a diffusion model needs a prompt")
            if int(self.width) % 8 or int(self.height) % 8:
                raise UserError("diffusion sizes must be multiples of 8")
            check_model_size(model.family, model.location, repeat, int(self.width), int(self.height))
            if scheduler_key(settings.scheduler) not in SCHEDULERS:  # a key, or A1111's name ("Euler a")
                raise UserError(f"unknown scheduler '{settings.scheduler}' (choose one of {', '.join(SCHEDULERS)}, "
                                "or A1111's name for one)")
            if not 1 <= int(settings.steps) <= 200:
                raise UserError(f"steps must be between 1 and 200, not {settings.steps}")
        style = procedural.get_style(self.style)
        params = style.resolve(self.params)
        for path in image_inputs(params).values():
            from desktop.engine.images import open_image

            # a clear error for a missing file or one that is not an image, from its header alone
            # (this runs when Generate is pressed: a 24 MP photo's decode would hold the window)
            open_image(path, header_only=True)
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
        notes = style.notes(params, palette.array()) if style.notes is not None and model is None else []
        variants = procedural.variants.variant_count(style.name, self.params, len(palette.colors)) if model is None else None
        if variants is not None and int(self.count) > variants:  # "Count 8" of a style with fewer designs
            notes.append(f"{style.label} has only {variants} design{'s' if variants != 1 else ''} for this brief "
                         f"(its options as set and the palette's {len(palette.colors)} colours): the tiles after the "
                         f"first {variants} repeat them; ask for fewer, or leave more of its options at their defaults")
        return ValidRequest(self, style, params, repeat, palette, model, tuple(loras), notes=notes)


def _validated_from_source(req: GenerateRequest) -> ValidRequest:
    """A variation or an upscale: the size comes from the source image (x the upscale factor)."""
    from desktop.engine.images import load_rgb

    source = load_rgb(req.source)  # a clear error for a missing, damaged or non-image file
    h, w = source.shape[:2]
    if req.upscale:
        from desktop.engine.diffusion.img2img import upscaled_size

        w, h = upscaled_size(w, h, float(req.upscale))
    elif req.engine == "procedural":
        raise UserError("variations need a diffusion model (--engine diffusion --model ...); "
                        "without one, Tessera can upscale (--upscale 2)")
    if not 0.0 <= float(req.strength) <= 1.0:
        raise UserError(f"strength must be between 0 and 1, not {req.strength}")
    if req.engine != "procedural" and (w % 8 or h % 8):
        raise UserError(f"{Path(req.source).name} is {w}x{h}; diffusion needs sides that are multiples of 8")
    count = 1 if req.upscale else req.count
    inner = dataclasses.replace(req, source="", width=w, height=h, count=count, palette=req.palette or DEFAULT_PALETTE)
    valid = inner.validated()
    return dataclasses.replace(valid, request=dataclasses.replace(inner, source=req.source, palette=req.palette),
                               source_image=source, palette=valid.palette if req.palette else None)


def find_model(name_or_location: str):
    """A registered model by name, else a model folder, single file or Hugging Face id."""
    from desktop.config import resolve_paths
    from desktop.engine.diffusion.registry import ModelRegistry, describe_location

    if not name_or_location.strip():
        raise UserError("the diffusion engine needs a model: --model NAME|PATH|ID (see 'tessera models list')")
    registry = ModelRegistry(resolve_paths().config_dir / "models.json")
    if any(e.name == name_or_location for e in registry.entries()):
        return registry.get(name_or_location)
    if Path(name_or_location).expanduser().exists() or "/" in name_or_location:
        return describe_location(name_or_location)
    return registry.get(name_or_location)  # says "no model called ..."


@dataclass(frozen=True)
class ValidRequest:
    request: GenerateRequest
    style: procedural.Style
    params: dict[str, Any]
    repeat: Repeat
    palette: Palette | None
    model: Any = None  # a registry ModelEntry for diffusion engines
    loras: tuple = ()  # resolved LoraSpecs
    source_image: np.ndarray | None = None  # variations and upscales start from it
    warnings: list = field(default_factory=list)  # what the engine warned of (CPU fallback, memory)
    notes: list = field(default_factory=list)  # what the style made of the brief (a sett's letters' colours)


@dataclass
class Tile:
    """One generated tile: the pixels (uint8 RGB), where it was written, and its facts."""

    image: np.ndarray
    metadata: dict[str, Any]
    path: str | None = None

    def summary(self) -> dict[str, Any]:
        return {"path": self.path, **self.metadata}


def tile_metadata(valid: ValidRequest, seed: int, elapsed_s: float) -> dict[str, Any]:
    meta = _base_metadata(valid, seed, elapsed_s)
    req = valid.request
    if valid.source_image is not None:
        meta["mode"] = "upscale" if req.upscale else "variation"
        meta["source_image"] = {"path": os.path.abspath(req.source), "sha256": _sha256(req.source)}
        meta["parents"] = [req.parent_id] if req.parent_id is not None else []
        if valid.model is not None:
            meta["strength"] = float(req.strength)
        else:  # a resize through the repeat: no style drew it
            meta.pop("style", None), meta.pop("params", None)
            meta["engine"] = "resize"
        if req.upscale:
            meta["upscale"] = float(req.upscale)
    elif req.parent_id is not None:  # drawn from a library pattern (a kaleidoscope of its file)
        meta["parents"] = [req.parent_id]
    return meta


def image_inputs(params: dict[str, Any]) -> dict[str, str]:
    """The image files a style's options name (a motif, a kaleidoscope's image): option -> path."""
    return {name: value for name, value in params.items() if name.endswith("_path") and value}


def _inputs(params: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each image file a style read, as the tile's provenance names it: its path and sha256."""
    out = {}
    for name, path in image_inputs(params).items():
        stat = os.stat(path)
        out[name] = {"path": os.path.abspath(path), "sha256": _file_sha256(os.path.abspath(path), stat.st_size,
                                                                           stat.st_mtime_ns)}
    return out


@lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's sha256, taken once for each version of it (a batch names one photo on every tile)."""
    return _sha256(path)


def _sha256(path: str) -> str:
    import hashlib

    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def _base_metadata(valid: ValidRequest, seed: int, elapsed_s: float) -> dict[str, Any]:
    req = valid.request
    if valid.model is not None:
        from desktop.engine.diffusion.loras import prompt_with_triggers
        from desktop.engine.diffusion.metadata import scheduler_key

        model = valid.model
        used = prompt_with_triggers(req.prompt, list(valid.loras))
        return {
            "tessera": __version__, "engine": "diffusion", "model": model.name, "model_hash": model.sha256,
            "model_family": model.family, "prompt": req.prompt, "negative_prompt": req.negative_prompt,
            **({"prompt_used": used} if used != req.prompt else {}),
            "steps": int(req.diffusion.steps), "cfg": float(req.diffusion.guidance),
            "scheduler": scheduler_key(req.diffusion.scheduler), "repeat": valid.repeat.value,
            "size": [int(req.width), int(req.height)], "seed": int(seed),
            "palette": valid.palette.as_dict() if valid.palette else {}, "dpi": int(req.dpi), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "render_ms": round(elapsed_s * 1000, 1),
            "loras": [spec.as_dict() for spec in valid.loras],
            **({"tiling": req.diffusion.tiling} if req.diffusion.tiling != "xy" else {}),
        }
    return {
        "tessera": __version__,
        "engine": req.engine,
        "style": valid.style.name,
        "params": procedural.design(valid.style, valid.request.params, valid.palette, seed)[0] if valid.palette
        else valid.params,  # the seed's variant of the design, as drawn
        **({"inputs": inputs} if (inputs := _inputs(valid.params)) else {}),
        "repeat": valid.repeat.value,
        "size": [int(req.width), int(req.height)],
        "seed": int(seed),
        "palette": valid.palette.as_dict() if valid.palette else {},
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


def run_generate(request: GenerateRequest, ctx=None, similar=None) -> list[Tile]:
    """Render `count` tiles (seeds seed, seed+1, ...), writing them if `out_dir` is set.

    `ctx` is a jobs.JobContext (progress, preview, cancel) or None. `similar`, a QA
    SimilarityProvider (the library's), lets QA fail a tile that is a library pattern's design
    (and the self-correcting loop try another seed); without it that check is skipped.
    """
    valid = request.validated()
    request = valid.request  # with the size and count a source image implies
    out = Path(request.out_dir) if request.out_dir is not None else None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the output folder {out}: {exc.strerror or exc}") from None
    total = int(request.count) * 100
    tiles: list[Tile] = []
    batched: dict[int, np.ndarray] = {}
    if (valid.model is not None and valid.source_image is None and int(request.machine.batch_size) > 1
            and not request.auto_correct):
        # every image first, batch_size per UNet call (most of the bar); then QA each
        batched = _diffuse_batch(valid, None if ctx is None else PartContext(
            ctx, lambda fraction, detail: ctx.progress(int(fraction * total * 0.95), total, detail)))
    try:
        _render_all(valid, request, out, total, batched, tiles, ctx, similar)
    except JobCancelled:
        if tiles:  # a stop keeps the tiles already made (and written)
            raise JobCancelled(partial=tiles) from None
        raise
    return tiles


def _share(k: int, fraction: float, total: int, batched: bool) -> int:
    """Where tile k's progress puts the bar: its own 1/count share, or, after a batched render
    (which filled the first 95 %), its share of the last 5 % (QA and writing)."""
    count = total // 100
    if batched:
        return int(total * 0.95 + (k + fraction) * total * 0.05 / count)
    return int((k + fraction) * 100)


def _render_all(valid: ValidRequest, request: GenerateRequest, out: Path | None, total: int,
                batched: dict[int, np.ndarray], tiles: list[Tile], ctx, similar=None) -> None:
    for k in range(int(request.count)):
        seed = int(request.seed) + k
        label = valid.model.name if valid.model is not None else valid.style.label
        message = f"{label} {k + 1} of {request.count}"

        def progress(fraction: float, detail: str | None = None, k=k, message=message) -> None:
            if ctx is not None:
                ctx.progress(_share(k, fraction * 0.95, total, bool(batched)), total,
                             f"{message} · {detail}" if detail else message)

        progress(0.0, "loading the model" if valid.model is not None and not engine_loaded(valid) else None)
        start = time.perf_counter()
        pixels, final_seed, qa_meta = _render_checked(valid, seed, progress, None if ctx is None else
                                                      PartContext(ctx, progress), batched.get(seed), similar)
        meta = tile_metadata(valid, final_seed, time.perf_counter() - start)
        meta.update(qa_meta)
        if valid.warnings:
            meta["warnings"] = list(valid.warnings)
        if valid.notes:
            meta["notes"] = list(valid.notes)
        if final_seed != seed:
            meta["requested_seed"] = seed
        tile = Tile(pixels, meta)
        if (remember := getattr(similar, "remember", None)) is not None:
            remember(pixels)  # the batch's later tiles are compared with it too
        if out is not None:
            stem = valid.model.name if valid.model is not None else valid.style.name
            if valid.source_image is not None:
                stem = f"{Path(request.source).stem}-{'x' + format(request.upscale, 'g') if request.upscale else 'var'}"
            path = _free_name(out, f"{stem}-{valid.repeat}-{request.width}x{request.height}-s{seed}")
            text = {"Software": f"Tessera {__version__}"}
            if valid.model is not None:
                from desktop.engine.diffusion.metadata import a1111_parameters, sampler_name

                text["parameters"] = a1111_parameters(
                    meta.get("prompt_used", request.prompt), request.negative_prompt, steps=request.diffusion.steps,
                    sampler=sampler_name(request.diffusion.scheduler),
                    cfg=request.diffusion.guidance, seed=meta["seed"], width=request.width, height=request.height,
                    model_hash=valid.model.sha256, model=valid.model.name, version=f"Tessera {__version__}",
                    loras=[{"name": s.name, "sha256": s.a1111_hash} for s in valid.loras])
            try:
                save_png(path, pixels, meta, text=text, dpi=int(request.dpi))
            except OSError as exc:
                raise UserError(f"could not write {path}: {exc.strerror or exc}") from None
            tile.path = os.fspath(path)
        tiles.append(tile)
        if ctx is not None:
            ctx.preview(pixels)
            ctx.progress(_share(k, 1.0, total, bool(batched)), total, message)


def _render_checked(valid: ValidRequest, seed: int, progress, ctx, rendered: np.ndarray | None = None,
                    similar=None) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Render (unless already `rendered`) and QA one tile; with auto-correct, run the self-correcting loop."""
    from desktop.engine.qa import run_qa
    from desktop.engine.qa.loop import self_correct

    req = valid.request

    def generate(s: int, settings: dict) -> np.ndarray:
        if valid.source_image is not None:
            return _from_source(valid, s, float(settings.get("guidance_scale", req.diffusion.guidance)), ctx)
        if valid.model is not None:
            return _diffuse(valid, s, float(settings.get("guidance_scale", req.diffusion.guidance)), ctx)
        image = procedural.render(valid.style, req.params, valid.repeat, int(req.width), int(req.height),
                                  valid.palette, s, progress)  # the brief's own options: the seed varies the rest
        return to_uint8(image)

    from desktop.engine.qa.report import merge

    overrides = merge({}, req.qa_overrides)
    if valid.model is None and valid.style.family == "noise":
        overrides = merge(overrides, {"sharpness": {
            "skip_reason": f"Soft by design: {valid.style.label} is made of smooth gradients."}})
    unused = procedural.palette_unused(valid.style.name, valid.params) if valid.model is None else None
    if unused:  # a check the tile cannot meet by design: skipped, with the reason
        overrides = merge(overrides, {"palette": {"skip_reason": unused}})

    def qa(image: np.ndarray):
        return run_qa(image, valid.repeat, valid.palette, req.qa_profile, overrides, provider=similar)

    if not req.auto_correct:
        pixels = rendered if rendered is not None else generate(seed, {})
        report = qa(pixels)
        return pixels, seed, {"qa": report.as_dict()}
    mend = None
    if valid.model is not None:
        engine, request = diffusion_engine(valid), diffusion_request(valid, seed)
        mend = (lambda image: engine.repair_seam(image, request, ctx=ctx),
                "mended the seam with the diffusion inpainter")
    result = self_correct(generate, qa, seed, valid.repeat, valid.palette, int(req.max_attempts),
                          can_guide=valid.model is not None,
                          check_cancelled=ctx.check_cancelled if ctx is not None else None, mend_seam=mend)
    return result.image, result.seed, {"qa": result.report.as_dict(),
                                       "attempts": [a.as_dict() for a in result.attempts]}


_ENGINES: dict[tuple, Any] = {}  # loaded diffusion engines, by model, device, precision and compile


def _engine_key(valid: ValidRequest) -> tuple:
    """Which loaded engine serves this request: a model's files replaced in place (another stamp)
    load again, so the tiles and their provenance come from the weights now on disk."""
    from desktop.engine.diffusion.registry import available, fingerprint

    model, req = valid.model, valid.request
    stamp = tuple(fingerprint(model.location)) if model.kind != "hf-id" and available(model) else ()
    return (model.location, stamp, req.machine.device, req.machine.precision, bool(req.machine.compile))


def release_engines() -> None:
    """Forget the loaded engines and hand their memory back, before another model loads beside them
    (a recorded UNet step refers back to its UNet, so only the cycle collector frees it)."""
    if not _ENGINES:
        return
    from desktop.engine.diffusion.pipeline import collect_memory

    _ENGINES.clear()
    collect_memory()


def engine_loaded(valid: ValidRequest) -> bool:
    return _engine_key(valid) in _ENGINES


def diffusion_engine(valid: ValidRequest):
    """The loaded engine for this request's model (loading is slow, so engines are kept), its LoRAs set."""
    from desktop.engine.diffusion.engine import DiffusionEngine, EngineOptions

    model, req = valid.model, valid.request
    key = _engine_key(valid)
    if key not in _ENGINES:
        release_engines()  # one model in memory at a time
        options = EngineOptions(device=req.machine.device or None, dtype=req.machine.precision or None, compile=bool(req.machine.compile))
        _ENGINES[key] = DiffusionEngine.load(model, options)
    engine = _ENGINES[key]
    if [(s.sha256, s.weight) for s in engine.loras] != [(s.sha256, s.weight) for s in valid.loras]:
        engine.set_loras(list(valid.loras))
    return engine


def diffusion_request(valid: ValidRequest, seed: int, guidance: float | None = None, count: int = 1,
                      batch_size: int = 1):
    """The engine's request for this generate request, at one seed (and guidance, when the loop changed it)."""
    from desktop.engine.diffusion.metadata import scheduler_key
    from desktop.engine.diffusion.pipeline import DiffusionRequest

    req = valid.request
    return DiffusionRequest(req.prompt, req.negative_prompt, valid.repeat, int(req.width), int(req.height),
                            int(req.diffusion.steps), float(req.diffusion.guidance if guidance is None else guidance), int(seed), count,
                            scheduler_key(req.diffusion.scheduler), valid.model.family, axes=req.diffusion.tiling, batch_size=batch_size)


def _diffuse(valid: ValidRequest, seed: int, guidance: float, ctx) -> np.ndarray:
    engine = diffusion_engine(valid)
    return _noted(valid, engine.generate(diffusion_request(valid, seed, guidance), ctx))[0]["image"]


def _noted(valid: ValidRequest, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for result in results:
        valid.warnings.extend(w for w in result.get("warnings", []) if w not in valid.warnings)
    return results


def _from_source(valid: ValidRequest, seed: int, guidance: float, ctx) -> np.ndarray:
    """A variation of the source image, or its upscale (resize only without a model)."""
    from desktop.engine.diffusion.img2img import wrap_resize

    req = valid.request
    if valid.model is None:
        return wrap_resize(valid.source_image, valid.repeat, int(req.width), int(req.height))
    engine, request = diffusion_engine(valid), diffusion_request(valid, seed, guidance)
    if req.upscale:
        return _noted(valid, engine.upscale(valid.source_image, request, float(req.upscale), float(req.strength),
                                            ctx))[0]["image"]
    return _noted(valid, engine.vary(valid.source_image, request, float(req.strength), ctx))[0]["image"]


def _diffuse_batch(valid: ValidRequest, ctx) -> dict[int, np.ndarray]:
    """Every seed's image, rendered batch_size at a time (for requests without auto-correct)."""
    req = valid.request
    request = diffusion_request(valid, int(req.seed), count=int(req.count), batch_size=int(req.machine.batch_size))
    return {r["seed"]: r["image"] for r in _noted(valid, diffusion_engine(valid).generate(request, ctx))}


def request_from_dict(raw: dict[str, Any]) -> GenerateRequest:
    return GenerateRequest.from_dict(raw)
