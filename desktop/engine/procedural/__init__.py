"""The procedural repeat engine: Tessera's embedded default, no GPU and no weights needed.

Every style is seamless by construction under every repeat type (see `Style.periodic`),
takes its colours from a palette, and is deterministic given its seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from desktop.engine.procedural import geometric, motifs, noise, wallpaper, weave
from desktop.engine.procedural.canvas import RenderContext
from desktop.engine.procedural.params import Param, Style
from desktop.errors import UserError
from desktop.palettes import Palette
from desktop.repeat import Repeat, check_size, content_period, parse_repeat

STYLES: dict[str, Style] = {
    style.name: style
    for module in (weave, geometric, noise, motifs, wallpaper)
    for style in module.STYLES
}

__all__ = ["STYLES", "Param", "Style", "get_style", "render", "style_names"]


def style_names() -> list[str]:
    return list(STYLES)


def get_style(name: str) -> Style:
    key = name.strip().lower().replace("_", "-")
    if key not in STYLES:
        raise UserError(f"unknown style '{name}' (styles: {', '.join(STYLES)})")
    return STYLES[key]


def render(style: str | Style, params: dict[str, Any] | None, repeat: Repeat | str, width: int, height: int,
           palette: Palette, seed: int, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Draw one tile: HxWx3 float32 in 0..1."""
    style = get_style(style) if isinstance(style, str) else style
    repeat = parse_repeat(repeat)
    check_size(repeat, width, height)
    values = style.resolve(params)
    if style.periodic == "box":
        area_w, area_h = content_period(repeat, width, height)
    else:
        area_w, area_h = width, height
    ctx = RenderContext(area_w, area_h, width, height, repeat, palette, int(seed), values,
                        progress or (lambda fraction: None))
    image = np.asarray(style.render(ctx), dtype=np.float32)
    if not image.flags.writeable:
        image = image.copy()
    if image.shape != (area_h, area_w, 3):
        raise RuntimeError(f"style {style.name} drew {image.shape}, expected {(area_h, area_w, 3)}")
    if (area_w, area_h) != (width, height):
        image = np.tile(image, (height // area_h, width // area_w, 1))
    return np.clip(image, 0.0, 1.0, out=image)
