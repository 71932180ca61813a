"""`tessera generate`: seamless tiles from a style or a model, with a saved brief, QA and the library."""

from __future__ import annotations

import argparse
import os
import sys

from desktop.cli.common import run_as_job
from desktop.errors import UserError
from desktop.palettes import DEFAULT_PALETTE


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    from desktop.repeat import REPEATS

    gen = sub.add_parser("generate", parents=[common], help="generate seamless tiles",
                         description="Generate seamless tiles. Style options go as --NAME VALUE "
                         "(see 'tessera styles') or -p NAME=VALUE.")
    gen.add_argument("--brief", metavar="COLLECTION",
                     help="start from the brief a library collection keeps (Save brief as collection in the "
                          "window); the options given here win over it")
    gen.add_argument("--engine", default="procedural",
                     help="procedural (default); diffusion (with --model); or a model's name from 'tessera models add'")
    gen.add_argument("--model", default="", help="diffusion: a registered model's name, a model folder or "
                     ".safetensors file, or a Hugging Face id")
    gen.add_argument("--prompt", default="", help="diffusion: what to draw")
    gen.add_argument("--negative-prompt", "--negative", default="", help="diffusion: what to avoid")
    gen.add_argument("--lora", action="append", default=[], metavar="PATH[:WEIGHT]",
                     help="diffusion: a style LoRA (.safetensors: kohya, diffusers or peft), repeatable")
    gen.add_argument("--steps", type=int, default=30, help="diffusion: sampling steps (default 30)")
    gen.add_argument("--guidance", "--cfg", type=float, default=7.0, help="diffusion: CFG scale (default 7)")
    gen.add_argument("--scheduler", default="ddim", help="diffusion: ddim, euler, euler-a, dpm++, pndm, or A1111's names for them "
                     "(DDIM, Euler, 'Euler a', 'DPM++ 2M', PLMS)")
    gen.add_argument("--tiling", default="xy", choices=("xy", "x", "y"),
                     help="diffusion: wrap both axes (default), or x / y only for borders (basic repeat)")
    gen.add_argument("--batch-size", type=int, default=1, help="diffusion: images per GPU pass (default 1)")
    gen.add_argument("--precision", default="auto", choices=("auto", "float16", "bfloat16", "float32"),
                     help="diffusion: auto (float16 on CUDA, float32 on the CPU), or one of these")
    gen.add_argument("--device", default="auto", metavar="auto|cpu|cuda|cuda:N",
                     help="diffusion: where to render (default auto: CUDA when there is one)")
    gen.add_argument("--compile", action="store_true",
                     help="diffusion: torch.compile the UNet (the first image pays for it; best on a GPU)")
    gen.add_argument("--from", dest="source", default="", metavar="IMAGE",
                     help="start from this image: variations with a diffusion model, or --upscale")
    gen.add_argument("--strength", type=float, default=None,
                     help="with --from: how much to change (0-1; default 0.5, or 0.3 when upscaling)")
    gen.add_argument("--upscale", type=float, default=0.0, metavar="FACTOR",
                     help="with --from: upscale seamlessly by this factor (a model, if given, refines it)")
    gen.add_argument("--style", help="style name (default stripes; see 'tessera styles')")
    gen.add_argument("--repeat", default=None, help=f"one of {', '.join(REPEATS)} (default basic, or the "
                     "--from image's own)")
    gen.add_argument("--size", default=None, help="N or WxH pixels (default 1024; with --from, the image's)")
    gen.add_argument("--palette", help="palette name or \"#hex,#hex,...\" (default indigo-dye)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--count", type=int, default=1)
    gen.add_argument("--out", default=".", help="output folder (default: here)")
    gen.add_argument("--dpi", type=int, default=150, help="DPI written into the PNG (default 150)")
    gen.add_argument("--motif", metavar="PATH", help="your motif image (with alpha) for motif layouts")
    gen.add_argument("--layout", choices=("grid", "half-drop", "brick", "toss"), help="motif layout")
    gen.add_argument("--kaleidoscope", metavar="IMAGE",
                     help="fold a region of this image (a photo, a scan) by mirrors into a seamless tile")
    gen.add_argument("--group", help="wallpaper group, p1 ... p6m (a kaleidoscope: pmm, p4m, p3m1 or p6m)")
    gen.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="a style option")
    gen.add_argument("--auto-correct", action="store_true",
                     help="retry tiles that fail QA: mend the seam, recolour, or reseed (every attempt is recorded)")
    gen.add_argument("--qa-profile", default="default", help="QA profile for the checks (default: default)")
    gen.add_argument("--max-attempts", type=int, default=4, help="attempts per tile with --auto-correct (default 4)")
    gen.add_argument("--to-library", action="store_true",
                     help="also store the tiles, with provenance and QA, in the library (see --library)")


