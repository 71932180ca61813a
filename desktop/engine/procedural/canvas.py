"""Drawing helpers shared by the generators: anti-aliased bands, colour ramps, wrapped stamping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from desktop.palettes import Palette
from desktop.repeat import Repeat, translates


@dataclass
class RenderContext:
    """What a style's `render` gets. `width` x `height` is the area it must draw."""

    width: int
    height: int
    tile_width: int
    tile_height: int
    repeat: Repeat
    palette: Palette
    seed: int
    params: dict[str, Any]
    progress: Callable[[float], None] = field(default=lambda fraction: None)
    rows: tuple[int, int] | None = None  # draw only these rows of the area (a strip); None: all

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)
        self.colors = self.palette.array()

    @property
    def content_repeat(self) -> Repeat:
        """The repeat that placed content must honour (mirror's tile content is free)."""
        return Repeat.BASIC if self.repeat is Repeat.MIRROR else self.repeat

    def xs(self) -> np.ndarray:
        """Pixel-centre x coordinates, shape (1, width)."""
        return (np.arange(self.width, dtype=np.float32) + 0.5)[None, :]

    def ys(self) -> np.ndarray:
        """Pixel-centre y coordinates of the rows drawn (all, or the strip's), shape (rows, 1)."""
        start, stop = self.rows or (0, self.height)
        return (np.arange(start, stop, dtype=np.float32) + 0.5)[:, None]

    def ground_index(self, lightest: int) -> int:
        """Which palette colour is the ground: the style's own lightest (`lightest`, as it measures
        it) unless the `ground` option says the darkest or the palette's first."""
        mode = self.params.get("ground", "lightest")
        if mode == "first":
            return 0
        if mode == "darkest":
            return int(np.argmin(self.colors @ np.array([0.2126, 0.7152, 0.0722], np.float32)))
        return lightest

    def color_sequence(self, n: int, start: int = 0) -> np.ndarray:
        """n colours that cycle through the palette without two equal neighbours (when it can)."""
        k = len(self.colors)
        if k == 1:
            return np.repeat(self.colors, n, axis=0)
        idx = [start % k]
        for _ in range(n - 1):
            choice = int(self.rng.integers(0, k - 1))
            idx.append(choice if choice < idx[-1] else choice + 1)
        if n > 2 and idx[-1] == idx[0]:
            idx[-1] = (idx[0] + 1 + (idx[-2] == (idx[0] + 1) % k)) % k
        return self.colors[np.asarray(idx)]


