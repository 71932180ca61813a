"""`tessera mockup`: a tile repeating at its printed size on a wall, fabric, a cushion or a
measured swatch (`desktop.engine.mockups`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    from desktop.engine.mockups import PRODUCTS

    mk = sub.add_parser("mockup", aliases=["mockups"], parents=[common],
                        help="show a tile at its printed size on products: " + ", ".join(PRODUCTS),
                        description="Each product shows the tile repeating through its repeat at its printed "
                        "size: its pixels at its DPI (from the PNG's metadata, else 150), or --tile-size. "
                        "Products: " + "; ".join(f"{p.name}: {p.label}" for p in PRODUCTS.values()) + ".")
    mk.add_argument("images", nargs="+", metavar="IMAGE")
    mk.add_argument("--repeat", help="repeat type (default: from metadata, else basic)")
    mk.add_argument("--dpi", type=float, help="print resolution of the tile (default: from metadata, else 150)")
    product_options(mk)


def product_options(parser: argparse.ArgumentParser) -> None:
    """What `mockup` and `library mockup` share: the products, the printed size, the rulers, where to."""
    from desktop.engine.mockups import PRODUCTS

    parser.add_argument("--product", action="append", default=[], choices=list(PRODUCTS),
                        help="a product; give it once per mockup (default: swatch)")
    parser.add_argument("--all-products", action="store_true", help="one mockup on every product")
    parser.add_argument("--tile-size", metavar="SIZE", help="one tile's printed width (10in, 25cm: the height "
                        "follows its shape) or both (10x5in); overrides the DPI")
    parser.add_argument("--units", choices=("in", "cm"), default="in", help="the swatch's rulers (default in)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder: NAME-PRODUCT.png")


def render_products(args: argparse.Namespace, image, meta: dict, stem: str, repeat: str | None,
                    dpi: float | None, source: dict) -> tuple[list[str], list[dict]]:
    """Every product asked for, of `image` (its Tessera metadata `meta`), written as
    OUT/STEM-PRODUCT.png; (paths, what each shows)."""
    from desktop.cli.common import write_png
    from desktop.engine.mockups import PRODUCTS, render, tile_inches

    products = list(PRODUCTS) if args.all_products else (args.product or ["swatch"])
    tile_in = tile_inches(image.shape[1], image.shape[0], dpi=dpi or meta.get("dpi"), size=args.tile_size)
    written, made = [], []
    for product in products:
        mockup = render(image, repeat or meta.get("repeat") or "basic", product, tile_in, units=args.units)
        written.append(write_png(Path(args.out) / f"{stem}-{product}.png", mockup.image, mockup.metadata(source)))
        made.append(dict(mockup.as_dict(), **{f"source_{k}": v for k, v in source.items() if v}))
    return written, made


def report(emit, written: list[str], made: list[dict]) -> None:
    def line(path: str, m: dict) -> str:
        w, h = m["tile_in"]
        return f"wrote {path} ({m['product']}: one tile {w:g} x {h:g} in, {m['repeats'][0]:g} across)"

    emit({"written": written, "mockups": made}, "\n".join(line(p, m) for p, m in zip(written, made)))


def cmd_mockup(args: argparse.Namespace, emit) -> int:
    from desktop.cli.common import load_image
    from desktop.library.catalogue import sha256_bytes

    written, made = [], []
    for name in args.images:
        image, _, meta = load_image(name)
        source = {"title": meta.get("title") or Path(name).stem, "sha256": sha256_bytes(Path(name).read_bytes()),
                  "file": name}
        paths, shown = render_products(args, image, meta, Path(name).stem, args.repeat, args.dpi, source)
        written += paths
        made += shown
    report(emit, written, made)
    return 0


def cmd_library_mockup(lib, ids: list[int], args: argparse.Namespace, emit) -> int:
    """`library mockup`: patterns of the library, each at its own repeat and DPI, named ID-TITLE-PRODUCT
    (`titles.pattern_stem`, as an export names them)."""
    from desktop.cli.common import load_image
    from desktop.library.titles import pattern_stem

    written, made = [], []
    for pattern_id in ids:
        item = lib.get(pattern_id)
        image, _, meta = load_image(item["file"])
        source = {"title": item["title"], "sha256": item["sha256"], "library_id": pattern_id}
        stem = pattern_stem(pattern_id, item["title"])
        paths, shown = render_products(args, image, meta, stem, item["repeat"], None, source)
        written += paths
        made += shown
    report(emit, written, made)
    return 0


COMMANDS = {"mockup": cmd_mockup, "mockups": cmd_mockup}