# -- generate ---------------------------------------------------------------------------------
def parse_size(text: str) -> tuple[int, int]:
    raw = text.lower().replace("×", "x")
    try:
        if "x" in raw:
            w, h = raw.split("x", 1)
            return int(w), int(h)
        side = int(raw)
        return side, side
    except ValueError:
        raise UserError(f"size '{text}' must be N or WxH in pixels, like 1024 or 1200x800") from None



def style_options(extra: list[str], given: list[str]) -> dict[str, str]:
    """`--name value` / `--name=value` pairs left over by argparse, plus `-p name=value`."""
    options: dict[str, str] = {}
    for item in given:
        if "=" not in item:
            raise UserError(f"style option '{item}' must be NAME=VALUE")
        name, value = item.split("=", 1)
        options[name.strip()] = value
    i = 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or token == "--":
            raise UserError(f"unexpected argument '{token}'")
        name = token[2:]
        if "=" in name:
            name, value = name.split("=", 1)
            i += 1
        elif i + 1 < len(extra) and not extra[i + 1].startswith("--"):
            value = extra[i + 1]
            i += 2
        else:
            value, i = "true", i + 1
        options[name] = value
    return options



def cmd_generate(args: argparse.Namespace, emit) -> int:
    extra = getattr(args, "extra", [])
    from desktop.engine.generate import GenerateRequest, Machine, ModelSettings

    if args.source and args.size is not None:  # it would be ignored: say so rather than surprise
        raise UserError("--size does not go with --from: a variation keeps the image's size, and "
                        "--upscale FACTOR sets an upscale's")
    width, height = parse_size(args.size or "1024")
    options = style_options(extra, args.param or [])
    for name, value in options.items():  # an image option names the file wherever the job runs
        if name.replace("-", "_").endswith("_path") and value.strip():
            options[name] = os.path.abspath(os.path.expanduser(value.strip()))
    style = args.style
    if args.kaleidoscope:
        style = style or "kaleidoscope"
        options["image_path"] = os.path.abspath(os.path.expanduser(args.kaleidoscope))
    if args.group:
        style = style or "wallpaper"
        options["group"] = args.group
    if args.motif:
        style = style or "motif"
        options["motif_path"] = os.path.abspath(args.motif)
    if args.layout:
        style = style or "motif"
        options["layout"] = args.layout
    repeat, palette = args.repeat, args.palette or DEFAULT_PALETTE
    if args.source:  # the source's own repeat and palette, unless given (no palette: none to check)
        from desktop.engine.images import read_metadata

        try:
            source_meta = read_metadata(args.source)
        except (OSError, ValueError):
            source_meta = {}  # the request reports a bad source clearly
        repeat = repeat or source_meta.get("repeat")
        if not args.palette:
            palette = ",".join((source_meta.get("palette") or {}).get("colors") or [])
    strength = args.strength if args.strength is not None else (0.3 if args.upscale else 0.5)
    request = GenerateRequest(
        style=style or "stripes", params=options, repeat=repeat or "basic", width=width, height=height,
        palette=palette, seed=args.seed, count=args.count, out_dir=args.out,
        engine=args.engine, dpi=args.dpi, qa_profile=args.qa_profile, auto_correct=args.auto_correct,
        max_attempts=args.max_attempts, prompt=args.prompt, negative_prompt=args.negative_prompt,
        source=args.source, strength=strength, upscale=args.upscale,
        diffusion=ModelSettings(model=args.model, loras=list(args.lora or []), steps=args.steps, guidance=args.guidance,
                                scheduler=args.scheduler, tiling=args.tiling),
        machine=Machine(device="" if args.device == "auto" else args.device, batch_size=args.batch_size,
                        precision="" if args.precision == "auto" else args.precision, compile=args.compile),
    )
    if args.brief:
        request = _with_brief(args, request, options, bool(style))
    request.validated()  # every problem is reported before anything is drawn
    library = None
    if args.to_library:
        from desktop.cli.common import library_root
        from desktop.library import Library

        library = Library(library_root(args))  # opened first: a locked library is reported before any work
    try:
        from desktop.engine.generate import run_generate
        from desktop.library.alignment import BatchSimilarity

        inner = None
        if library is not None:  # QA also fails a tile that is one of the library's designs (and retries)
            from desktop.library.search import LibrarySimilarity

            inner = LibrarySimilarity(library, parents=[request.parent_id] if request.parent_id else [])
        similar = BatchSimilarity(inner)  # and one that is an earlier tile's design in this batch

        def fn(req, ctx):
            return run_generate(req, ctx, similar)
        tiles = run_as_job("generate", request, args, fn)
        if library is not None:
            from desktop.library.ops import store_tiles

            stored = store_tiles(library, [(tile.image, tile.metadata) for tile in tiles])
            for tile, pattern_id in zip(tiles, stored.ids):
                tile.metadata["library_id"] = pattern_id
    finally:
        if library is not None:
            library.close()
    summaries = [tile.summary() for tile in tiles]
    for warning in dict.fromkeys(w for tile in tiles for w in tile.metadata.get("warnings", [])):
        print(f"tessera: warning: {warning}", file=sys.stderr)
    for note in dict.fromkeys(n for tile in tiles for n in tile.metadata.get("notes", [])):
        print(f"tessera: note: {note}", file=sys.stderr)
    def line(tile) -> str:
        qa = tile.metadata.get("qa", {})
        verdict = "QA pass" if qa.get("passed") else f"QA fail: {', '.join(qa.get('failed', []))}"
        tries = len(tile.metadata.get("attempts", [])) or 1
        return f"wrote {tile.path} ({verdict}{f', {tries} attempts' if tries > 1 else ''})"

    emit({"written": [t.path for t in tiles], "tiles": summaries}, "\n".join(line(t) for t in tiles))
    return 0



