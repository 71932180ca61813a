"""Periodic noise on the repeat's own lattice: value, gradient, fBm, domain-warped marble, Worley.

A noise field is a grid of random values (or gradients, or feature points) whose grid points
are looked up through the repeat geometry at grid resolution. Because the grid repeats the
way the tile does, every field built from it is seamless under basic, half-drop and
half-brick alike, and half-drop noise really is offset by half a tile, not stacked.
"""

from __future__ import annotations

import cv2
import numpy as np

from desktop.engine.procedural.canvas import RenderContext, cell_spans, ramp, two_nearest
from desktop.engine.procedural.params import Param, Style
from desktop.repeat import Repeat, content_period, plane_to_tile, window


def _grid_shape(ctx: RenderContext, scale: int) -> tuple[int, int]:
    """Grid cells across and down: roughly square cells, even counts (so half offsets land on the grid)."""
    gx = max(2, scale + (scale % 2))
    gy = max(2, round(gx * ctx.tile_height / ctx.tile_width))
    return gx, gy + (gy % 2)


class LatticeField:
    """A smooth field from a grid of random values, sampled anywhere on the plane (bicubic)."""

    PAD = 2

    def __init__(self, repeat: Repeat, width: int, height: int, values: np.ndarray):
        self.repeat, self.width, self.height = repeat, width, height
        self.gy, self.gx = values.shape[:2]
        p = self.PAD
        self.table = np.ascontiguousarray(
            window(values.astype(np.float32), repeat, -p, -p, self.gx + 2 * p + 1, self.gy + 2 * p + 1))

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The field at plane pixel coordinates (pixel centres are at k + 0.5)."""
        return self.sample_wrapped(*wrapped(self.repeat, self.width, self.height, x, y))

    def sample_wrapped(self, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
        """The field at coordinates already moved into the tile (see `wrapped`)."""
        # scale and offset in one pass each (OpenCV's addWeighted runs on its thread pool)
        u = cv2.addWeighted(wx, self.gx / self.width, wx, 0.0, float(self.PAD))
        v = cv2.addWeighted(wy, self.gy / self.height, wy, 0.0, float(self.PAD))
        return cv2.remap(self.table, u, v, interpolation=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def wrapped(repeat: Repeat, width: int, height: int, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Plane coordinates moved into the tile by a lattice vector, as full float32 arrays.

    The same translation as `repeat.wrap_point`, in float32 with floor and multiply (numpy's
    float modulo is several times slower). Rounding can leave a point a hair outside
    [0, W) x [0, H); it is still the same plane point moved by a whole lattice vector, and the
    lattice tables are padded through the repeat, so it samples the same value.
    """
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    inside = x.min() >= 0 and y.min() >= 0 and x.max() < width and y.max() < height  # before broadcasting
    x, y = np.broadcast_arrays(x, y)
    if repeat is Repeat.BASIC and inside:
        return np.ascontiguousarray(x), np.ascontiguousarray(y)  # already inside: nothing to move
    w, h = np.float32(width), np.float32(height)
    if repeat is Repeat.HALF_DROP:
        column = np.floor(x * np.float32(1 / width))
        wx = x - column * w
        wy = y - column * np.float32(height // 2)
        wy -= np.floor(wy * np.float32(1 / height)) * h
    elif repeat is Repeat.HALF_BRICK:
        row = np.floor(y * np.float32(1 / height))
        wy = y - row * h
        wx = x - row * np.float32(width // 2)
        wx -= np.floor(wx * np.float32(1 / width)) * w
    else:
        wx = x - np.floor(x * np.float32(1 / width)) * w
        wy = y - np.floor(y * np.float32(1 / height)) * h
    return wx, wy


def _value_field(ctx: RenderContext, gx: int, gy: int) -> LatticeField:
    return LatticeField(ctx.content_repeat, ctx.width, ctx.height, ctx.rng.random((gy, gx)))


def _normalise(field: np.ndarray) -> np.ndarray:
    """Stretch to 0..1 over the whole tile (a full period, so this keeps the seams)."""
    lo, hi = np.percentile(field.ravel()[::7], [0.5, 99.5])  # a fixed subsample is plenty
    return np.clip((field - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)


def fbm(ctx: RenderContext, x, y, scale: int, octaves: int, gain: float) -> np.ndarray:
    gx, gy = _grid_shape(ctx, scale)
    wx, wy = wrapped(ctx.content_repeat, ctx.width, ctx.height, x, y)  # every octave shares the lattice
    total = np.zeros(wx.shape, np.float32)
    amp, norm = 1.0, 0.0
    for octave in range(octaves):
        total += np.float32(amp) * _value_field(ctx, gx << octave, gy << octave).sample_wrapped(wx, wy)
        norm += amp
        amp *= gain
        ctx.progress((octave + 1) / (octaves + 1))
    return total / norm


def _colour(ctx: RenderContext, t: np.ndarray) -> np.ndarray:
    return ramp(t, ctx.colors, ctx.params.get("levels", 0))


def render_value_noise(ctx: RenderContext) -> np.ndarray:
    gx, gy = _grid_shape(ctx, ctx.params["scale"])
    field = _value_field(ctx, gx, gy).sample(ctx.xs(), ctx.ys())
    return _colour(ctx, _normalise(field))


def render_gradient_noise(ctx: RenderContext) -> np.ndarray:
    """Perlin-style gradient noise: random unit gradients at the grid points, quintic fade.

    Drawn cell by cell: inside one grid cell the four corner gradients are scalars, and each
    corner's contribution is a row vector plus a column vector.
    """
    gx, gy = _grid_shape(ctx, ctx.params["scale"])
    angles = ctx.rng.random((gy, gx)) * 2 * np.pi
    grads = np.stack([np.cos(angles), np.sin(angles)], axis=-1).astype(np.float32)
    table = window(grads, ctx.content_repeat, 0, 0, gx + 1, gy + 1)
    u = (ctx.xs()[0] * gx / ctx.width).astype(np.float32)
    v = (ctx.ys()[:, 0] * gy / ctx.height).astype(np.float32)

    def fade(t):
        return t * t * t * (t * (t * 6 - 15) + 10)

    field = np.empty((len(v), len(u)), np.float32)
    for j, y0, y1 in cell_spans(gy, ctx.height / gy):
        fv = (v[y0:y1] - j)[:, None]
        b = fade(fv)
        for i, x0, x1 in cell_spans(gx, ctx.width / gx):
            fu = (u[x0:x1] - i)[None, :]
            a = fade(fu)

            def corner(di, dj, i=i, j=j, fu=fu, fv=fv):
                g = table[j + dj, i + di]
                return g[0] * (fu - di) + g[1] * (fv - dj)

            top = corner(0, 0)
            top += a * (corner(1, 0) - top)
            bottom = corner(0, 1)
            bottom += a * (corner(1, 1) - bottom)
            top += b * (bottom - top)
            field[y0:y1, x0:x1] = top
    return _colour(ctx, _normalise(field))


def render_fbm(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    field = fbm(ctx, ctx.xs(), ctx.ys(), p["scale"], p["octaves"], p["gain"])
    return _colour(ctx, _normalise(field))


def render_marble(ctx: RenderContext) -> np.ndarray:
    """Veins bent by turbulence, the turbulence itself sampled through a warped domain."""
    p = ctx.params
    x, y = ctx.xs(), ctx.ys()  # a row and a column: fbm broadcasts them
    reach = np.float32(4 * 0.12 * min(ctx.width, ctx.height))
    qx = fbm(ctx, x, y, p["scale"], 3, 0.5) - np.float32(0.5)
    qy = fbm(ctx, x + np.float32(0.37 * ctx.width), y + np.float32(0.21 * ctx.height), p["scale"], 3, 0.5)
    qy -= np.float32(0.5)
    turbulence = fbm(ctx, x + reach * qx, y + reach * qy, p["scale"], p["octaves"], 0.55)
    # the vein direction uses whole periods of the content rectangle, so it stays seamless
    _, period_y = content_period(ctx.repeat, ctx.width, ctx.height)
    phase = turbulence * np.float32(2 * np.pi * p["warp"])
    phase += y * np.float32(2 * np.pi * p["veins"] / period_y)
    t = np.sin(phase, out=phase)
    t *= np.float32(0.5)
    t += np.float32(0.5)
    if p["sharpness"] != 1.0:
        np.power(t, np.float32(p["sharpness"]), out=t)
    return _colour(ctx, t)


_NEIGHBOURS = tuple((di, dj) for dj in (-1, 0, 1) for di in (-1, 0, 1))


def render_worley(ctx: RenderContext) -> np.ndarray:
    """Cells around random feature points, one point per grid cell, distances in pixels.

    Drawn cell by cell: a pixel's two nearest feature points lie among the nine of its own
    cell and its neighbours, so each block compares against nine scalar points (separable
    squared distances), with no per-pixel gathers.
    """
    p = ctx.params
    gx, gy = _grid_shape(ctx, p["scale"])
    jitter = ctx.rng.random((gy, gx, 2)).astype(np.float32) * 0.9 + 0.05
    palette_idx = ctx.rng.integers(0, len(ctx.colors), size=gy * gx)
    cell_w, cell_h = ctx.width / gx, ctx.height / gy
    start, stop = ctx.rows or (0, ctx.height)
    xs, ys = ctx.xs()[0], ctx.ys()[:, 0]
    size = 0.5 * np.hypot(cell_w, cell_h)
    mode = p["mode"]
    out = np.empty((stop - start, ctx.width, 3), np.float32)
    for cj, y0, y1 in cell_spans(gy, cell_h, start, stop):
        py = ys[y0 - start:y1 - start]
        for ci, x0, x1 in cell_spans(gx, cell_w):
            px = xs[x0:x1]
            points = []
            for di, dj in _NEIGHBOURS:
                tx, ty = plane_to_tile(ctx.content_repeat, gx, gy, ci + di, cj + dj)
                tx, ty = int(tx), int(ty)
                fx = np.float32((ci + di + jitter[ty, tx, 0]) * np.float32(cell_w))
                fy = np.float32((cj + dj + jitter[ty, tx, 1]) * np.float32(cell_h))
                points.append((fx, fy, ty * gx + tx))
            cells = [cell for _, _, cell in points]
            ident, f1, _, f2 = two_nearest([(np.square(py - fy)[:, None], np.square(px - fx)[None, :])
                                            for fx, fy, _ in points])
            ident = ident.astype(np.intp)
            f1, f2 = np.sqrt(f1), np.sqrt(f2)
            block = out[y0 - start:y1 - start, x0:x1]
            if mode == "cells":
                fills = ctx.colors[palette_idx[np.asarray(cells)]].astype(np.float32)
                edge = np.clip((f2 - f1) * np.float32(0.45 / (0.08 * size)), 0, np.float32(0.45))
                edge += np.float32(0.55)
                np.multiply(np.take(fills, ident, axis=0), edge[..., None], out=block)
            elif mode == "cracks":
                edge = np.clip((f2 - f1) / np.float32(0.12 * size), 0, 1)
                block[:] = ramp(edge, ctx.colors[::-1] if len(ctx.colors) > 1 else ctx.colors)
            else:
                block[:] = _colour(ctx, np.clip(f1 / np.float32(size), 0, 1))
    return out


_SCALE = Param("scale", int, 4, "Noise cells across the tile (bigger = finer).", 1, 256)
_LEVELS = Param("levels", int, 0, "Posterise into this many colour steps (0 = smooth).", 0, 32)

STYLES = [
    Style("value-noise", "Value noise", "Soft, cloudy value noise through the palette.", render_value_noise,
          (_SCALE, _LEVELS), periodic="lattice", family="noise"),
    Style("gradient-noise", "Gradient noise", "Perlin-style gradient noise.", render_gradient_noise,
          (_SCALE, _LEVELS), periodic="lattice", family="noise"),
    Style("fbm", "Fractal noise", "Fractal Brownian motion: octaves of noise, fine over coarse.", render_fbm, (
        _SCALE, Param("octaves", int, 5, "Octaves of detail.", 1, 8),
        Param("gain", float, 0.5, "How much each finer octave counts.", 0.1, 0.9), _LEVELS,
    ), periodic="lattice", family="noise"),
    Style("marble", "Marble", "Domain-warped marble veins.", render_marble, (
        Param("scale", int, 3, "Turbulence cells across the tile.", 1, 64),
        Param("octaves", int, 5, "Octaves of turbulence.", 1, 8),
        Param("veins", int, 3, "Veins down the tile.", 1, 32),
        Param("warp", float, 2.5, "How far turbulence bends the veins.", 0.0, 10.0),
        Param("sharpness", float, 1.0, "Higher makes thinner, sharper veins.", 0.2, 8.0), _LEVELS,
    ), periodic="lattice", family="noise"),
    Style("worley", "Worley cells", "Cellular (Worley) noise: cells, cracks or bubbles.", render_worley, (
        Param("scale", int, 16, "Cells across the tile (fewer, larger cells show the repeat more: one dark cell reads as a blob).", 2, 128),
        Param("mode", str, "cells", "What to draw.", choices=("cells", "cracks", "bubbles")), _LEVELS,
    ), periodic="lattice", family="noise"),
]
