"""Motifs and motif layouts: grid, half-drop, brick and toss, with rotation and scale jitter.

A motif is a premultiplied RGBA patch: one of the built-in shapes, drawn in palette colours,
or the user's own image with alpha. Every placement is stamped through the repeat lattice,
so a motif that crosses the tile edge comes back on the far side exactly where the
repeat puts it.
"""

from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np

from desktop.engine.procedural.canvas import RenderContext, stamp, wrap_offsets
from desktop.engine.procedural.params import GROUND, Param, Style
from desktop.errors import UserError
from desktop.repeat import lattice

BUILTIN_MOTIFS = ("flower", "leaf", "sprig", "paisley", "star", "diamond", "dot")
_SS = 4  # supersampling for built-in shapes


def _poly(points: np.ndarray, size: int) -> np.ndarray:
    """Unit-square coordinates ([-1, 1]) to supersampled pixel polygon."""
    scale = size * _SS / 2.0
    return np.round((points + 1.0) * scale * 256).astype(np.int32)


def _shape_layers(name: str, size: int) -> list[tuple[np.ndarray, int]]:
    """(mask, colour slot) layers of a built-in motif, drawn supersampled."""
    big = size * _SS
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    layers: list[tuple[np.ndarray, int]] = []

    def fill(points, slot):
        mask = np.zeros((big, big), np.uint8)
        cv2.fillPoly(mask, [_poly(points, size)], 255, lineType=cv2.LINE_AA, shift=8)
        layers.append((mask, slot))

    def line(points, slot, width):
        mask = np.zeros((big, big), np.uint8)
        cv2.polylines(mask, [_poly(points, size)], False, 255, thickness=max(1, int(width * big)),
                      lineType=cv2.LINE_AA, shift=8)
        layers.append((mask, slot))

    if name == "flower":
        r = 0.55 + 0.4 * np.abs(np.cos(2.5 * t))
        fill(np.stack([r * np.cos(t), r * np.sin(t)], 1) * 0.95, 0)
        fill(np.stack([0.28 * np.cos(t), 0.28 * np.sin(t)], 1), 1)
    elif name in ("leaf", "sprig"):
        s = np.linspace(-1, 1, 200)
        width = 0.42 * np.sin(np.pi * (s + 1) / 2) ** 0.9
        outline = np.concatenate([np.stack([s, width], 1), np.stack([s[::-1], -width[::-1]], 1)])
        rot = np.array([[np.cos(0.6), -np.sin(0.6)], [np.sin(0.6), np.cos(0.6)]])
        fill(outline @ rot.T * 0.9, 0)
        line(np.stack([s * 0.85, 0.08 * np.sin(np.pi * s)], 1) @ rot.T * 0.9, 1, 0.03)
        if name == "sprig":  # a berry on one side makes it chiral (no mirror symmetry)
            fill(np.stack([0.55 + 0.2 * np.cos(t), -0.55 + 0.2 * np.sin(t)], 1), 1)
    elif name == "paisley":
        r = 0.55 * (1 - 0.75 * np.sin(t / 2) ** 6)
        pts = np.stack([r * np.cos(t), r * np.sin(t)], 1)
        pts[:, 1] += 0.55 * np.clip(-pts[:, 0], 0, None) ** 2 * 2.2  # bend the tail
        pts[:, 0] += 0.25
        fill(pts, 0)
        fill(np.stack([0.2 + 0.2 * np.cos(t), 0.05 + 0.2 * np.sin(t)], 1), 1)
    elif name == "star":
        k = np.arange(10)
        r = np.where(k % 2 == 0, 0.95, 0.4)
        a = k * np.pi / 5 - np.pi / 2
        fill(np.stack([r * np.cos(a), r * np.sin(a)], 1), 0)
    elif name == "diamond":
        fill(np.array([[0, -0.95], [0.6, 0], [0, 0.95], [-0.6, 0]], float), 0)
        fill(np.array([[0, -0.4], [0.25, 0], [0, 0.4], [-0.25, 0]], float), 1)
    elif name == "dot":
        fill(np.stack([0.9 * np.cos(t), 0.9 * np.sin(t)], 1), 0)
    else:
        raise UserError(f"unknown motif '{name}' (built-in: {', '.join(BUILTIN_MOTIFS)}; or give a motif image)")
    return layers


