"""A generated tile's title (no SQLAlchemy here: the Library dock's captions use it too, to tell
a title the user gave a pattern from the one it was made with)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


def tile_title(metadata: dict[str, Any]) -> str:
    """A generated tile's title, as a listing can use it (the one place titles are drafted; the user
    edits them in the library): the one its metadata gives (a colourway's: its source's and the
    palette's); else, for a procedural tile, its main inks' names, its motif and style, and an
    offset repeat ("Black and Gold Sprig Wallpaper, half-drop (3)"); for a prompt, its start."""
    if str(metadata.get("title") or "").strip():
        return str(metadata["title"]).strip()[:120]
    seed = metadata.get("seed")
    tail = "" if seed is None else f" {seed}"
    if metadata.get("style"):
        return _drafted(metadata)
    prompt = " ".join(str(metadata.get("prompt") or "").split())
    if prompt:
        return (prompt if len(prompt) <= 40 else prompt[:39].rstrip() + "…") + (f" · seed{tail}" if tail else "")
    return f"tile{tail}"


def _drafted(metadata: dict[str, Any]) -> str:
    style = str(metadata["style"])
    params = metadata.get("params") if isinstance(metadata.get("params"), dict) else {}
    try:
        from desktop.engine.procedural import get_style

        label = get_style(style).label.split(" / ")[0].removesuffix(" group")  # "Wallpaper group": wallpaper
    except Exception:  # a style this version does not know: its name as written
        label = style.replace("-", " ").capitalize()
    motif = str(params.get("motif") or "").strip()
    if motif and style in ("wallpaper", "toss") and not params.get("motif_path"):
        label = f"{motif.replace('-', ' ').capitalize()} {label.lower()}"
    inks = ink_names((metadata.get("palette") or {}).get("colors") or [])
    words = " and ".join(inks[:2]).capitalize()
    title = f"{words} {label.lower()}" if words else label
    repeat = str(metadata.get("repeat") or "basic")
    if repeat not in ("basic", ""):
        title += f", {repeat}"
    seed = metadata.get("seed")
    title = " ".join(w if w in ("and", "of") else w[:1].upper() + w[1:] for w in title.split(" "))  # as listings are
    return (title + (f" ({seed})" if seed is not None else ""))[:120]


def ink_names(colours: list[str]) -> list[str]:
    """The colour names (resources/tags/colours.json, by CIEDE2000) of a palette's colours, in its order,
    each name once."""
    return list(_ink_names(tuple(str(c) for c in colours)))


@lru_cache(maxsize=256)
def _ink_names(colours: tuple[str, ...]) -> tuple[str, ...]:
    """(cached: the grid's captions ask for a tile's title on every paint)"""
    if not colours:
        return ()
    try:
        import numpy as np

        from desktop.engine.qa.colour import delta_e2000, srgb_to_lab
        from desktop.library.tagging import _named_lab
        from desktop.palettes import parse_hex

        names, lab = _named_lab()
        mine = srgb_to_lab(np.array([parse_hex(c) for c in colours], np.float32) / 255.0)
        nearest = delta_e2000(mine[:, None, :], lab[None, :, :]).argmin(axis=1)
    except Exception:  # a damaged palette in old metadata: no colour words
        return ()
    return tuple(dict.fromkeys(names[int(k)] for k in nearest))


def file_stem(title: str, fallback: str = "tile") -> str:
    """A title as a file name: its letters (any script) and digits, '-' between, at most 60
    characters; `fallback` when nothing of it is left."""
    import re

    return re.sub(r"[\W_]+", "-", str(title).lower())[:60].strip("-") or fallback


def pattern_stem(pattern_id: int, title: str) -> str:
    """A library pattern's file name, wherever one is written (an export, a drag out, a mockup):
    its id, six digits so a folder sorts in library order, and its title."""
    return f"{int(pattern_id):06d}-{file_stem(title, 'pattern')}"
