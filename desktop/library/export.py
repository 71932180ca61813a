"""Print-ready export: PNG or TIFF at a DPI, sRGB ICC profile embedded, metadata kept,
optionally converted to the basic repeat, with an optional 3x3 swatch preview."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, PngImagePlugin

from desktop.config import atomic_write_bytes
from desktop.engine.images import TESSERA_KEY
from desktop.library import credentials, disclosure
from desktop.library.catalogue import Library, LibraryError
from desktop.library.titles import pattern_stem


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def encode(pixels: np.ndarray, fmt: str, dpi: int, metadata: dict, xmp: bytes | None = None) -> bytes:
    """PNG or TIFF bytes; `xmp` (desktop.library.disclosure.xmp_packet) goes where readers look for it:
    PNG's "XML:com.adobe.xmp" text chunk, TIFF's tag 700."""
    img = Image.fromarray(pixels)
    buf = io.BytesIO()
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("tessera", json.dumps(metadata, sort_keys=True, default=str))
        if xmp:
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
        img.save(buf, format="PNG", pnginfo=info, dpi=(dpi, dpi), icc_profile=_srgb_icc())
    else:
        from PIL.TiffImagePlugin import ImageFileDirectory_v2

        tags = ImageFileDirectory_v2()
        if xmp:
            tags[700] = xmp
            tags.tagtype[700] = 1  # BYTE, as the TIFF/XMP specification has it
        img.save(buf, format="TIFF", dpi=(dpi, dpi), icc_profile=_srgb_icc(), compression="tiff_lzw",
                 description=json.dumps(metadata, sort_keys=True, default=str), tiffinfo=tags)
    return buf.getvalue()


def export_patterns(lib: Library, ids: list[int], out: Path, dpi: int = 150, fmt: str = "png",
                    as_basic: bool = False, swatch: bool = False) -> list[str]:
    from desktop.engine.images import load_rgb
    from desktop.repeat import repeat_view, to_basic

    if not 10 <= dpi <= 2400:
        raise LibraryError(f"DPI must be between 10 and 2400, not {dpi}")
    items = [lib.get(i) for i in ids]  # every id is checked before anything is written
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(f"cannot create {out}: {exc.strerror or exc}") from None
    written = []
    for item in items:
        source = pixels = load_rgb(item["file"])
        repeat = item["repeat"]
        made = disclosure.for_pattern(lib, item)
        meta = {"pattern": {k: item[k] for k in ("id", "sha256", "title", "status", "rating", "tags")},
                "provenance": item["provenance"], "repeat": repeat, "dpi": dpi,
                "digital_source_type": made["digital_source_type"]}
        xmp = disclosure.xmp_packet(made["digital_source_type"], item["title"] or "", item["tags"])
        if as_basic and repeat != "basic":
            pixels = np.ascontiguousarray(to_basic(pixels, repeat))
            meta.update(repeat="basic", converted_from=repeat)
        stem = pattern_stem(item["id"], item["title"])  # a title's "/" or ":" is no path
        target = out / f"{stem}.{'png' if fmt == 'png' else 'tif'}"
        # C2PA Content Credentials: what was done, from what, with what, signed by the studio
        signed = credentials.sign(encode(pixels, fmt, dpi, meta, xmp), "png" if fmt == "png" else "tiff",
                                  credentials.manifest_for(lib, item), credentials.ingredients_for(lib, item))
        try:
            atomic_write_bytes(target, signed)
            written.append(str(target))
            if swatch:
                view = repeat_view(source, repeat, 3, 3)  # the tile as read, in its own repeat
                scale = max(1, max(view.shape[:2]) // 2048)
                swatch_path = out / f"{stem}-swatch.png"
                swatch_meta = dict(meta, swatch={"of": item["id"], "repeats": [3, 3]})  # an import leaves it out
                atomic_write_bytes(swatch_path, encode(np.ascontiguousarray(view[::scale, ::scale]), "png", dpi,
                                                       swatch_meta))
                written.append(str(swatch_path))
        except OSError as exc:
            raise LibraryError(f"could not write {target}: {exc.strerror or exc}") from None
    return written


def export_sheet(lib: Library, ids: list[int], out: Path, cell: int = 320, columns: int = 4, ctx=None,
                 mockup: str | None = None, default_dpi: float = 150) -> str:
    """A presentation sheet of library patterns (`desktop.engine.sheet`), each as a 2 x 2 repeat
    over its palette's swatches and its title, written as a PNG at `out` (atomically). With
    `mockup` (a product of desktop.engine.mockups), each also shows on that product at its
    printed size (its PNG's dpi, else `default_dpi`), with that size written under its title."""
    from desktop.engine import mockups
    from desktop.engine.images import load_rgb
    from desktop.engine.sheet import SheetItem, presentation_sheet
    from desktop.errors import UserError
    from desktop.library.listings import print_dpi
    from desktop.palettes import parse_hex

    if not ids:
        raise LibraryError("choose the patterns for the sheet")
    if mockup is not None and mockup not in mockups.PRODUCTS:
        raise LibraryError(f"unknown product '{mockup}': choose one of {', '.join(mockups.PRODUCTS)}")
    items = []
    for i, pattern_id in enumerate(ids):
        if ctx is not None:
            ctx.progress(i, len(ids), f"{'Rendering' if mockup else 'Reading'} {i + 1} of {len(ids)}")
        item = lib.get(pattern_id)
        colours = tuple(parse_hex(c) for c in (item["provenance"].get("palette") or {}).get("colors", []))
        rgb = load_rgb(item["file"])
        scene, note = None, ""
        if mockup is not None:
            dpi = print_dpi(item["file"], default_dpi)
            try:
                tile_in = mockups.tile_inches(rgb.shape[1], rgb.shape[0], dpi)
                note = (f"one tile {mockups.tile_size_text(tile_in)} · {mockups.tile_size_text(tile_in, 'cm')}, "
                        f"{dpi:g} DPI")
                scene = mockups.render(rgb, item["repeat"], mockup, tile_in,
                                       check_cancelled=ctx.check_cancelled if ctx is not None else None).image
            except UserError as exc:  # a tile this product cannot show: the sheet says so
                note = f"no {mockup} mockup: {exc}"
        made = disclosure.for_pattern(lib, item)["label"]  # the AI disclosure, on every sheet
        note = f"{note} · {made}" if note else made
        items.append(SheetItem(rgb, item["repeat"], item["title"] or f"pattern {pattern_id}", colours, scene, note))
    page = presentation_sheet(items, cell, columns)
    buf = io.BytesIO()
    info = PngImagePlugin.PngInfo()  # says it is a sheet, so an import leaves it out
    info.add_itxt(TESSERA_KEY, json.dumps({"sheet": {"patterns": list(ids), **({"mockup": mockup} if mockup else {})}}))
    Image.fromarray(page).save(buf, format="PNG", icc_profile=_srgb_icc(), pnginfo=info)
    try:
        atomic_write_bytes(out, buf.getvalue())
    except OSError as exc:
        raise LibraryError(f"could not write {out}: {exc.strerror or exc}") from None
    return str(out)
