"""`tessera info`, `tessera styles`, `tessera palettes`: this machine, the styles, the palettes."""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

from desktop import __version__
from desktop.errors import UserError


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    sub.add_parser("info", parents=[common], help="versions, paths, library location, GPU")
    sub.add_parser("styles", parents=[common], help="every procedural style and its options")
    pal = sub.add_parser("palettes", parents=[common], help="list palettes, or extract one from an image")
    pal.add_argument("--from-image", metavar="PATH", help="extract the main colours of an image")
    pal.add_argument("-k", type=int, default=6, help="how many colours to extract (default 6)")
    pal.add_argument("--colors", help="colours as \"#hex,#hex,...\" (with --save)")
    pal.add_argument("--save", metavar="NAME", help="save the colours (--colors or --from-image) under this name")
    pal.add_argument("--delete", metavar="NAME", help="delete a saved palette")


# -- info -------------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace, emit) -> int:
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
    emit(payload, "\n".join(lines))
    return 0



# -- styles and palettes ------------------------------------------------------------------------
def cmd_styles(args: argparse.Namespace, emit) -> int:
    from desktop.engine.procedural import STYLES

    described = [style.describe() for style in STYLES.values()]
    text = []
    for style in described:
        opts = ", ".join(f"{p['name']}={p['default']}" for p in style["params"])
        text.append(f"{style['name']:15s} {style['description']}\n{'':15s} options: {opts or 'none'}")
    emit({"styles": described}, "\n".join(text))
    return 0



def cmd_palettes(args: argparse.Namespace, emit) -> int:
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
        emit({"deleted": args.delete}, f"deleted the saved palette {args.delete}")
        return 0
    if args.from_image or args.colors:
        palette = palette_from_image_file(args.from_image, k=args.k) if args.from_image else \
            parse_palette(args.colors)
        if args.save:
            saved = save_palette(args.save, palette)
            emit({"saved": saved, **palette.as_dict()}, f"saved {','.join(palette.hex)} as '{saved}'")
            return 0
        shares = ", ".join(f"{h} {w:.0%}" for h, w in zip(palette.hex, palette.weights))
        emit(palette.as_dict(), f"{','.join(palette.hex)}" + (f"\n({shares})" if shares else ""))
        return 0
    if args.save:
        raise UserError("--save needs the colours: --colors \"#hex,#hex\" or --from-image PATH")
    palettes = [load_named(name) for name in palette_names()]
    emit({"palettes": [dict(p.as_dict(), saved=is_saved(p.name)) for p in palettes]},
          "\n".join(f"{p.name:16s} {','.join(p.hex)}{'  (saved)' if is_saved(p.name) else ''}" for p in palettes))
    return 0



COMMANDS = {"info": cmd_info, "styles": cmd_styles, "palettes": cmd_palettes}
