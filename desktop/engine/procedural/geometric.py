"""Chevron, herringbone, polka dots, hexagons and scales: box-periodic geometric designs."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from desktop.engine.procedural.canvas import RenderContext, band_profile, cell_spans, lookup, two_nearest
from desktop.engine.procedural.params import GROUND, Param, Style


def _even(n: int) -> int:
    return max(2, n + (n % 2))


def _ground_and_inks(ctx: RenderContext) -> tuple[np.ndarray, np.ndarray]:
    """The ground (the lightest colour, or as the `ground` option says), the rest (or its opposite) as inks."""
    colors = ctx.colors
    light = ctx.ground_index(int(np.argmax(colors @ np.array([0.2126, 0.7152, 0.0722], np.float32))))
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
    """Herringbone twill: columns of diagonal twill lines that change direction, with a break.

    Along a 45° twill line the colour is constant, so inside one column each pixel row is the
    row above moved by one pixel: each column is drawn as one colour profile along the
    diagonal, laid out through a sliding window (a copy, no per-pixel arithmetic).
    """
    p = ctx.params
    w, h = ctx.width, ctx.height
    bands = _even(p["bands"])
    lines = p["lines"]
    bw = w / bands
    start, stop = ctx.rows or (0, h)
    rows = stop - start
    ground, inks = _ground_and_inks(ctx)
    lut = band_profile(np.array([0.0, 0.5, 1.0]), np.stack([inks[0], ground]), 4096,
                       footprint=float(lines * np.sqrt(2.0) / h))
    out = np.empty((rows, w, 3), np.float32)
    for band, x0, x1 in cell_spans(bands, bw):
        n = x1 - x0
        brk = 0.25 * (band % 2)  # the quarter step is the break
        if band % 2 == 0:  # lines rise to the right: the colour depends on j + i
            m = np.arange(start + x0, stop + x1 - 1, dtype=np.float64)
            profile = lookup(lut, lines * (m + 1 - band * bw) / h + brk)
            diagonal = sliding_window_view(profile, n, axis=0)[:rows]  # [j, c, t] = profile[j + t]
        else:  # lines fall to the right: the colour depends on j - i
            m = np.arange(start - x1 + 1, stop - x0, dtype=np.float64)
            profile = lookup(lut, lines * (m + band * bw) / h + brk)
            diagonal = sliding_window_view(profile, n, axis=0)[:rows, :, ::-1]
        out[:, x0:x1] = diagonal.transpose(0, 2, 1)
    return out


BLEND_STEPS = 256


def _blend_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(K * 256, 4): row k * 256 + l is colour a[k] blended l/255 of the way to b[k].

    Styles whose pixels are one of K pairs mixed by an anti-aliased coverage pick their colour
    from this table: one gather of four-float rows (which gathers much faster than three).
    """
    a, b = np.broadcast_arrays(np.atleast_2d(a), np.atleast_2d(b))
    t = np.linspace(0.0, 1.0, BLEND_STEPS)[None, :, None]
    out = np.zeros((len(a), BLEND_STEPS, 4), np.float32)
    out[..., :3] = a[:, None, :] * (1 - t) + b[:, None, :] * t
    return out.reshape(-1, 4)


def _blend_level(signed_distance: np.ndarray) -> np.ndarray:
    """`coverage` of a signed distance (negative inside) as a row offset 0..255 in a blend table."""
    level = np.float32(0.5 * (BLEND_STEPS - 1) + 0.5) - signed_distance * np.float32(BLEND_STEPS - 1)
    np.clip(level, 0, BLEND_STEPS - 1, out=level)
    return level.astype(np.int32)


def _four_to_three(out: np.ndarray) -> np.ndarray:
    h, w = out.shape[:2]
    return cv2.cvtColor(out.reshape(-1, 1, 4), cv2.COLOR_RGBA2RGB).reshape(h, w, 3)


