"""`tessera mockup`: a tile repeating at its printed size on a wall, fabric, a cushion or a
measured swatch (`desktop.engine.mockups`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.errors import UserError


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    from desktop.engine.mockups import PRODUCTS

    mk = sub.add_parser("mockup", aliases=["mockups"], parents=[common],
                        help="show a tile at its printed size on products: " + ", ".join(PRODUCTS),
                        description="Each product shows the tile repeating through its repeat at its printed "
                        "size: its pixels at its DPI (from the PNG's metadata, else 150), or --tile-size. "
                        "Products: " + "; ".join(f"{p.name}: {p.label}" for p in PRODUCTS.values()) + ".")
    mk.add_argument("images", nargs="+", metavar="IMAGE")
    mk.add_argument("--product", action="append", default=[], choices=list(PRODUCTS),
                    help="a product; give it once per mockup (default: swatch)")
    mk.add_argument("--all-products", action="store_true", help="one mockup on every product")
    mk.add_argument("--repeat", help="repeat type (default: from metadata, else basic)")
    mk.add_argument("--dpi", type=float, help="print resolution of the tile (default: from metadata, else 150)")
    mk.add_argument("--tile-size", metavar="SIZE", help="one tile's printed width (10in, 25cm: the height "
                    "follows its shape) or both (10x5in); overrides --dpi")
    mk.add_argument("--units", choices=("in", "cm"), default="in", help="the swatch's rulers (default in)")
    mk.add_argument("--out", required=True, metavar="DIR", help="output folder: IMAGE-PRODUCT.png")


def cmd_mockup(args: argparse.Namespace, emit) -> int:
    from desktop.cli_qa import _load, _write_png
    from desktop.engine.mockups import PRODUCTS, render, tile_inches
    from desktop.library.catalogue import sha256_bytes

    products = list(PRODUCTS) if args.all_products else (args.product or ["swatch"])
    written, made = [], []
    for name in args.images:
        image, _, meta = _load(name)
        repeat = args.repeat or meta.get("repeat") or "basic"
        dpi = args.dpi or meta.get("dpi")
        tile_in = tile_inches(image.shape[1], image.shape[0], dpi=dpi, size=args.tile_size)
        source = {"title": meta.get("title") or Path(name).stem, "sha256": sha256_bytes(Path(name).read_bytes())}
        for product in products:
            mockup = render(image, repeat, product, tile_in, units=args.units)
            written.append(_write_png(Path(args.out) / f"{Path(name).stem}-{product}.png", mockup.image,
                                      mockup.metadata(source)))
            made.append(dict(mockup.as_dict(), source=name))
    if not written:
        raise UserError("nothing to show")

    def line(path: str, m: dict) -> str:
        w, h = m["tile_in"]
        return f"wrote {path} ({m['product']}: one tile {w:g} x {h:g} in, {m['repeats'][0]:g} across)"

    emit({"written": written, "mockups": made}, "\n".join(line(p, m) for p, m in zip(written, made)))
    return 0
