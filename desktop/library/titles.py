"""A generated tile's title (no SQLAlchemy here: the Library dock's captions use it too, to tell
a title the user gave a pattern from the one it was made with)."""

from __future__ import annotations

from typing import Any


def tile_title(metadata: dict[str, Any]) -> str:
    """A generated tile's title: the one its metadata gives (a colourway's: its source's and the
    palette's), else its style and seed, or the start of its prompt and its seed."""
    if str(metadata.get("title") or "").strip():
        return str(metadata["title"]).strip()[:120]
    seed = metadata.get("seed")
    tail = "" if seed is None else f" {seed}"
    if metadata.get("style"):
        return f"{metadata['style']}{tail}"
    prompt = " ".join(str(metadata.get("prompt") or "").split())
    if prompt:
        return (prompt if len(prompt) <= 40 else prompt[:39].rstrip() + "…") + (f" · seed{tail}" if tail else "")
    return f"tile{tail}"


def file_stem(title: str, fallback: str = "tile") -> str:
    """A title as a file name: its letters (any script) and digits, '-' between, at most 60
    characters; `fallback` when nothing of it is left."""
    import re

    return re.sub(r"[\W_]+", "-", str(title).lower())[:60].strip("-") or fallback


def pattern_stem(pattern_id: int, title: str) -> str:
    """A library pattern's file name, wherever one is written (an export, a drag out, a mockup):
    its id, six digits so a folder sorts in library order, and its title."""
    return f"{int(pattern_id):06d}-{file_stem(title, 'pattern')}"