def builtin_motif(name: str, size: int, colors: np.ndarray) -> np.ndarray:
    """A built-in motif, `size` px square, premultiplied RGBA float32."""
    out = np.zeros((size, size, 4), np.float32)
    for mask, slot in _shape_layers(name, size):
        alpha = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255
        colour = colors[slot % len(colors)]
        out[..., :3] = out[..., :3] * (1 - alpha) + colour * alpha
        out[..., 3:] = out[..., 3:] * (1 - alpha) + alpha
    return out


@lru_cache(maxsize=8)
def _user_motif(path: str, mtime: float) -> np.ndarray:
    from desktop.engine.images import load_rgba

    rgba = load_rgba(path).astype(np.float32) / 255.0
    if rgba[..., 3].max() <= 0.0:
        raise UserError(f"{path}: the motif is fully transparent")
    ys, xs = np.nonzero(rgba[..., 3] > 0.01)  # crop to what is visible
    rgba = rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    rgba[..., :3] *= rgba[..., 3:]
    rgba.setflags(write=False)
    return rgba


def load_motif(ctx: RenderContext, size: int) -> np.ndarray:
    """The motif for this render at about `size` px on its long side."""
    path = ctx.params.get("motif_path") or ""
    if path:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            raise UserError(f"{path}: no such motif file") from None
        src = _user_motif(path, mtime)
        scale = size / max(src.shape[:2])
        w, h = max(1, round(src.shape[1] * scale)), max(1, round(src.shape[0] * scale))
        return cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    colors = ctx.colors
    ground = ctx.ground_index(int(np.argmax(colors.sum(1))))
    inks = np.delete(colors, ground, axis=0) if len(colors) > 1 else 1 - colors
    return builtin_motif(ctx.params.get("motif", "flower"), max(4, size), inks)


