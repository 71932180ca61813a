"""`tessera …`: every job as a command, with `--json` for scripts.

Exit codes: 0 ok, 1 a check failed, 2 bad input or usage, 3 an internal error.
Bad input gets one line on stderr; a traceback only with --debug.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import sys
from pathlib import Path
from typing import Any

from desktop import __version__
from desktop.errors import CheckFailed, UserError
from desktop.palettes import DEFAULT_PALETTE

log = logging.getLogger("tessera.cli")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        print(text)


# -- info -------------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    from desktop.config import library_dir, load_settings, resolve_paths
    from desktop.hardware import package_version, probe_devices

    paths = resolve_paths()
    settings = load_settings(paths.settings_file)
    library = Path(args.library).expanduser() if args.library else library_dir(paths, settings)
    devices = probe_devices()
    versions = {name: package_version(dist) for name, dist in (
        ("numpy", "numpy"), ("pyside6", "PySide6-Essentials"), ("opencv", "opencv-python-headless"),
        ("pillow", "pillow"), ("torch", "torch"), ("diffusers", "diffusers"), ("transformers", "transformers"),
        ("peft", "peft"), ("open_clip", "open-clip-torch"), ("lancedb", "lancedb"), ("sqlalchemy", "SQLAlchemy"))}
    payload = {
        "tessera": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "paths": paths.as_dict(),
        "library": str(library),
        "default_engine": settings.default_engine,
        "cuda": devices.get("cuda", False),
        "devices": devices,
    }
    lines = [f"Tessera {__version__} (Python {payload['python']}, {payload['platform']})",
             f"library:  {payload['library']}", f"settings: {paths.settings_file}", f"logs:     {paths.log_file}",
             "GPU:      " + (", ".join(d["name"] for d in devices["devices"]) if devices["cuda"]
                            else f"none (CUDA available: no{'; ' + devices['error'] if devices.get('error') else ''})")]
    lines += [f"{name:13s} {version or 'not installed'}" for name, version in versions.items()]
    _emit(args, payload, "\n".join(lines))
    return 0


# -- styles and palettes ------------------------------------------------------------------------
def cmd_styles(args: argparse.Namespace) -> int:
    from desktop.engine.procedural import STYLES

    described = [style.describe() for style in STYLES.values()]
    text = []
    for style in described:
        opts = ", ".join(f"{p['name']}={p['default']}" for p in style["params"])
        text.append(f"{style['name']:15s} {style['description']}\n{'':15s} options: {opts or 'none'}")
    _emit(args, {"styles": described}, "\n".join(text))
    return 0


def cmd_palettes(args: argparse.Namespace) -> int:
    from desktop.palettes import (
        delete_palette,
        is_saved,
        load_named,
        palette_from_image_file,
        palette_names,
        parse_palette,
        save_palette,
    )

    if args.delete:
        delete_palette(args.delete)
        _emit(args, {"deleted": args.delete}, f"deleted the saved palette {args.delete}")
        return 0
    if args.from_image or args.colors:
        palette = palette_from_image_file(args.from_image, k=args.k) if args.from_image else \
            parse_palette(args.colors)
        if args.save:
            saved = save_palette(args.save, palette)
            _emit(args, {"saved": saved, **palette.as_dict()}, f"saved {','.join(palette.hex)} as '{saved}'")
            return 0
        shares = ", ".join(f"{h} {w:.0%}" for h, w in zip(palette.hex, palette.weights))
        _emit(args, palette.as_dict(), f"{','.join(palette.hex)}" + (f"\n({shares})" if shares else ""))
        return 0
    if args.save:
        raise UserError("--save needs the colours: --colors \"#hex,#hex\" or --from-image PATH")
    palettes = [load_named(name) for name in palette_names()]
    _emit(args, {"palettes": [dict(p.as_dict(), saved=is_saved(p.name)) for p in palettes]},
          "\n".join(f"{p.name:16s} {','.join(p.hex)}{'  (saved)' if is_saved(p.name) else ''}" for p in palettes))
    return 0


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


def cmd_generate(args: argparse.Namespace, extra: list[str]) -> int:
    from desktop.engine.generate import GenerateRequest

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
        max_attempts=args.max_attempts, prompt=args.prompt, negative_prompt=args.negative_prompt, steps=args.steps,
        guidance=args.guidance, scheduler=args.scheduler, model=args.model, loras=args.lora, tiling=args.tiling,
        batch_size=args.batch_size, precision="" if args.precision == "auto" else args.precision,
        compile=args.compile, device="" if args.device == "auto" else args.device, source=args.source,
        strength=strength, upscale=args.upscale,
    )
    if args.brief:
        request = _with_brief(args, request, options, bool(style))
    request.validated()  # every problem is reported before anything is drawn
    library = None
    if args.to_library:
        from desktop.cli_library import library_root
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
        tiles = _run_as_job("generate", request, args, fn)
        if library is not None:
            from desktop.library import search

            for tile in tiles:
                changes = library.add_tile(tile.image, tile.metadata)
                tile.metadata["library_id"] = changes.pattern_id
            search.embed_pending(library)
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

    _emit(args, {"written": [t.path for t in tiles], "tiles": summaries}, "\n".join(line(t) for t in tiles))
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
    import dataclasses

    from desktop.cli_library import library_root
    from desktop.engine.briefs import request_of
    from desktop.library import Library, collections

    with Library(library_root(args)) as lib:
        saved = request_of(collections.saved_brief(lib, args.brief))
    argv = getattr(args, "argv", [])

    def given(flags: tuple[str, ...]) -> bool:
        return any(token == flag or token.startswith(flag + "=") for token in argv for flag in flags)

    fields = {name: getattr(request if given(BRIEF_FLAGS[name]) else saved, name) for name in BRIEF_FLAGS}
    if args.size is None:
        fields.update(width=saved.width, height=saved.height)
    if not style_given:
        fields.update(style=saved.style, params={**saved.params, **options})
    fields.update(qa_overrides=saved.qa_overrides)  # no option sets these: the brief's print size
    return dataclasses.replace(request, **fields)


def _run_as_job(kind: str, request, args: argparse.Namespace, fn=None,
                cancelled: str = "cancelled; files already finished were kept"):
    """Run `fn(request, ctx)` (default: generate) through the JobQueue, as the window does, with
    its progress on stderr; Ctrl-C cancels cleanly and says `cancelled`."""
    from desktop.jobs import JobQueue, JobState

    if fn is None:
        from desktop.engine.generate import run_generate as fn
    queue = JobQueue(io_workers=1)
    job = queue.submit(kind, lambda ctx: fn(request, ctx), request, title=kind)
    show = sys.stderr.isatty() and not args.json
    previous = signal.getsignal(signal.SIGINT)

    def interrupt(signum, frame):
        queue.cancel(job)

    signal.signal(signal.SIGINT, interrupt)
    try:
        while not job.wait(0.2):
            if show:
                p = job.snapshot().progress
                if p.fraction is not None:
                    eta = f", {p.eta_s:.0f}s left" if p.eta_s else ""
                    print(f"\r{p.message}: {p.fraction:4.0%}{eta}   ", end="", file=sys.stderr, flush=True)
        if show:
            print(file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, previous)
        queue.shutdown(timeout=1.0)
    if job.state is JobState.CANCELLED:
        raise UserError(cancelled)
    if job.state is JobState.FAILED:
        raise job.exception or RuntimeError(job.error or "failed")
    return job.result


# -- the parser -------------------------------------------------------------------------------
GLOBAL_DEFAULTS = {"json": False, "debug": False, "library": None}


def build_parser() -> argparse.ArgumentParser:
    from desktop.repeat import REPEATS

    # Accepted before the command and after it. No defaults here: a subcommand's parser would write
    # its default over a value given before the command name; main() fills in GLOBAL_DEFAULTS.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    common.add_argument("--library", metavar="DIR", help="the library folder (default: TESSERA_LIBRARY or settings)")

    parser = _Parser(prog="tessera", description="Tessera: seamless pattern studio. "
                     "Run with no arguments (python main.py) to open the window.", parents=[common])
    parser.add_argument("--version", action="version", version=f"tessera {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("info", parents=[common], help="versions, paths, library location, GPU")
    sub.add_parser("styles", parents=[common], help="every procedural style and its options")
    pal = sub.add_parser("palettes", parents=[common], help="list palettes, or extract one from an image")
    pal.add_argument("--from-image", metavar="PATH", help="extract the main colours of an image")
    pal.add_argument("-k", type=int, default=6, help="how many colours to extract (default 6)")
    pal.add_argument("--colors", help="colours as \"#hex,#hex,...\" (with --save)")
    pal.add_argument("--save", metavar="NAME", help="save the colours (--colors or --from-image) under this name")
    pal.add_argument("--delete", metavar="NAME", help="delete a saved palette")

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

    from desktop import cli_library, cli_lora, cli_mockup, cli_publish, cli_qa

    cli_qa.add_parsers(sub, common)
    cli_mockup.add_parsers(sub, common)
    cli_library.add_parsers(sub, common)
    cli_library.add_model_parsers(sub, common)
    cli_lora.add_parsers(sub, common)
    cli_publish.add_parsers(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    from desktop.config import resolve_paths
    from desktop.logs import setup_logging

    log_file = setup_logging(resolve_paths().log_file)
    try:
        if args.command is None:
            parser.print_help()
            return 0
        if args.command == "generate":
            args.argv = argv  # which options were given outright (over a --brief)
            return cmd_generate(args, extra)
        if extra:
            raise UserError(f"unrecognised arguments: {' '.join(extra)}")
        from desktop.cli_qa import COMMANDS, emitter

        if args.command in COMMANDS:
            return COMMANDS[args.command](args, emitter(args))
        if args.command in ("mockup", "mockups"):
            from desktop.cli_mockup import cmd_mockup

            return cmd_mockup(args, emitter(args))
        if args.command == "library":
            from desktop.cli_library import cmd_library

            return cmd_library(args, emitter(args))
        if args.command == "models":
            from desktop.cli_library import cmd_models

            return cmd_models(args, emitter(args))
        if args.command == "publish":
            from desktop.cli_publish import cmd_publish

            return cmd_publish(args, emitter(args))
        if args.command == "market":
            from desktop.cli_publish import cmd_market

            return cmd_market(args, emitter(args))
        if args.command == "lora":
            from desktop.cli_lora import cmd_lora

            return cmd_lora(args, emitter(args))
        return {"info": cmd_info, "styles": cmd_styles, "palettes": cmd_palettes}[args.command](args)
    except (UserError, CheckFailed) as exc:
        if args.debug:
            raise
        print(f"tessera: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tessera: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        log.exception("internal error")
        print(f"tessera: internal error: {exc} (details in {log_file})", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