# the generate options that set each field a saved brief keeps (desktop.engine.briefs.FIELDS;
# style and its options, and the size, are decided apart)
BRIEF_FLAGS = {"repeat": ("--repeat",), "palette": ("--palette",), "count": ("--count",), "engine": ("--engine",),
               "model": ("--model",), "dpi": ("--dpi",), "qa_profile": ("--qa-profile",),
               "auto_correct": ("--auto-correct",), "max_attempts": ("--max-attempts",), "prompt": ("--prompt",),
               "negative_prompt": ("--negative-prompt", "--negative"), "steps": ("--steps",),
               "guidance": ("--guidance", "--cfg"), "scheduler": ("--scheduler",), "loras": ("--lora",),
               "tiling": ("--tiling",)}



def _with_brief(args: argparse.Namespace, request, options: dict, style_given: bool):
    """`request` on the brief a collection keeps (--brief NAME): what the command line says
    outright wins; the brief gives the rest, its style options under those given here."""
    from desktop.cli.common import library_root
    from desktop.engine.briefs import request_of
    from desktop.library import Library, collections

    with Library(library_root(args)) as lib:
        saved = request_of(collections.saved_brief(lib, args.brief))
    argv = getattr(args, "argv", [])

    def given(flags: tuple[str, ...]) -> bool:
        return any(token == flag or token.startswith(flag + "=") for token in argv for flag in flags)

    ours, theirs = request.flat(), saved.flat()
    fields = {name: (ours if given(BRIEF_FLAGS[name]) else theirs)[name] for name in BRIEF_FLAGS}
    if args.size is None:
        fields.update(width=saved.width, height=saved.height)
    if not style_given:
        fields.update(style=saved.style, params={**saved.params, **options})
    fields.update(qa_overrides=saved.qa_overrides)  # no option sets these: the brief's print size
    return request.with_flat(**fields)



COMMANDS = {"generate": cmd_generate}