def render_polka_dots(ctx: RenderContext) -> np.ndarray:
    """Dots on a grid, drawn one band of rows at a time (the row's offset and its dots' centres
    are then a row vector, the distance separable) and coloured from a blend table."""
    p = ctx.params
    w, h = ctx.width, ctx.height
    nx = p["cells"]
    ny = max(1, round(nx * h / w))
    if p["offset"]:
        ny = _even(ny)
    cw, rh = w / nx, h / ny
    radius = np.float32(p["radius"] * min(cw, rh))
    start, stop = ctx.rows or (0, h)
    x, ys = ctx.xs()[0], ctx.ys()[:, 0]
    ground, inks = _ground_and_inks(ctx)
    table = ctx.rng.integers(0, len(inks), size=(ny, nx)) if p["multicolour"] else np.zeros((ny, nx), np.int64)
    blend = _blend_rows(ground, inks)
    out = np.empty((stop - start, w, 4), np.float32)
    for row, y0, y1 in cell_spans(ny, rh, start, stop):
        shift = _row_shift(row, cw) if p["offset"] else np.float32(0)
        col = np.floor((x - shift) / np.float32(cw))
        dx = x - shift - (col + np.float32(0.5)) * np.float32(cw)
        dy = ys[y0 - start:y1 - start] - np.float32((row + 0.5) * rh)
        d = np.sqrt(np.square(dy)[:, None] + np.square(dx)[None, :])
        index = _blend_level(d - radius)
        index += (table[row % ny, col.astype(np.int64) % nx] * BLEND_STEPS).astype(np.int32)[None, :]
        np.take(blend, index, axis=0, out=out[y0 - start:y1 - start])
    return _four_to_three(out)


def _row_shift(row: int, cw: float) -> np.float32:
    """Offset rows (odd ones) are moved right by half a cell."""
    return np.float32((row % 2) * 0.5 * cw)


def render_hexagons(ctx: RenderContext) -> np.ndarray:
    """A honeycomb: each pixel takes the nearest of the cell centres of the two rows around it.

    Drawn one band of rows at a time: within a band the candidate centres depend on x only,
    so they are row vectors, and each pixel's nearest and second-nearest centre come from four
    separable squared distances (the candidate's number rides in the low bits, as in Worley).
    """
    p = ctx.params
    w, h = ctx.width, ctx.height
    nx = p["cells"]
    cw = w / nx
    ny = _even(round(h / (cw * np.sqrt(3) / 2)))
    rh = h / ny
    start, stop = ctx.rows or (0, h)
    x, ys = ctx.xs()[0], ctx.ys()[:, 0]
    ground, inks = _ground_and_inks(ctx)
    fills = np.concatenate([inks, ground[None]], axis=0)
    table = ctx.rng.integers(0, len(fills), size=ny * nx)
    outline_colour = inks[0] if len(inks) else 1 - ground
    blend = _blend_rows(fills, outline_colour)
    cell_fill = (table * BLEND_STEPS).astype(np.int32)  # each cell's first row in the blend table
    half_line = np.float32(p["outline"] * cw / 2)
    out = np.empty((stop - start, w, 4), np.float32)
    for row, y0, y1 in cell_spans(ny, rh, start, stop):
        y = ys[y0 - start:y1 - start, None]
        cands = []  # (centre x per column, centre y, cell id per column)
        for r in (row, row + 1):
            shift = _row_shift(r, cw)
            base = np.floor((x - shift) / np.float32(cw))
            for dc in (0, 1):
                col = base + dc
                ident = (r % ny) * nx + col.astype(np.int64) % nx
                cands.append((col * np.float32(cw) + shift, np.float32(r * rh), ident))
        k1, best, k2, second = two_nearest([(np.square(y - cy), np.square(x - cx)[None, :]) for cx, cy, _ in cands])
        # per column, each candidate's fill and the distance between each pair of candidates
        ids = np.stack([c[2] for c in cands])  # (4, W)
        cxs = np.stack([c[0] for c in cands])
        cys = np.array([c[1] for c in cands], np.float32)[:, None]
        gaps = np.hypot(cxs[:, None, :] - cxs[None, :, :], cys[:, None] - cys[None, :])  # (4, 4, W)
        column = np.arange(w, dtype=np.int32)
        pick = k1 * w + column  # the nearest candidate of each pixel, as a flat index into (4, W)
        half_gap = np.take((0.5 / np.maximum(gaps, 1e-6)).astype(np.float32).reshape(-1),
                           (k1 * 4 + k2) * w + column)
        edge = (second - best) * half_gap  # the distance to the side the two nearest cells share
        # outline coverage in 256 steps, and the fill, pick one row of the blend table
        index = _blend_level(edge - half_line)
        index += np.take(cell_fill[ids].reshape(-1), pick)
        np.take(blend, index, axis=0, out=out[y0 - start:y1 - start])
    return _four_to_three(out)


