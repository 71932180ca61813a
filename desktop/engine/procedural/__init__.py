"""The procedural repeat engine: Tessera's embedded default, no GPU and no weights needed.

Every style is seamless by construction under every repeat type (see `Style.periodic`),
takes its colours from a palette, and is deterministic given its seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from desktop.engine.procedural import geometric, kaleidoscope, motifs, noise, variants, wallpaper, weave
from desktop.engine.procedural.canvas import RenderContext
from desktop.engine.procedural.params import Param, Style
from desktop.errors import UserError
from desktop.palettes import Palette
from desktop.repeat import Repeat, check_size, content_period, parse_repeat

STYLES: dict[str, Style] = {
    style.name: style
    for module in (weave, geometric, noise, motifs, wallpaper, kaleidoscope)
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


STRIP_THREADS = 2
MIN_STRIP_PIXELS = 256 * 256  # below this the threads cost more than they save


def _draw(style: Style, area_w: int, area_h: int, width: int, height: int, repeat: Repeat, palette: Palette,
          seed: int, values: dict[str, Any], progress, strips: int | None) -> np.ndarray:
    """The style's drawing, in row strips on threads when the style allows it (numpy releases the
    interpreter lock in its array work, so the strips run on separate cores)."""
    n = STRIP_THREADS if strips is None else strips
    small = strips is None and area_w * area_h < MIN_STRIP_PIXELS  # an explicit count is always honoured
    if not style.strips or n <= 1 or small or area_h < 2 * n:
        ctx = RenderContext(area_w, area_h, width, height, repeat, palette, seed, values, progress)
        image = np.asarray(style.render(ctx), dtype=np.float32)
        return image if image.flags.writeable else image.copy()
    from concurrent.futures import ThreadPoolExecutor

    bounds = [round(area_h * k / n) for k in range(n + 1)]

    def strip(k: int) -> np.ndarray:
        ctx = RenderContext(area_w, area_h, width, height, repeat, palette, seed, values,
                            progress if k == 0 else (lambda fraction: None), rows=(bounds[k], bounds[k + 1]))
        return np.asarray(style.render(ctx), dtype=np.float32)

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="tessera-strip") as pool:
        parts = list(pool.map(strip, range(n)))
    return np.concatenate(parts, axis=0)


def design(style: str | Style, params: dict[str, Any] | None, palette: Palette, seed: int
           ) -> tuple[dict[str, Any], Palette]:
    """The options and palette a tile of this seed is drawn with: the brief's, and, for the styles that
    draw nothing at random, the seed's variant of the design within it (variants.py)."""
    style = get_style(style) if isinstance(style, str) else style
    return variants.vary(style.name, params, style.resolve(params), palette, seed)


def render(style: str | Style, params: dict[str, Any] | None, repeat: Repeat | str, width: int, height: int,
           palette: Palette, seed: int, progress: Callable[[float], None] | None = None,
           strips: int | None = None, vary: bool = True) -> np.ndarray:
    """Draw one tile: HxWx3 float32 in 0..1. `strips`: how many row strips to draw it in (None: the
    default). `vary`: the seed picks the design's variant (`design`); False draws exactly the options
    and palette order given (a coordinate in its hero's inks)."""
    style = get_style(style) if isinstance(style, str) else style
    repeat = parse_repeat(repeat)
    check_size(repeat, width, height)
    values, palette = design(style, params, palette, seed) if vary else (style.resolve(params), palette)
    if style.periodic == "box":
        area_w, area_h = content_period(repeat, width, height)
    else:
        area_w, area_h = width, height
    image = _draw(style, area_w, area_h, width, height, repeat, palette, int(seed), values,
                  progress or (lambda fraction: None), strips)
    if image.shape != (area_h, area_w, 3):
        raise RuntimeError(f"style {style.name} drew {image.shape}, expected {(area_h, area_w, 3)}")
    if (area_w, area_h) != (width, height):
        image = np.tile(image, (height // area_h, width // area_w, 1))
    return np.clip(image, 0.0, 1.0, out=image)


def palette_unused(style: str, params: dict[str, Any] | None) -> str | None:
    """Why a tile of this style and these options leaves the brief's palette aside (QA skips its palette
    check, saying this); None when it uses it, or when the style or options are not known here."""
    try:
        spec = get_style(style)
        return spec.palette_unused(spec.resolve(params)) if spec.palette_unused else None
    except UserError:
        return None