def band_profile(boundaries: np.ndarray, colors: np.ndarray, samples: int, footprint: float,
                 oversample: int = 8) -> np.ndarray:
    """Box-filtered colours of a cyclic 1-D band layout, sampled at `samples` cell centres.

    `boundaries` are k+1 increasing positions in [0, 1] (first 0, last 1); band i, between
    boundaries i and i+1, has colour colors[i]. `footprint` is the width of one output sample
    in the same units (the pixel's extent along the band direction).
    """
    fine_n = samples * oversample
    s = (np.arange(fine_n) + 0.5) / fine_n
    band = np.clip(np.searchsorted(boundaries, s, side="right") - 1, 0, len(colors) - 1)
    fine = colors[band].astype(np.float32)
    # cyclic box filter of the footprint's width, then sample the cell centres
    # (a footprint of a whole cycle or more averages the cycle: a small tile's pixel can span several)
    width = min(fine_n, max(1, round(footprint * fine_n)))
    csum = np.concatenate([np.zeros((1, fine.shape[1]), np.float32), np.cumsum(np.concatenate([fine, fine]), 0)])
    centres = (np.arange(samples) * oversample + oversample // 2)
    lo = (centres - width // 2) % fine_n
    return ((csum[lo + width] - csum[lo]) / width).astype(np.float32)


def lookup(lut: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Colours of a cyclic look-up table at positions s (any real numbers, period 1)."""
    n = len(lut)
    if n & (n - 1) == 0 and np.abs(s).max() * n < 2**30:  # a power of two: the low bits are the index
        t = np.multiply(s, np.float32(n), dtype=np.float32)
        np.floor(t, out=t)
        idx = t.astype(np.int32)
        idx &= n - 1  # two's complement: a true modulo for negative positions too
    else:
        idx = (np.floor(np.mod(s, 1.0) * n)).astype(np.int64) % n
    return np.take(lut, idx, axis=0)


RAMP_STEPS = 1024


def ramp(t: np.ndarray, colors: np.ndarray, levels: int = 0) -> np.ndarray:
    """Map t in [0, 1] onto a gradient through the colours; `levels` > 0 posterises.

    Done as one look-up into a 1024-step table: finer than 8-bit output can show.
    """
    lut = _ramp_exact(np.linspace(0.0, 1.0, RAMP_STEPS, dtype=np.float32), colors, levels)
    idx = np.clip(t * np.float32(RAMP_STEPS - 1) + np.float32(0.5), 0, RAMP_STEPS - 1).astype(np.int32)
    return np.take(lut, idx, axis=0)


def _ramp_exact(t: np.ndarray, colors: np.ndarray, levels: int) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    k = len(colors)
    if k == 1:
        return np.broadcast_to(colors[0], (*t.shape, 3)).astype(np.float32)
    if levels > 0:
        t = np.minimum(np.floor(t * levels), levels - 1) / max(1, levels - 1)
    pos = t * (k - 1)
    i0 = np.minimum(np.floor(pos).astype(np.int64), k - 2)
    f = (pos - i0)[..., None].astype(np.float32)
    return (colors[i0] * (1 - f) + colors[i0 + 1] * f).astype(np.float32)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def coverage(signed_distance: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of a shape from its signed distance in pixels (negative inside)."""
    return np.clip(0.5 - signed_distance, 0.0, 1.0).astype(np.float32)


def stamp(canvas: np.ndarray, patch: np.ndarray, left: int, top: int, offsets: np.ndarray) -> None:
    """Composite a premultiplied RGBA patch at (left, top) and at every lattice offset of it.

    `offsets` are whole-pixel lattice translations (see repeat.translates); the copies that
    fall outside the canvas are clipped away, so the canvas wraps through the repeat.
    """
    ph, pw = patch.shape[:2]
    height, width = canvas.shape[:2]
    colour = keep = None
    for dx, dy in offsets:
        x0, y0 = left + int(dx), top + int(dy)
        if x0 >= width or y0 >= height or x0 + pw <= 0 or y0 + ph <= 0:
            continue
        if colour is None:  # contiguous three-channel planes: OpenCV blends them in place, fast
            patch = np.ascontiguousarray(patch, dtype=np.float32)
            colour = cv2.cvtColor(patch, cv2.COLOR_RGBA2RGB)
            clear = np.float32(1.0) - patch[..., 3]
            keep = cv2.merge([clear, clear, clear])
        cx0, cy0 = max(0, x0), max(0, y0)
        cx1, cy1 = min(width, x0 + pw), min(height, y0 + ph)
        sy, sx = slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0)
        dst = canvas[cy0:cy1, cx0:cx1]
        if dst.flags.writeable and dst.strides[1:] == (12, 4) and canvas.dtype == np.float32:
            cv2.multiply(dst, keep[sy, sx], dst=dst)  # writes through the view (a region of canvas)
            cv2.add(dst, colour[sy, sx], dst=dst)
        else:
            dst *= keep[sy, sx]
            dst += colour[sy, sx]


def wrap_offsets(ctx: RenderContext, patch_extent: float) -> np.ndarray:
    """Whole-pixel lattice translations enough to wrap patches up to `patch_extent` pixels."""
    reach = 1 + int(np.ceil(patch_extent / max(1, min(ctx.tile_width, ctx.tile_height) // 2)))
    offsets = translates(ctx.content_repeat, ctx.tile_width, ctx.tile_height, reach=reach)
    return np.round(offsets).astype(np.int64)


def cell_spans(count: int, cell: float, start: int = 0, stop: int | None = None) -> list[tuple[int, int, int]]:
    """(cell, first, last + 1) pixel spans of `count` cells of `cell` pixels, clipped to [start, stop).

    Pixel i belongs to the cell its centre (i + 0.5) falls in. Styles that draw cell by cell use
    these spans, so each block's candidates are scalars rather than per-pixel gathers.
    """
    stop = round(count * cell) if stop is None else stop
    edges = [int(np.ceil(k * cell - 0.5)) for k in range(count + 1)]
    out = []
    for k in range(count):
        lo, hi = max(edges[k], start), min(edges[k + 1], stop)
        if lo < hi:
            out.append((k, lo, hi))
    return out


def two_nearest(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel, the nearest and second-nearest of several candidate points.

    Each candidate is given as (column, row) parts of its squared distance, (h, 1) and (1, w),
    whose sum is the squared distance. Returns (nearest's number, its squared distance,
    second's number, its squared distance). The squared distances are compared as float32 bit
    patterns (which sort like the floats) whose low bits carry the candidate's number, so a
    running minimum also says which candidate won, with no masked copies; the lost bits are a
    relative 1e-6 or less of the distance.
    """
    bits = max(1, (len(parts) - 1).bit_length())
    low = np.int32((1 << bits) - 1)
    high = np.int32(~low)
    shape = np.broadcast_shapes(parts[0][0].shape, parts[0][1].shape)
    f1 = np.full(shape, np.inf, np.float32).view(np.int32)
    f2 = f1.copy()
    d = np.empty(shape, np.float32)
    code = d.view(np.int32)
    far = np.empty_like(f1)
    for k, (column, row) in enumerate(parts):
        np.add(column, row, out=d)
        np.bitwise_and(code, high, out=code)
        np.bitwise_or(code, k, out=code)
        np.maximum(f1, code, out=far)  # the second nearest: min(f2, max(f1, d))
        np.minimum(f2, far, out=f2)
        np.minimum(f1, code, out=f1)
    return f1 & low, (f1 & high).view(np.float32), f2 & low, (f2 & high).view(np.float32)