def _scale_tables(inks: np.ndarray, ground: np.ndarray, radius: float, rim_width: float,
                  n: int) -> tuple[np.ndarray, np.ndarray]:
    """One scale as a function of its squared distance q from the centre (q = 0, 1, 2, ...), per ink.

    Two tables: (ink count * n, 4) of the premultiplied colour (and a zero), and (n, 4) of
    1 - coverage four times, so compositing is two whole-pixel products of four-float rows (which gather and
    multiply much faster than three). Whole steps of q are finer than 1/100 px at the rim,
    where the edge is; near the centre only the soft shading changes.
    """
    d = np.sqrt(np.arange(n, dtype=np.float64))
    inside = np.clip(0.5 - (d - radius), 0, 1)
    shade = 0.75 + 0.25 * np.minimum(d / radius, 1.0)  # lighter towards the rim
    rim = np.clip(0.5 - (np.abs(d - radius + 1.5 * rim_width) - rim_width), 0, 1)
    tone = shade * (1 - rim) + 0.3 * rim
    colour = inks[:, None, :] * tone[None, :, None] + ground[None, None, :] * (0.35 * rim)[None, :, None]
    k = len(inks)
    paint = np.zeros((k, n, 4))
    paint[..., :3] = colour * inside[None, :, None]
    keep = np.repeat((1 - inside)[:, None], 4, axis=1)
    return paint.reshape(-1, 4).astype(np.float32), keep.astype(np.float32)


def render_scales(ctx: RenderContext) -> np.ndarray:
    """Overlapping fish scales: each row overlaps the row above it.

    Every scale is the same shape, so its colour is a table of the squared distance from its
    centre (one per ink). Drawn one band of rows at a time, where each of the four rows of
    scales that can reach a pixel has its column, centre and ink as row vectors; a row of
    scales is only composited on the lines of the band it can reach.
    """
    p = ctx.params
    w, h = ctx.width, ctx.height
    nx = p["cells"]
    cw = w / nx
    ny = _even(round(h / (cw / 2)))
    rh = h / ny
    radius = 0.5 * cw * np.sqrt(2) * 0.78
    start, stop = ctx.rows or (0, h)
    x, ys = ctx.xs()[0], ctx.ys()[:, 0]
    ground, inks = _ground_and_inks(ctx)
    table = ctx.rng.integers(0, len(inks), size=(ny, nx))
    n = int(np.ceil((radius + 1.5) ** 2)) + 1  # past this the scale covers nothing: indices clamp to it
    paint, keep = _scale_tables(inks.astype(np.float64), ground.astype(np.float64), radius,
                                p["outline"] * cw / 10, n)
    out = np.empty((stop - start, w, 4), np.float32)
    out[:] = (*ground, 0.0)  # whole four-float pixels: a strided three-channel fill is slower
    for row, y0, y1 in cell_spans(ny, rh, start, stop):
        band = out[y0 - start:y1 - start]
        y = ys[y0 - start:y1 - start]
        # paint the rows that can reach a pixel, top row first, so lower rows end up on top
        for r in (row - 1, row, row + 1, row + 2):
            cy = np.float32(r * rh)
            reach = np.flatnonzero(np.abs(y - cy) < radius + 1)
            if len(reach) == 0:
                continue
            lo, hi = reach[0], reach[-1] + 1
            shift = _row_shift(r, cw)
            col = np.round((x - shift) / np.float32(cw))
            dx = x - (col * np.float32(cw) + shift)
            q = np.square(y[lo:hi] - cy)[:, None] + np.square(dx)[None, :]
            np.minimum(q, np.float32(n - 1), out=q)
            index = q.astype(np.int32)
            part = band[lo:hi]
            part *= np.take(keep, index, axis=0)  # coverage is the same for every ink: a small table
            index += (table[r % ny, col.astype(np.int64) % nx] * n).astype(np.int32)[None, :]
            part += np.take(paint, index, axis=0)
    return _four_to_three(out)


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
        Param("multicolour", bool, False, "Give each dot a palette colour of its own."), GROUND,
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

# drawn in row strips on two threads where that measures faster (each row's pixels depend only on
# their own coordinates, so strips are bit-identical to one pass); the lighter styles lose to the
# threads' overhead
STYLES = [replace(s, strips=True) if s.name in {"hexagons", "scales"} else s for s in STYLES]
