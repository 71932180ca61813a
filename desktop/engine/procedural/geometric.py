"""Chevron, herringbone, polka dots, hexagons and scales: box-periodic geometric designs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from desktop.engine.procedural.canvas import RenderContext, band_profile, coverage, lookup
from desktop.engine.procedural.params import Param, Style


def _even(n: int) -> int:
    return max(2, n + (n % 2))


def _ground_and_inks(ctx: RenderContext) -> tuple[np.ndarray, np.ndarray]:
    """The lightest colour as ground, the rest (or its opposite) as inks."""
    colors = ctx.colors
    light = int(np.argmax(colors @ np.array([0.2126, 0.7152, 0.0722], np.float32)))
    inks = np.delete(colors, light, axis=0) if len(colors) > 1 else 1.0 - colors
    return colors[light], inks


def render_chevron(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    count, peaks, amp = p["count"], p["peaks"], p["amplitude"]
    w, h = ctx.width, ctx.height
    boundaries = np.linspace(0.0, 1.0, count + 1)
    colors = ctx.color_sequence(count)
    u = ctx.xs() * peaks / w
    tri = 1.0 - np.abs(2.0 * (u - np.floor(u)) - 1.0)
    s = ctx.ys() / h + (amp / count) * tri
    footprint = float(np.hypot(1.0 / h, 2.0 * peaks * amp / (count * w)))
    lut = band_profile(boundaries, colors, 4096, footprint)
    return lookup(lut, s)


def render_herringbone(ctx: RenderContext) -> np.ndarray:
    """Herringbone twill: columns of diagonal twill lines that change direction, with a break."""
    p = ctx.params
    w, h = ctx.width, ctx.height
    bands = _even(p["bands"])
    lines = p["lines"]
    bw = w / bands
    x = ctx.xs()
    band = np.floor(x / bw)
    direction = np.where(band % 2 == 0, 1.0, -1.0)
    local = x - band * bw
    s = lines * (ctx.ys() + direction * local) / h + 0.25 * (band % 2)  # the quarter step is the break
    ground, inks = _ground_and_inks(ctx)
    lut = band_profile(np.array([0.0, 0.5, 1.0]), np.stack([inks[0], ground]), 4096,
                       footprint=float(lines * np.sqrt(2.0) / h))
    return lookup(lut, s)


def render_polka_dots(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    w, h = ctx.width, ctx.height
    nx = p["cells"]
    ny = max(1, round(nx * h / w))
    if p["offset"]:
        ny = _even(ny)
    cw, rh = w / nx, h / ny
    radius = p["radius"] * min(cw, rh)
    x, y = ctx.xs(), ctx.ys()
    row = np.floor(y / rh)
    shift = (row % 2) * 0.5 * cw if p["offset"] else np.zeros_like(row)
    col = np.floor((x - shift) / cw)
    dx = x - shift - (col + 0.5) * cw
    dy = y - (row + 0.5) * rh
    alpha = coverage(np.hypot(dx, dy) - radius)[..., None]
    ground, inks = _ground_and_inks(ctx)
    if p["multicolour"]:
        table = ctx.rng.integers(0, len(inks), size=(ny, nx))
        ink = inks[table[(row.astype(np.int64) % ny), (col.astype(np.int64) % nx)]]
    else:
        ink = inks[0]
    return (ground * (1 - alpha) + ink * alpha).astype(np.float32)


def _hex_candidates(x, y, cw, rh, nx, ny):
    """Centres of the four nearest hexagons (two per neighbouring row) for each pixel."""
    row0 = np.floor(y / rh)
    for dr in (0, 1):
        row = row0 + dr
        shift = (row % 2) * 0.5 * cw
        base = np.floor((x - shift) / cw)
        for dc in (0, 1):
            col = base + dc
            cx, cy = col * cw + shift, row * rh
            yield cx, cy, (row.astype(np.int64) % ny), (col.astype(np.int64) % nx)


def render_hexagons(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    w, h = ctx.width, ctx.height
    nx = p["cells"]
    cw = w / nx
    ny = _even(round(h / (cw * np.sqrt(3) / 2)))
    rh = h / ny
    x, y = np.broadcast_arrays(ctx.xs(), ctx.ys())
    best = np.full(x.shape, np.inf, np.float32)
    second = np.full(x.shape, np.inf, np.float32)
    best_c = [np.zeros(x.shape, np.float32) for _ in range(2)]
    sec_c = [np.zeros(x.shape, np.float32) for _ in range(2)]
    best_id = np.zeros(x.shape, np.int64)
    for cx, cy, r, c in _hex_candidates(x, y, cw, rh, nx, ny):
        d2 = ((x - cx) ** 2 + (y - cy) ** 2).astype(np.float32)
        closer = d2 < best
        mid = ~closer & (d2 < second)
        second = np.where(closer, best, np.where(mid, d2, second))
        for k, v in enumerate((cx, cy)):
            sec_c[k] = np.where(closer, best_c[k], np.where(mid, v, sec_c[k]))
            best_c[k] = np.where(closer, v, best_c[k])
        best_id = np.where(closer, r * nx + c, best_id)
        best = np.minimum(best, d2)
    gap = np.hypot(sec_c[0] - best_c[0], sec_c[1] - best_c[1])
    edge = (second - best) / (2 * np.maximum(gap, 1e-6))  # distance to the shared side
    ground, inks = _ground_and_inks(ctx)
    fills = np.concatenate([inks, ground[None]], axis=0)
    table = ctx.rng.integers(0, len(fills), size=ny * nx)
    fill = fills[table[best_id]]
    line = coverage(edge - p["outline"] * cw / 2)[..., None]  # 1 on the outline
    outline_colour = inks[0] if len(inks) else 1 - ground
    return (fill * (1 - line) + outline_colour * line).astype(np.float32)


def render_scales(ctx: RenderContext) -> np.ndarray:
    """Overlapping fish scales: each row overlaps the row above it."""
    p = ctx.params
    w, h = ctx.width, ctx.height
    nx = p["cells"]
    cw = w / nx
    ny = _even(round(h / (cw / 2)))
    rh = h / ny
    radius = 0.5 * cw * np.sqrt(2) * 0.78
    x, y = ctx.xs(), ctx.ys()  # (1, W) and (H, 1): per-row values stay one column wide
    ground, inks = _ground_and_inks(ctx)
    table = ctx.rng.integers(0, len(inks), size=(ny, nx))
    out = np.broadcast_to(ground, (ctx.height, ctx.width, 3)).astype(np.float32)
    row0 = np.floor(y / rh)
    rim_width = np.float32(p["outline"] * cw / 10)
    # paint the rows that can reach a pixel, top row first, so lower rows end up on top
    for dr in (-1, 0, 1, 2):
        row = row0 + dr
        shift = (row % 2) * np.float32(0.5 * cw)
        col = np.round((x - shift) / np.float32(cw))
        d = np.hypot(x - (col * np.float32(cw) + shift), y - row * np.float32(rh))
        inside = coverage(d - np.float32(radius))[..., None]
        ink = inks[table[row.astype(np.int64) % ny, col.astype(np.int64) % nx]]
        shade = (0.75 + 0.25 * np.minimum(d / np.float32(radius), 1.0))[..., None]  # lighter towards the rim
        rim = coverage(np.abs(d - np.float32(radius) + 1.5 * rim_width) - rim_width)[..., None]
        scale = ink * (shade * (1 - rim) + 0.3 * rim) + ground * (0.35 * rim)
        out = out + (scale - out) * inside
    return out.astype(np.float32)


STYLES = [
    Style("chevron", "Chevron", "Zigzag stripes.", render_chevron, (
        Param("count", int, 8, "Zigzag stripes per repeat.", 1, 256),
        Param("peaks", int, 4, "Zigzags across one repeat.", 1, 128),
        Param("amplitude", float, 1.0, "Zigzag height in stripe widths.", 0.0, 16.0),
    )),
    Style("herringbone", "Herringbone", "Herringbone twill: broken diagonals that change direction.",
          render_herringbone, (
        Param("bands", int, 8, "Columns across one repeat (rounded up to even).", 2, 128),
        Param("lines", int, 24, "Twill lines down one repeat.", 1, 512),
    ), family="woven"),
    Style("polka-dots", "Polka dots", "Dots on a grid, rows offset or not.", render_polka_dots, (
        Param("cells", int, 6, "Dots across one repeat.", 1, 128),
        Param("radius", float, 0.28, "Dot radius as a share of the cell.", 0.02, 0.5),
        Param("offset", bool, True, "Offset alternate rows by half a dot."),
        Param("multicolour", bool, False, "Give each dot a palette colour of its own."),
    )),
    Style("hexagons", "Hexagons", "A honeycomb of palette-coloured cells.", render_hexagons, (
        Param("cells", int, 8, "Hexagons across one repeat.", 1, 128),
        Param("outline", float, 0.08, "Outline width as a share of the cell.", 0.0, 0.5),
    )),
    Style("scales", "Scales", "Overlapping fish scales.", render_scales, (
        Param("cells", int, 8, "Scales across one repeat.", 1, 128),
        Param("outline", float, 0.3, "Rim strength.", 0.0, 1.0),
    )),
]

# pixel-wise styles (every pixel from its own coordinates): drawn in row strips on two threads
STYLES = [replace(s, strips=True) if s.name in {"chevron", "herringbone", "polka-dots", "hexagons"} else s
          for s in STYLES]
