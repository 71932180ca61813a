"""Export bundles for marketplaces without an API (upload by hand, Spoonflower-like): all a listing needs, per pattern.

    OUT/
      000012-navy-gingham/              (or 000012-navy-gingham.zip with --zip)
        000012-navy-gingham.png          the print file at the profile's DPI: sRGB, the XMP disclosure
        000012-navy-gingham-swatch.png   a 3 x 3 swatch of the repeat
        mockup-wall.jpg, …               the mockups, one tile at its printed size
        listing.txt, listing.json        title, tags, description, the repeat as the site names it,
                                         the print size and how it was made (desktop/library/listings.py)
      contact-sheet.png                  the batch side by side (a presentation sheet)

Everything is written into OUT/.bundle-partial first and moved into place when whole, so a cut-off
export leaves no half bundle; a listing that breaks the profile's limits stops the export before
anything is written, naming it.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from desktop.library.catalogue import Library, LibraryError
from desktop.library.listings import Profile, current
from desktop.library.titles import pattern_stem


def _listing_text(listing, repeat_name: str) -> str:
    return "\n".join([listing.title, "", f"Tags: {', '.join(listing.tags)}", f"Repeat: {repeat_name}",
                      f"Print size: {listing.print_size}", f"How it was made: {listing.disclosure}", "",
                      listing.description, ""])


def export_bundles(lib: Library, ids: list[int], out: Path, profile: Profile, mockups: list[str] = (),
                   as_zip: bool = False, ctx=None) -> dict[str, Any]:
    """One bundle per pattern for `profile`'s site, and a contact sheet. Returns {"bundles": [paths],
    "contact_sheet": path}."""
    from PIL import Image

    from desktop.engine import mockups as products
    from desktop.engine.images import load_rgb
    from desktop.library.export import export_patterns, export_sheet

    if not ids:
        raise LibraryError("choose the patterns to bundle")
    unknown = [m for m in mockups if m not in products.PRODUCTS]
    if unknown:
        raise LibraryError(f"unknown product '{unknown[0]}': choose from {', '.join(products.PRODUCTS)}")
    listings = {i: current(lib, i, profile) for i in ids}  # every pattern and listing checked first
    broken = [lst for lst in listings.values() if lst.problems]
    if broken:
        raise LibraryError(f"listing {broken[0].pattern_id} breaks {profile.label}'s limits: "
                           + "; ".join(broken[0].problems) + " ('tessera publish listing' mends it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = out / ".bundle-partial"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
    except OSError as exc:
        raise LibraryError(f"cannot write to {out}: {exc.strerror or exc}") from None
    made: list[Path] = []
    try:
        for k, pattern_id in enumerate(ids):
            if ctx is not None:
                ctx.check_cancelled()
                ctx.progress(k, len(ids), f"Bundling {k + 1} of {len(ids)}")
            item, listing = lib.get(pattern_id), listings[pattern_id]
            folder = stage / pattern_stem(item["id"], item["title"])
            export_patterns(lib, [pattern_id], folder, dpi=profile.dpi, swatch=True)
            if mockups:
                rgb = load_rgb(item["file"])
                tile_in = products.tile_inches(rgb.shape[1], rgb.shape[0], profile.dpi)
                for product in mockups:
                    try:
                        scene = products.render(rgb, item["repeat"], product, tile_in).image
                    except LibraryError:
                        raise
                    except Exception as exc:  # a product this tile cannot show: the bundle goes without it
                        (folder / f"mockup-{product}.txt").write_text(f"no {product} mockup: {exc}\n")
                        continue
                    buf = io.BytesIO()
                    Image.fromarray(scene).save(buf, format="JPEG", quality=90)
                    (folder / f"mockup-{product}.jpg").write_bytes(buf.getvalue())
            repeat_name = profile.repeats.get(item["repeat"], item["repeat"])
            (folder / "listing.txt").write_text(_listing_text(listing, repeat_name), encoding="utf-8")
            (folder / "listing.json").write_text(json.dumps({**listing.as_dict(), "repeat": repeat_name,
                                                             "marketplace": profile.name}, indent=1), encoding="utf-8")
            made.append(folder)
        export_sheet(lib, ids, stage / "contact-sheet.png")
        finals = []
        for folder in made:
            if as_zip:
                with zipfile.ZipFile(stage / f"{folder.name}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
                    for path in sorted(folder.iterdir()):
                        archive.write(path, f"{folder.name}/{path.name}")
                shutil.rmtree(folder)
                finals.append(f"{folder.name}.zip")
            else:
                finals.append(folder.name)
        for name in [*finals, "contact-sheet.png"]:  # the whole batch made: into place
            target = out / name
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            (stage / name).rename(target)
    except OSError as exc:
        raise LibraryError(f"could not write the bundles in {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {"bundles": [str(out / name) for name in finals], "contact_sheet": str(out / "contact-sheet.png")}