def transformed(patch: np.ndarray, matrix: np.ndarray, cx: float, cy: float) -> tuple[np.ndarray, int, int]:
    """The patch under the 2x2 linear `matrix`, centred on plane point (cx, cy).

    Returns the new patch and its top-left pixel. The sub-pixel part of the centre is kept.
    """
    h, w = patch.shape[:2]
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) @ matrix.T
    half = int(np.ceil(np.abs(corners).max())) + 2
    left, top = int(np.floor(cx)) - half, int(np.floor(cy)) - half
    size = 2 * half + 1
    # cv2 puts pixel k's centre at k; the plane puts it at k + 0.5
    dst_centre = np.array([cx - 0.5 - left, cy - 0.5 - top])
    src_centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    affine = np.hstack([matrix, (dst_centre - matrix @ src_centre)[:, None]]).astype(np.float64)
    out = cv2.warpAffine(patch, affine, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return out, left, top


def rotation(degrees: float, scale: float = 1.0) -> np.ndarray:
    a = np.deg2rad(degrees)
    return scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def place_all(ctx: RenderContext, canvas: np.ndarray, motif: np.ndarray, points: np.ndarray,
              matrices: list[np.ndarray]) -> None:
    """Stamp the motif at every point (with its own matrix), wrapping through the repeat."""
    extent = max(motif.shape[:2]) * max(np.abs(m).sum() for m in matrices) if matrices else 0
    offsets = wrap_offsets(ctx, extent)
    for i, ((x, y), m) in enumerate(zip(points, matrices)):
        patch, left, top = transformed(motif, m, float(x), float(y))
        stamp(canvas, patch, left, top, offsets)
        if i % 16 == 0:
            ctx.progress(0.2 + 0.8 * i / max(1, len(points)))


def min_image_distance(ctx: RenderContext, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between plane points on the repeat's torus (the nearest lattice copy)."""
    (ax, ay), (bx, by) = lattice(ctx.content_repeat, ctx.width, ctx.height)
    d = a[:, None, :] - b[None, :, :]
    best = np.full(d.shape[:2], np.inf)
    for m in (-1, 0, 1):
        for n in (-1, 0, 1):
            shifted = d + np.array([m * ax + n * bx, m * ay + n * by])
            best = np.minimum(best, np.hypot(shifted[..., 0], shifted[..., 1]))
    return best


def toss_points(ctx: RenderContext, count: int, min_distance: float, tries: int = 40) -> np.ndarray:
    """Up to `count` random points, no two closer than `min_distance` across the wrap (dart throwing)."""
    points = np.empty((0, 2))
    for _ in range(count * tries):
        if len(points) >= count:
            break
        candidate = ctx.rng.random((1, 2)) * [ctx.width, ctx.height]
        if len(points) == 0 or min_image_distance(ctx, candidate, points).min() >= min_distance:
            points = np.vstack([points, candidate])
    return points


def _ground(ctx: RenderContext) -> np.ndarray:
    ground = ctx.colors[ctx.ground_index(int(np.argmax(ctx.colors.sum(1))))]
    canvas = np.empty((ctx.height, ctx.width, 3), np.float32)
    canvas[:] = ground  # one fill, no temporary copies
    return canvas


def _jittered(ctx: RenderContext, n: int) -> list[np.ndarray]:
    p = ctx.params
    angles = (ctx.rng.random(n) * 2 - 1) * p["rotation_jitter"] + p["rotation"]
    scales = 1.0 + (ctx.rng.random(n) * 2 - 1) * p["scale_jitter"]
    return [rotation(a, s) for a, s in zip(angles, scales)]


def layout_points(ctx: RenderContext, layout: str, cells: int) -> np.ndarray:
    w, h = ctx.width, ctx.height
    nx = max(1, cells)
    ny = max(1, round(nx * h / w))
    if layout == "half-drop":
        nx += nx % 2
    if layout == "brick":
        ny += ny % 2
    cw, ch = w / nx, h / ny
    i, j = np.meshgrid(np.arange(nx), np.arange(ny))
    x = (i + 0.5) * cw
    y = (j + 0.5) * ch
    if layout == "half-drop":
        y = y + (i % 2) * ch / 2
    elif layout == "brick":
        x = x + (j % 2) * cw / 2
    return np.stack([x.ravel(), y.ravel()], 1)


def render_motif(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    layout, cells = p["layout"], p["cells"]
    cell = min(ctx.width, ctx.height) / max(1, cells)
    motif = load_motif(ctx, max(4, round(cell * p["size"])))
    ctx.progress(0.1)
    if layout == "toss":
        n = cells * max(1, round(cells * ctx.height / ctx.width))
        points = toss_points(ctx, n, p["spacing"] * max(motif.shape[:2]))
    else:
        points = layout_points(ctx, layout, cells)
    canvas = _ground(ctx)
    place_all(ctx, canvas, motif, points, _jittered(ctx, len(points)))
    return canvas


def render_toss(ctx: RenderContext) -> np.ndarray:
    p = ctx.params
    size = max(4, round(min(ctx.width, ctx.height) * p["size"]))
    motif = load_motif(ctx, size)
    points = toss_points(ctx, p["count"], p["spacing"] * size)
    canvas = _ground(ctx)
    place_all(ctx, canvas, motif, points, _jittered(ctx, len(points)))
    return canvas


_MOTIF = Param("motif", str, "flower", "Built-in motif (ignored when a motif image is given).",
               choices=BUILTIN_MOTIFS)
MOTIF_PATH = Param("motif_path", str, "", "Your motif: an image file with transparency.", empty="the built-in motif")
_ROT = Param("rotation", float, 0.0, "Base rotation in degrees.", -360.0, 360.0)


STYLES = [
    Style("toss", "Toss", "Motifs scattered at random, never closer than a minimum distance, wrapping "
          "across the tile edges.", render_toss, (
        _MOTIF, MOTIF_PATH, GROUND,
        Param("count", int, 24, "How many motifs (fewer if they do not fit).", 1, 2000),
        Param("size", float, 0.12, "Motif size as a share of the tile.", 0.01, 0.9),
        Param("spacing", float, 1.1, "Minimum distance between motifs, in motif sizes.", 0.0, 4.0),
        _ROT,
        Param("rotation_jitter", float, 180.0, "Random rotation, up to this many degrees either way.", 0.0, 180.0),
        Param("scale_jitter", float, 0.25, "Random size change, as a share.", 0.0, 0.9),
    ), periodic="lattice", family="motif"),
    Style("motif", "Motif layout", "Your motif (or a built-in one) in a grid, half-drop, brick or toss layout.",
          render_motif, (
        _MOTIF, MOTIF_PATH, GROUND,
        Param("layout", str, "half-drop", "How the motifs are arranged.",
              choices=("grid", "half-drop", "brick", "toss")),
        Param("cells", int, 4, "Motifs across the tile.", 1, 64),
        Param("size", float, 0.7, "Motif size as a share of its cell.", 0.05, 2.0),
        Param("spacing", float, 1.0, "Toss only: minimum distance in motif sizes.", 0.0, 4.0),
        _ROT,
        Param("rotation_jitter", float, 0.0, "Random rotation, up to this many degrees either way.", 0.0, 180.0),
        Param("scale_jitter", float, 0.0, "Random size change, as a share.", 0.0, 0.9),
    ), periodic="lattice", family="motif"),
]
