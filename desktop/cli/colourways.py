"""`tessera colourways` and `tessera coordinates`: a design in other palettes, and the plainer
patterns to sell beside it."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.cli.common import load_image, write_png
from desktop.errors import UserError


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    from desktop.cli.common import outputs

    cw = sub.add_parser("colourways", aliases=["colorways"], parents=[common],
                        help="the design in other palettes, light and dark kept",
                        description="One colourway of IMAGE per palette: the design's own inks each take a colour "
                        "of the palette, light and dark in order, shading and texture kept (--flat: the inks "
                        "alone, for screen print). Seamless tiles stay seamless.")
    cw.add_argument("image", metavar="IMAGE")
    cw.add_argument("--palette", action="append", default=[], metavar="PALETTE",
                    help="a palette (name or \"#hex,#hex\"); give it once per colourway")
    cw.add_argument("--all-palettes", action="store_true", help="one colourway in every saved palette")
    cw.add_argument("--flat", action="store_true", help="flat inks: exactly the palette's colours")
    outputs(cw, "source", "colourways", "the source and each colourway as a 2x2 repeat over its palette's "
             "swatches and name")


    co = sub.add_parser("coordinates", parents=[common], help="plainer patterns in a hero tile's own inks",
                        description="Coordinates for IMAGE (the hero): a stripe, a spot, a gingham, a ditsy, a "
                        "tone-on-tone texture and a small geometric, each in the hero's own inks (its brief's "
                        "palette colours where they are them), at its size and repeat.")
    co.add_argument("image", metavar="IMAGE")
    co.add_argument("--kind", action="append", default=[], metavar="KIND",
                    help="one of stripe, spot, gingham, ditsy, texture, geometric; repeatable (default: all)")
    outputs(co, "hero", "coordinates", "the hero and its coordinates")


def cmd_colourways(args: argparse.Namespace, emit) -> int:
    from desktop.engine.colourways import colourways
    from desktop.palettes import load_named, palette_names, parse_palette, slug

    palettes = [parse_palette(spec) for spec in args.palette]
    palettes += [load_named(name) for name in palette_names()] if args.all_palettes else []
    if not palettes:
        raise UserError("give --palette (once per colourway) or --all-palettes")
    if args.collection and not args.to_library:
        raise UserError("--collection needs --to-library")
    image, _, meta = load_image(args.image)
    library = None
    if args.to_library:
        from desktop.cli.common import library_root
        from desktop.library import Library

        library = Library(library_root(args))  # opened first: a locked library is reported before any work
    try:
        made = colourways(image, palettes, flat=args.flat)
        parent, stem = None, Path(args.image).stem
        title = meta.get("title") or stem
        if library is not None:
            from desktop.library.catalogue import sha256_bytes

            parent = library.pattern_with(sha256_bytes(Path(args.image).read_bytes()))  # the source, if stored
            if parent is not None:
                title = library.get(parent)["title"]
        folder = Path(args.out)
        written, tiles, ids, written_sheet = [], [], [], None
        for i, result in enumerate(made):
            name = slug(result.palette.name) if result.palette.name else f"palette-{i + 1}"
            tile_meta = result.metadata(meta, parent, title)
            written.append(write_png(folder / f"{stem}-{name}.png", result.image, tile_meta))
            tiles.append((result.image, tile_meta))
        if args.sheet:
            from desktop.engine.colourways import sheet

            repeat = meta.get("repeat", "basic")
            written_sheet = write_png(Path(args.sheet), sheet(image, made, repeat, source_label=title),
                                       {"sheet": {"source": title, "colourways": len(made)}})
        if library is not None:
            from desktop.library.ops import store_tiles

            ids = store_tiles(library, tiles, "colourway", args.collection, parent).ids
    finally:
        if library is not None:
            library.close()
    def line(path: str, result) -> str:
        moves = ", ".join(f"{m['from']}→{m['to']}" for m in result.as_dict()["inks"])
        return f"wrote {path} ({moves})"

    emit({"written": written, "library_ids": ids, "parent": parent, "colourways": [r.as_dict() for r in made],
          "sheet": written_sheet},
         "\n".join(line(path, r) for path, r in zip(written, made))
         + (f"\n  stored as patterns {', '.join(map(str, ids))}" if ids else "")
         + (f"\n  sheet {written_sheet}" if written_sheet else ""))
    return 0



def cmd_coordinates(args: argparse.Namespace, emit) -> int:
    from desktop.engine.coordinates import KIND_NAMES, coordinates
    from desktop.palettes import Palette, slug

    if args.collection and not args.to_library:
        raise UserError("--collection needs --to-library")
    image, _, meta = load_image(args.image)
    repeat, brief = meta.get("repeat") or "basic", Palette.from_dict(meta.get("palette"))
    made = coordinates(image, repeat, args.kind or KIND_NAMES, palette=brief)
    library = None
    if args.to_library:
        from desktop.cli.common import library_root
        from desktop.library import Library

        library = Library(library_root(args))  # opened before anything is written: a locked library is said first
    try:
        parent, stem = None, Path(args.image).stem
        title = meta.get("title") or stem
        if library is not None:
            from desktop.library.catalogue import sha256_bytes

            parent = library.pattern_with(sha256_bytes(Path(args.image).read_bytes()))  # the hero, if stored
            if parent is None:  # stored with its coordinates: they name it as their parent, and its set holds it
                parent = library.import_file(Path(args.image)).pattern_id
            if parent is not None:
                title = library.get(parent)["title"] or title
        written, tiles, ids, written_sheet = [], [], [], None
        for coordinate in made:
            tile_meta = coordinate.metadata(meta, parent, title)
            written.append(write_png(Path(args.out) / f"{stem}-{slug(coordinate.kind.name)}.png", coordinate.image,
                                      tile_meta))
            tiles.append((coordinate.image, tile_meta))
        if args.sheet:
            from desktop.engine.sheet import SheetItem, presentation_sheet

            items = [SheetItem(image, repeat, title, brief.colors if brief else ())]
            items += [SheetItem(c.image, repeat, c.kind.label, c.palette.colors) for c in made]
            written_sheet = write_png(Path(args.sheet), presentation_sheet(items, columns=min(4, len(items))),
                                       {"sheet": {"source": title, "coordinates": len(made)}})
        if library is not None:
            from desktop.library.ops import store_tiles

            ids = store_tiles(library, tiles, "coordinate", args.collection, parent).ids
    finally:
        if library is not None:
            library.close()
    emit({"written": written, "library_ids": ids, "parent": parent, "sheet": written_sheet,
          "coordinates": [{"kind": c.kind.name, "style": c.kind.style, "palette": c.palette.hex} for c in made]},
         "\n".join(f"wrote {path} ({c.kind.label.lower()}: {c.kind.style} in {', '.join(c.palette.hex)})"
                   for path, c in zip(written, made))
         + (f"\n  stored as patterns {', '.join(map(str, ids))}" if ids else "")
         + (f"\n  sheet {written_sheet}" if written_sheet else ""))
    return 0



COMMANDS = {"colourways": cmd_colourways, "colorways": cmd_colourways, "coordinates": cmd_coordinates}
